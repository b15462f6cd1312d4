"""events: index the feed's order (txid, id)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 15:40:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index('ix_events_desk_id_id', table_name='events')
    op.create_index('ix_events_desk_id_txid_id', 'events', ['desk_id', 'txid', 'id'], unique=False)
    op.create_index('ix_events_txid_id', 'events', ['txid', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_events_txid_id', table_name='events')
    op.drop_index('ix_events_desk_id_txid_id', table_name='events')
    op.create_index('ix_events_desk_id_id', 'events', ['desk_id', 'id'], unique=False)
