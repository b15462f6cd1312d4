"""ticket numbers from a sequence per desk, not a counter row locked to the commit

Each desk gets `desk_ticket_numbers_<id>`, made (and dropped) with the desk by a trigger on
`desks`; existing desks' sequences start after the higher of their counter and their tickets'
numbers. `desk_counters` goes.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 23:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# IF NOT EXISTS: a desk id that comes back (a desks table truncated with its identity
# restarted) reuses the sequence, whose numbers stay unique.
FUNCTION = """
CREATE FUNCTION desk_ticket_numbers() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        EXECUTE format('CREATE SEQUENCE IF NOT EXISTS %I AS integer',
                       'desk_ticket_numbers_' || NEW.id);
        RETURN NEW;
    END IF;
    EXECUTE format('DROP SEQUENCE IF EXISTS %I', 'desk_ticket_numbers_' || OLD.id);
    RETURN OLD;
END
$$"""

TRIGGER = """
CREATE TRIGGER desks_ticket_numbers AFTER INSERT OR DELETE ON desks
FOR EACH ROW EXECUTE FUNCTION desk_ticket_numbers()"""

EXISTING = """
DO $$
DECLARE desk record;
BEGIN
    FOR desk IN
        SELECT d.id, greatest(
            coalesce((SELECT c.last_number FROM desk_counters c WHERE c.desk_id = d.id), 0),
            coalesce((SELECT max(t.number) FROM tickets t WHERE t.desk_id = d.id), 0)) AS last
        FROM desks d
    LOOP
        EXECUTE format('CREATE SEQUENCE %I AS integer START WITH %s',
                       'desk_ticket_numbers_' || desk.id, desk.last + 1);
    END LOOP;
END
$$"""

DROP_EXISTING = """
DO $$
DECLARE desk record;
BEGIN
    FOR desk IN SELECT id FROM desks LOOP
        EXECUTE format('DROP SEQUENCE IF EXISTS %I', 'desk_ticket_numbers_' || desk.id);
    END LOOP;
END
$$"""


def upgrade() -> None:
    op.execute(FUNCTION)
    op.execute(TRIGGER)
    op.execute(EXISTING)
    op.drop_table('desk_counters')


def downgrade() -> None:
    op.create_table(
        'desk_counters',
        sa.Column('desk_id', sa.Integer(), nullable=False),
        sa.Column('last_number', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['desk_id'], ['desks.id'],
                                name=op.f('fk_desk_counters_desk_id_desks'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('desk_id', name=op.f('pk_desk_counters')),
    )
    op.execute("""
        INSERT INTO desk_counters (desk_id, last_number)
        SELECT id, last FROM (
            SELECT d.id, pg_sequence_last_value(
                ('desk_ticket_numbers_' || d.id)::regclass) AS last FROM desks d) numbered
        WHERE last IS NOT NULL""")
    op.execute(DROP_EXISTING)
    op.execute("DROP TRIGGER desks_ticket_numbers ON desks")
    op.execute("DROP FUNCTION desk_ticket_numbers()")
