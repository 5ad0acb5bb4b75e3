"""long caller IDs: calls.from_number and calls.to_number hold a SIP or client identity of up to 255
characters (issue 13, defect 11)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 03:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('calls') as batch:
        batch.alter_column('from_number', existing_type=sa.String(length=64), type_=sa.String(length=255),
                           existing_nullable=True)
        batch.alter_column('to_number', existing_type=sa.String(length=64), type_=sa.String(length=255),
                           existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('calls') as batch:
        batch.alter_column('from_number', existing_type=sa.String(length=255), type_=sa.String(length=64),
                           existing_nullable=True)
        batch.alter_column('to_number', existing_type=sa.String(length=255), type_=sa.String(length=64),
                           existing_nullable=False)
