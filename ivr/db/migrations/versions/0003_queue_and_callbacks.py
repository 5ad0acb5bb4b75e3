"""queue and callbacks: callback attempts, callback request fields, call direction

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 13:33:30.543810
"""
import uuid

from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

ACTIVE = sa.text("status IN ('pending', 'calling')")


def upgrade() -> None:
    op.create_table('callback_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('idempotency_key', sa.String(length=64), nullable=False),
    sa.Column('call_sid', sa.String(length=34), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('answered_by', sa.String(length=32), nullable=True),
    sa.Column('outcome', sa.String(length=32), nullable=True),
    sa.Column('owner', sa.String(length=64), nullable=True),
    sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('placed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['request_id'], ['callback_requests.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('call_sid', name='uq_callback_attempts_call_sid'),
    sa.UniqueConstraint('idempotency_key', name='uq_callback_attempts_idempotency_key')
    )
    with op.batch_alter_table('callback_attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_callback_attempts_request_id'), ['request_id'], unique=False)
        batch_op.create_index('ux_callback_attempts_request_attempt', ['request_id', 'attempt'], unique=True)

    with op.batch_alter_table('callback_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('key', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('desk', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('language', sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column('caller_id', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('attempts', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('max_attempts', sa.Integer(), nullable=False, server_default='3'))
        batch_op.add_column(sa.Column('last_outcome', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True))

    # Requests recorded before this migration (the urgent path's) get a key, and keep only the newest
    # active one per number and ticket, so the unique index below can be built.
    connection = op.get_bind()
    requests = sa.table('callback_requests', sa.column('id'), sa.column('key'), sa.column('number'),
                        sa.column('ticket_id'), sa.column('status'))
    seen = set()
    rows = connection.execute(sa.select(requests.c.id, requests.c.number, requests.c.ticket_id, requests.c.status)
                              .order_by(requests.c.id.desc())).all()
    for row in rows:
        values = {'key': uuid.uuid4().hex}
        if row.status in ('pending', 'calling'):
            if (row.number, row.ticket_id) in seen:
                values['status'] = 'cancelled'
            seen.add((row.number, row.ticket_id))
        connection.execute(requests.update().where(requests.c.id == row.id).values(**values))

    with op.batch_alter_table('callback_requests', schema=None) as batch_op:
        batch_op.create_index('ux_callback_requests_key', ['key'], unique=True)
        batch_op.create_index('ux_callback_requests_active', ['number', 'ticket_id'], unique=True,
                              sqlite_where=ACTIVE, postgresql_where=ACTIVE)

    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.add_column(sa.Column('direction', sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.drop_column('direction')

    with op.batch_alter_table('callback_requests', schema=None) as batch_op:
        batch_op.drop_index('ux_callback_requests_active', sqlite_where=ACTIVE, postgresql_where=ACTIVE)
        batch_op.drop_index('ux_callback_requests_key')
        batch_op.drop_column('finished_at')
        batch_op.drop_column('updated_at')
        batch_op.drop_column('last_outcome')
        batch_op.drop_column('max_attempts')
        batch_op.drop_column('attempts')
        batch_op.drop_column('caller_id')
        batch_op.drop_column('language')
        batch_op.drop_column('desk')
        batch_op.drop_column('key')

    with op.batch_alter_table('callback_attempts', schema=None) as batch_op:
        batch_op.drop_index('ux_callback_attempts_request_attempt')
        batch_op.drop_index(batch_op.f('ix_callback_attempts_request_id'))

    op.drop_table('callback_attempts')
