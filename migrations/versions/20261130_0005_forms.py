"""forms: web forms, their versions and submissions, survey responses; tickets.form_id

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 23:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('tickets', sa.Column('form_id', sa.Integer(), nullable=True))
    op.create_table('forms',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('desk_id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=100), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), server_default='', nullable=False),
    sa.Column('kind', sa.String(length=16), server_default='ticket', nullable=False),
    sa.Column('published', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('fields', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'[]'::jsonb"), nullable=False),
    sa.Column('revision', sa.Integer(), server_default='1', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("kind IN ('ticket', 'survey')", name=op.f('ck_forms_kind')),
    sa.ForeignKeyConstraint(['desk_id'], ['desks.id'], name=op.f('fk_forms_desk_id_desks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_forms')),
    sa.UniqueConstraint('slug', name=op.f('uq_forms_slug'))
    )
    op.create_index('ix_forms_desk_id', 'forms', ['desk_id', 'id'], unique=False)
    op.create_table('form_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('desk_id', sa.Integer(), nullable=False),
    sa.Column('form_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('fields', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['desk_id'], ['desks.id'], name=op.f('fk_form_versions_desk_id_desks'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['form_id'], ['forms.id'], name=op.f('fk_form_versions_form_id_forms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_form_versions')),
    sa.UniqueConstraint('form_id', 'version', name=op.f('uq_form_versions_form_id_version'))
    )
    op.create_table('form_submissions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('desk_id', sa.Integer(), nullable=False),
    sa.Column('form_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.Column('answers', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('ip_hash', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['desk_id'], ['desks.id'], name=op.f('fk_form_submissions_desk_id_desks'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['form_id'], ['forms.id'], name=op.f('fk_form_submissions_form_id_forms'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_form_submissions_ticket_id_tickets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_form_submissions'))
    )
    op.create_index('ix_form_submissions_desk_id_form_id', 'form_submissions', ['desk_id', 'form_id', 'id'], unique=False)
    op.create_index('ix_form_submissions_ticket_id', 'form_submissions', ['ticket_id'], unique=False)
    op.create_table('survey_responses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('desk_id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('rating', sa.SmallInteger(), nullable=False),
    sa.Column('comment', sa.Text(), server_default='', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('rating BETWEEN 1 AND 5', name=op.f('ck_survey_responses_rating')),
    sa.ForeignKeyConstraint(['desk_id'], ['desks.id'], name=op.f('fk_survey_responses_desk_id_desks'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_survey_responses_ticket_id_tickets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_responses')),
    sa.UniqueConstraint('ticket_id', name=op.f('uq_survey_responses_ticket_id'))
    )
    op.create_index('ix_survey_responses_desk_id', 'survey_responses', ['desk_id', 'created_at', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_survey_responses_desk_id', table_name='survey_responses')
    op.drop_table('survey_responses')
    op.drop_index('ix_form_submissions_ticket_id', table_name='form_submissions')
    op.drop_index('ix_form_submissions_desk_id_form_id', table_name='form_submissions')
    op.drop_table('form_submissions')
    op.drop_table('form_versions')
    op.drop_index('ix_forms_desk_id', table_name='forms')
    op.drop_table('forms')
    op.drop_column('tickets', 'form_id')
