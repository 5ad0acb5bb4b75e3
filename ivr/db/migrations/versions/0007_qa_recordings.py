"""qa part 2: an index for the Calls page's "has recording" filter (recordings by call and status)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 03:30:00.000000
"""
from alembic import op


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_recordings_call_status', 'recordings', ['call_id', 'status'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_recordings_call_status', table_name='recordings')
