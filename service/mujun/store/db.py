"""Opening the store: engine, pragmas, migrations and the write lock.

SQLite (the embedded default, ``<data-dir>/mujun.db``) runs in WAL mode with foreign keys on and
``synchronous=FULL``: a transaction is either in the file after COMMIT or not at all, so a process
killed with SIGKILL leaves nothing half-written. Any SQLAlchemy URL works (PostgreSQL for shared
deployments); the schema comes from the Alembic migrations in ``migrations/``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from mujun.store.errors import StoreUnavailable

__all__ = ["Database", "open_database", "sqlite_url", "migrate"]

_MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def sqlite_url(data_dir: str | Path) -> str:
    path = Path(data_dir).expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path / 'mujun.db'}"


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # noqa: ANN001 - DBAPI hook
    cursor = dbapi_connection.cursor()
    for pragma in ("journal_mode=WAL", "foreign_keys=ON", "synchronous=FULL", "busy_timeout=30000"):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision (a no-op when it is there already)."""
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


@dataclass
class Database:
    """An engine plus sessions; ``write()`` serializes writers of this process (SQLite has one writer)."""

    engine: Engine
    sessions: sessionmaker[Session]
    _write_lock: threading.Lock = field(default_factory=threading.Lock)

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self.sessions() as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back when it raises."""
        with self._write_lock, self.sessions() as session, session.begin():
            yield session

    def close(self) -> None:
        self.engine.dispose()


def open_database(url: str) -> Database:
    """Create the engine for ``url``, apply pragmas (SQLite) and run migrations."""
    is_sqlite = url.startswith("sqlite")
    engine = create_engine(url, connect_args={"check_same_thread": False} if is_sqlite else {},
                           pool_pre_ping=not is_sqlite)
    if is_sqlite:
        event.listen(engine, "connect", _sqlite_pragmas)
    try:
        migrate(engine)
    except OperationalError as exc:
        engine.dispose()
        where = engine.url.render_as_string(hide_password=True)
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise StoreUnavailable(f"cannot open the store {where}: {reason}") from None
    return Database(engine, sessionmaker(engine, expire_on_commit=False))
