"""organizations, customers, field definitions, events

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 12:32:34.760496
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('events',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('desk_id', sa.Integer(), nullable=True),
    sa.Column('type', sa.String(length=64), nullable=False),
    sa.Column('subject_type', sa.String(length=32), nullable=False),
    sa.Column('subject_id', sa.BigInteger(), nullable=False),
    sa.Column('actor', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('data', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('changes', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('dispatched_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['desk_id'], ['desks.id'], name=op.f('fk_events_desk_id_desks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_events'))
    )
    op.create_index('ix_events_desk_id_id', 'events', ['desk_id', 'id'], unique=False)
    op.create_index('ix_events_subject', 'events', ['subject_type', 'subject_id', 'id'], unique=False)
    op.create_index('ix_events_undispatched', 'events', ['id'], unique=False, postgresql_where=sa.text('dispatched_at IS NULL'))
    op.create_table('field_definitions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('desk_id', sa.Integer(), nullable=False),
    sa.Column('entity', sa.String(length=16), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('spec', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('active', sa.Boolean(), server_default='true', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("entity IN ('organization', 'customer', 'ticket')", name=op.f('ck_field_definitions_entity')),
    sa.ForeignKeyConstraint(['desk_id'], ['desks.id'], name=op.f('fk_field_definitions_desk_id_desks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_field_definitions')),
    sa.UniqueConstraint('desk_id', 'entity', 'key', name=op.f('uq_field_definitions_desk_id_entity_key'))
    )
    op.create_table('organizations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('desk_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('shared_tickets', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('custom_fields', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('routing_actions', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'[]'::jsonb"), nullable=False),
    sa.Column('notes', sa.Text(), server_default='', nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['desk_id'], ['desks.id'], name=op.f('fk_organizations_desk_id_desks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_organizations'))
    )
    op.create_index('ix_organizations_desk_id_id', 'organizations', ['desk_id', 'id'], unique=False)
    op.create_index('ix_organizations_desk_id_name', 'organizations', ['desk_id', sa.literal_column('lower(name)'), 'id'], unique=False)
    op.create_table('customers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('desk_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('email_domain', sa.String(length=253), nullable=False),
    sa.Column('name', sa.String(length=200), server_default='', nullable=False),
    sa.Column('phone', sa.String(length=40), nullable=True),
    sa.Column('organization_id', sa.Integer(), nullable=True),
    sa.Column('custom_fields', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['desk_id'], ['desks.id'], name=op.f('fk_customers_desk_id_desks'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_customers_organization_id_organizations'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customers')),
    sa.UniqueConstraint('desk_id', 'email', name=op.f('uq_customers_desk_id_email'))
    )
    op.create_index('ix_customers_desk_id_domain', 'customers', ['desk_id', 'email_domain'], unique=False)
    op.create_index('ix_customers_desk_id_id', 'customers', ['desk_id', 'id'], unique=False)
    op.create_index('ix_customers_organization_id', 'customers', ['organization_id'], unique=False)
    op.create_table('organization_domains',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('desk_id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('domain', sa.String(length=253), nullable=False),
    sa.ForeignKeyConstraint(['desk_id'], ['desks.id'], name=op.f('fk_organization_domains_desk_id_desks'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_organization_domains_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_organization_domains')),
    sa.UniqueConstraint('desk_id', 'domain', name=op.f('uq_organization_domains_desk_id_domain'))
    )
    op.create_index('ix_organization_domains_organization_id', 'organization_domains', ['organization_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_organization_domains_organization_id', table_name='organization_domains')
    op.drop_table('organization_domains')
    op.drop_index('ix_customers_organization_id', table_name='customers')
    op.drop_index('ix_customers_desk_id_id', table_name='customers')
    op.drop_index('ix_customers_desk_id_domain', table_name='customers')
    op.drop_table('customers')
    op.drop_index('ix_organizations_desk_id_name', table_name='organizations')
    op.drop_index('ix_organizations_desk_id_id', table_name='organizations')
    op.drop_table('organizations')
    op.drop_table('field_definitions')
    op.drop_index('ix_events_undispatched', table_name='events', postgresql_where=sa.text('dispatched_at IS NULL'))
    op.drop_index('ix_events_subject', table_name='events')
    op.drop_index('ix_events_desk_id_id', table_name='events')
    op.drop_table('events')
