"""Opening the store: engine, pragmas, integrity checks, migrations, the write lock and the lease.

SQLite (the embedded default, ``<data-dir>/mujun.db``) runs in WAL mode with foreign keys on and
``synchronous=FULL``: a transaction is either in the file after COMMIT or not at all, so a process
killed with SIGKILL leaves nothing half-written. Any SQLAlchemy URL works (PostgreSQL for shared
deployments); the schema comes from the Alembic migrations in ``migrations/``.

Damage is refused, never papered over: an existing file that is empty or not an SQLite database is
not initialised as a new store (that would hide the loss of every cycle and the audit log), and a
server opens the store only after ``PRAGMA quick_check`` passes.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, make_url, text
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session, sessionmaker

from mujun.errors import NotFound, StoreDamaged, StoreUnavailable
from mujun.store.leases import Lease, lock_path

__all__ = ["Database", "open_database", "sqlite_url", "sqlite_path", "migrate", "quick_check"]

_MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_SQLITE_MAGIC = b"SQLite format 3\x00"


def sqlite_url(data_dir: str | Path) -> str:
    path = Path(data_dir).expanduser().resolve()
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return f"sqlite:///{path / 'mujun.db'}"


def sqlite_path(url: str) -> Path | None:
    """The database file of a SQLite URL; None for other backends and in-memory SQLite."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite") or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def _refuse_non_database(path: Path) -> None:
    with path.open("rb") as file:
        header = file.read(len(_SQLITE_MAGIC))
    if header == _SQLITE_MAGIC:
        return
    what = "is empty (0 bytes)" if not header else "is not an SQLite database"
    raise StoreDamaged(f"{path} {what}, so it is not a mujun store and will not be initialised as a new one. "
                       "Restore it from a backup (mujun store backup), or move it away to start an empty store",
                       location=str(path))


def quick_check(engine: Engine) -> list[str]:
    """``PRAGMA quick_check`` on SQLite: the problems found (empty when sound); nothing to check elsewhere."""
    if engine.dialect.name != "sqlite":
        return []
    try:
        with engine.connect() as connection:
            rows = [line for row in connection.execute(text("PRAGMA quick_check(20)"))
                    for line in str(row[0]).splitlines() if not line.startswith("*** in database")]
    except DatabaseError as exc:
        return [str(exc.orig)]
    return [] if rows == ["ok"] else rows


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
    lease: Lease | None = None

    @property
    def owner(self) -> str | None:
        """The lease of this process (a server), recorded on every run it starts; None for the CLI."""
        return self.lease.owner if self.lease is not None else None

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
        try:
            if self.lease is not None:
                self.lease.release()
                self.lease = None
        finally:
            self.engine.dispose()


def open_database(url: str, *, create: bool = True, check: bool = False, lease: bool = False) -> Database:
    """Create the engine for ``url``, apply pragmas (SQLite) and run migrations.

    ``create=False`` refuses a SQLite file that does not exist (commands that read a store); ``check``
    runs ``PRAGMA quick_check`` first; ``lease`` registers this process as a server (:mod:`leases`),
    exclusively on SQLite. Damage raises :class:`StoreDamaged`, a second SQLite server ``StoreBusy``.
    """
    path = sqlite_path(url)
    if path is not None:
        if path.exists():
            _refuse_non_database(path)
        elif not create:
            raise NotFound(f"there is no store at {path}; give the server's --data-dir (or --database-url)",
                           location=str(path))
    is_sqlite = url.startswith("sqlite")
    engine = create_engine(url, connect_args={"check_same_thread": False} if is_sqlite else {},
                           pool_pre_ping=not is_sqlite)
    if is_sqlite:
        event.listen(engine, "connect", _sqlite_pragmas)
    db = Database(engine, sessionmaker(engine, expire_on_commit=False))
    try:
        if lease and path is not None:
            # The exclusive lock first: a second server must not even read a store another one writes.
            db.lease = Lease(db.write, lock_file=lock_path(path), database=str(path))
        if check:
            problems = quick_check(engine)
            if problems:
                raise StoreDamaged(f"the store {path or make_url(url).render_as_string()} is damaged "
                                   f"(PRAGMA quick_check): {'; '.join(problems[:5])}. Stop using it and restore "
                                   "the latest backup (mujun store restore)", location=str(path or ""))
        try:
            migrate(engine)
        except DatabaseError as exc:
            if path is None:  # a database server's errors (refused connection, …) are not damage
                reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
                raise StoreUnavailable(f"cannot open the store {make_url(url).render_as_string()}: {reason}") from None
            raise StoreDamaged(f"the store cannot be read: {exc.orig}. Restore the latest backup (mujun store "
                               "restore)", location=str(path)) from exc
        if lease:
            if db.lease is None:
                db.lease = Lease(db.write, lock_file=None, database=make_url(url).render_as_string())
            db.lease.register()
    except BaseException:
        db.close()
        raise
    return db
