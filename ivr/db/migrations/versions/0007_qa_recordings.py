"""qa part 2: the Calls page's "has recording" filter and a qa reviewer's regions, fast

- an index on recordings (call_id, status): the filter's EXISTS is answered from the index alone
  (SQLite walks the calls newest first and probes it);
- on PostgreSQL 14+, statistics on the expression `region || ''` that a reviewer's regions are
  matched with (ivr/qa/search.py writes it so that no index on the region is used): without them
  the planner guesses 1 % of the calls match instead of 40 %, and for "has recording" takes every
  such call and sorts them (158 ms) instead of walking the calls newest first (13 ms).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 03:30:00.000000
"""
from alembic import op


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def _postgresql_with_expression_statistics() -> bool:
    bind = op.get_bind()
    return bind.dialect.name == "postgresql" and (bind.dialect.server_version_info or (0,)) >= (14,)


def upgrade() -> None:
    op.create_index('ix_recordings_call_status', 'recordings', ['call_id', 'status'], unique=False)
    if _postgresql_with_expression_statistics():
        op.execute("CREATE STATISTICS IF NOT EXISTS st_calls_region_expr ON ((region::text || ''::text)) FROM calls")
        op.execute("ANALYZE calls")


def downgrade() -> None:
    if _postgresql_with_expression_statistics():
        op.execute("DROP STATISTICS IF EXISTS st_calls_region_expr")
    op.drop_index('ix_recordings_call_status', table_name='recordings')
