"""who saved a routing rule's actions and an organization's routing actions (a move_to_desk
is checked again, when routing runs, against what that principal may write now)

Rows saved before this revision record no one: their moves are skipped (with the reason in
the routing run) until their actions are saved again.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 22:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ('routing_rules', 'organizations')


def upgrade() -> None:
    for table in TABLES:
        op.add_column(table, sa.Column('actions_saved_by_kind', sa.String(length=16),
                                       nullable=True))
        op.add_column(table, sa.Column('actions_saved_by_id', sa.Integer(), nullable=True))


def downgrade() -> None:
    for table in TABLES:
        op.drop_column(table, 'actions_saved_by_id')
        op.drop_column(table, 'actions_saved_by_kind')
