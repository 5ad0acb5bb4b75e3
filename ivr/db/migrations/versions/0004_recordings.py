"""recordings: recordings and transcripts tables, legal hold on tickets

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 00:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('recordings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('recording_sid', sa.String(length=34), nullable=False),
    sa.Column('call_id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.Column('region', sa.String(length=8), nullable=True),
    sa.Column('language', sa.String(length=8), nullable=True),
    sa.Column('channels', sa.Integer(), nullable=False),
    sa.Column('duration_seconds', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('storage', sa.String(length=8), nullable=True),
    sa.Column('storage_key', sa.String(length=255), nullable=True),
    sa.Column('format', sa.String(length=16), nullable=True),
    sa.Column('source_sha256', sa.String(length=64), nullable=True),
    sa.Column('stored_sha256', sa.String(length=64), nullable=True),
    sa.Column('source_bytes', sa.Integer(), nullable=True),
    sa.Column('stored_bytes', sa.Integer(), nullable=True),
    sa.Column('original_key', sa.String(length=255), nullable=True),
    sa.Column('redactions', sa.JSON(), nullable=False),
    sa.Column('redaction', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('stored_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('twilio_deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['call_id'], ['calls.id'], ),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('recording_sid', name='uq_recordings_recording_sid')
    )
    with op.batch_alter_table('recordings', schema=None) as batch_op:
        batch_op.create_index('ix_recordings_call_id', ['call_id'], unique=False)
        batch_op.create_index('ix_recordings_ticket_id', ['ticket_id'], unique=False)
        batch_op.create_index('ix_recordings_status_stored', ['status', 'stored_at'], unique=False)

    op.create_table('transcripts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('recording_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.Integer(), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('words', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['recording_id'], ['recordings.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('transcripts', schema=None) as batch_op:
        batch_op.create_index('ix_transcripts_recording_id', ['recording_id'], unique=False)
        batch_op.create_index('ux_transcripts_recording_channel', ['recording_id', 'channel'], unique=True)

    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('legal_hold', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_column('legal_hold')
    with op.batch_alter_table('transcripts', schema=None) as batch_op:
        batch_op.drop_index('ux_transcripts_recording_channel')
        batch_op.drop_index('ix_transcripts_recording_id')
    op.drop_table('transcripts')
    with op.batch_alter_table('recordings', schema=None) as batch_op:
        batch_op.drop_index('ix_recordings_status_stored')
        batch_op.drop_index('ix_recordings_ticket_id')
        batch_op.drop_index('ix_recordings_call_id')
    op.drop_table('recordings')
