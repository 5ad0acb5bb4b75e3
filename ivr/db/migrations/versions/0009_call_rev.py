"""records written behind: calls.rev, the count of the webhook whose copy of the call row is in the
database, so a copy redelivered late never overwrites a newer one (issue 15)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 06:30:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('calls') as batch:
        batch.add_column(sa.Column('rev', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('calls') as batch:
        batch.drop_column('rev')
