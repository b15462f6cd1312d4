"""forms: web forms and submissions; tickets.form_id

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 23:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('tickets', sa.Column('form_id', sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column('tickets', 'form_id')
