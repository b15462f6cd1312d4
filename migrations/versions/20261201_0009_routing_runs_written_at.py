"""routing runs: created_at is when the run was written (clock_timestamp)

A routing job routes a batch of tickets in one transaction; `now()` would give every run of
the batch the transaction's start.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 03:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.alter_column('routing_runs', 'created_at', server_default=sa.text('clock_timestamp()'))


def downgrade() -> None:
    op.alter_column('routing_runs', 'created_at', server_default=sa.text('now()'))
