"""db: the durable records. SQLAlchemy models (`models`), the engine, sessions and Alembic
migrations (`database`, `migrations/`). SQLite by default, PostgreSQL when IVR_DATABASE_URL says so.

May import: nothing else of ivr.
"""
