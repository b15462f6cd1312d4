"""intake: inbound email messages and attachments

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 23:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('inbound_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('desk_id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.String(length=255), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.Column('comment_id', sa.Integer(), nullable=True),
    sa.Column('from_address', sa.String(length=320), server_default='', nullable=False),
    sa.Column('subject', sa.Text(), server_default='', nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=True),
    sa.Column('body', sa.Text(), server_default='', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("outcome IN ('created', 'threaded', 'ignored', 'sent')", name=op.f('ck_inbound_messages_outcome')),
    sa.ForeignKeyConstraint(['comment_id'], ['comments.id'], name=op.f('fk_inbound_messages_comment_id_comments'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['desk_id'], ['desks.id'], name=op.f('fk_inbound_messages_desk_id_desks'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_inbound_messages_ticket_id_tickets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbound_messages')),
    sa.UniqueConstraint('desk_id', 'message_id', name=op.f('uq_inbound_messages_desk_id_message_id'))
    )
    op.create_index('ix_inbound_messages_ticket_id', 'inbound_messages', ['ticket_id'], unique=False)
    op.create_index('ix_inbound_messages_comment_id', 'inbound_messages', ['comment_id'], unique=False)
    op.create_table('attachments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('desk_id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('comment_id', sa.Integer(), nullable=True),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=255), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['comment_id'], ['comments.id'], name=op.f('fk_attachments_comment_id_comments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['desk_id'], ['desks.id'], name=op.f('fk_attachments_desk_id_desks'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_attachments_ticket_id_tickets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attachments'))
    )
    op.create_index('ix_attachments_ticket_id', 'attachments', ['ticket_id', 'id'], unique=False)
    op.create_index('ix_attachments_comment_id', 'attachments', ['comment_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_attachments_comment_id', table_name='attachments')
    op.drop_index('ix_attachments_ticket_id', table_name='attachments')
    op.drop_table('attachments')
    op.drop_index('ix_inbound_messages_comment_id', table_name='inbound_messages')
    op.drop_index('ix_inbound_messages_ticket_id', table_name='inbound_messages')
    op.drop_table('inbound_messages')
