"""tickets, comments, desk counters, views, event txid

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 13:08:02.510254
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('desk_counters',
    sa.Column('desk_id', sa.Integer(), nullable=False),
    sa.Column('last_number', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['desk_id'], ['desks.id'], name=op.f('fk_desk_counters_desk_id_desks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('desk_id', name=op.f('pk_desk_counters'))
    )
    op.create_table('views',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('desk_id', sa.Integer(), nullable=False),
    sa.Column('owner_kind', sa.String(length=16), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('filters', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('columns', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('sort', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['desk_id'], ['desks.id'], name=op.f('fk_views_desk_id_desks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_views'))
    )
    op.create_index('ix_views_desk_id', 'views', ['desk_id', 'id'], unique=False)
    op.create_table('tickets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('desk_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('subject', sa.String(length=250), nullable=False),
    sa.Column('description', sa.Text(), server_default='', nullable=False),
    sa.Column('status', sa.String(length=16), server_default='new', nullable=False),
    sa.Column('priority', sa.SmallInteger(), server_default='1', nullable=False),
    sa.Column('type', sa.String(length=64), nullable=True),
    sa.Column('requester_id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=True),
    sa.Column('assignee_id', sa.Integer(), nullable=True),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('tags', postgresql.ARRAY(sa.String(length=64)), server_default=sa.text("'{}'::varchar[]"), nullable=False),
    sa.Column('custom_fields', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('source', sa.String(length=16), server_default='api', nullable=False),
    sa.Column('routing_state', sa.String(length=16), server_default='pending', nullable=False),
    sa.Column('first_responded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('solved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('search', postgresql.TSVECTOR(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("routing_state IN ('pending', 'done', 'failed')", name=op.f('ck_tickets_routing_state')),
    sa.CheckConstraint("status IN ('new', 'open', 'pending', 'on_hold', 'solved', 'closed')", name=op.f('ck_tickets_status')),
    sa.CheckConstraint('priority BETWEEN 0 AND 3', name=op.f('ck_tickets_priority')),
    sa.ForeignKeyConstraint(['assignee_id'], ['users.id'], name=op.f('fk_tickets_assignee_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['desk_id'], ['desks.id'], name=op.f('fk_tickets_desk_id_desks'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_tickets_organization_id_organizations'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['requester_id'], ['customers.id'], name=op.f('fk_tickets_requester_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_tickets_team_id_teams'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tickets')),
    sa.UniqueConstraint('desk_id', 'number', name=op.f('uq_tickets_desk_id_number'))
    )
    op.create_index('ix_tickets_assignee_id', 'tickets', ['assignee_id', 'created_at', 'id'], unique=False)
    op.create_index('ix_tickets_custom_fields', 'tickets', ['custom_fields'], unique=False, postgresql_using='gin', postgresql_ops={'custom_fields': 'jsonb_path_ops'})
    op.create_index('ix_tickets_desk_id_created_at', 'tickets', ['desk_id', 'created_at', 'id'], unique=False)
    op.create_index('ix_tickets_desk_id_priority', 'tickets', ['desk_id', 'priority', 'id'], unique=False)
    op.create_index('ix_tickets_desk_id_status', 'tickets', ['desk_id', 'status', 'created_at', 'id'], unique=False)
    op.create_index('ix_tickets_desk_id_updated_at', 'tickets', ['desk_id', 'updated_at', 'id'], unique=False)
    op.create_index('ix_tickets_organization_id', 'tickets', ['organization_id'], unique=False)
    op.create_index('ix_tickets_requester_id', 'tickets', ['requester_id'], unique=False)
    op.create_index('ix_tickets_routing_pending', 'tickets', ['created_at'], unique=False, postgresql_where=sa.text("routing_state = 'pending'"))
    op.create_index('ix_tickets_search', 'tickets', ['search'], unique=False, postgresql_using='gin')
    op.create_index('ix_tickets_tags', 'tickets', ['tags'], unique=False, postgresql_using='gin')
    op.create_index('ix_tickets_team_id', 'tickets', ['team_id'], unique=False)
    op.create_table('comments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('desk_id', sa.Integer(), nullable=False),
    sa.Column('author_kind', sa.String(length=16), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('public', sa.Boolean(), server_default='true', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("author_kind IN ('user', 'customer', 'system', 'api_token')", name=op.f('ck_comments_author_kind')),
    sa.ForeignKeyConstraint(['desk_id'], ['desks.id'], name=op.f('fk_comments_desk_id_desks'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_comments_ticket_id_tickets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_comments'))
    )
    op.create_index('ix_comments_ticket_id', 'comments', ['ticket_id', 'id'], unique=False)
    op.add_column('events', sa.Column('txid', sa.BigInteger(), server_default=sa.text('(pg_current_xact_id()::text)::bigint'), nullable=False))


def downgrade() -> None:
    op.drop_column('events', 'txid')
    op.drop_index('ix_comments_ticket_id', table_name='comments')
    op.drop_table('comments')
    op.drop_index('ix_tickets_team_id', table_name='tickets')
    op.drop_index('ix_tickets_tags', table_name='tickets', postgresql_using='gin')
    op.drop_index('ix_tickets_search', table_name='tickets', postgresql_using='gin')
    op.drop_index('ix_tickets_routing_pending', table_name='tickets', postgresql_where=sa.text("routing_state = 'pending'"))
    op.drop_index('ix_tickets_requester_id', table_name='tickets')
    op.drop_index('ix_tickets_organization_id', table_name='tickets')
    op.drop_index('ix_tickets_desk_id_updated_at', table_name='tickets')
    op.drop_index('ix_tickets_desk_id_status', table_name='tickets')
    op.drop_index('ix_tickets_desk_id_priority', table_name='tickets')
    op.drop_index('ix_tickets_desk_id_created_at', table_name='tickets')
    op.drop_index('ix_tickets_custom_fields', table_name='tickets', postgresql_using='gin', postgresql_ops={'custom_fields': 'jsonb_path_ops'})
    op.drop_index('ix_tickets_assignee_id', table_name='tickets')
    op.drop_table('tickets')
    op.drop_index('ix_views_desk_id', table_name='views')
    op.drop_table('views')
    op.drop_table('desk_counters')
