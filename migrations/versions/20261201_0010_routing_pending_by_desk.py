"""tickets waiting for routing indexed by desk and age (a routing batch claims per desk)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 04:15:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index('ix_tickets_routing_pending', table_name='tickets',
                  postgresql_where=sa.text("routing_state = 'pending'"))
    op.create_index('ix_tickets_routing_pending', 'tickets', ['desk_id', 'created_at'],
                    postgresql_where=sa.text("routing_state = 'pending'"))


def downgrade() -> None:
    op.drop_index('ix_tickets_routing_pending', table_name='tickets',
                  postgresql_where=sa.text("routing_state = 'pending'"))
    op.create_index('ix_tickets_routing_pending', 'tickets', ['created_at'],
                    postgresql_where=sa.text("routing_state = 'pending'"))
