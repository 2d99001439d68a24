"""Alembic migrations of the store; run by :func:`mujun.store.db.migrate` on every open."""
