"""The law as code: pure functions, no Flask, no SQLAlchemy."""
