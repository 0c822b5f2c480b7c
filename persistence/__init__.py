"""Storage: SQLAlchemy models, Alembic migrations, and repositories that never commit."""
