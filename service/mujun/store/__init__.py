"""The store (a stage after the engine): pack versions, activations, cycles, decisions, tokens, audit.

``open_database(url)`` gives a :class:`Database`; the repositories are modules of functions taking a
session (``packs``, ``cycles``, ``tokens``, ``audit``) so every service call decides its own transaction.
``leases`` tells live servers from dead ones; ``backup`` copies and restores the embedded store.
"""

from __future__ import annotations

from mujun.store import audit, cycles, packs, tokens
from mujun.store.db import Database, open_database, sqlite_url

__all__ = ["Database", "open_database", "sqlite_url", "audit", "cycles", "packs", "tokens"]
