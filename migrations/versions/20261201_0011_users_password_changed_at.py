"""users.password_changed_at: staff JWTs issued before it are refused

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 22:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('users', sa.Column('password_changed_at', sa.DateTime(timezone=True),
                                     nullable=True))


def downgrade() -> None:
    op.drop_column('users', 'password_changed_at')
