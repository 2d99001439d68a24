"""Which servers are alive on a store, so a starting server recovers only runs whose owner is gone.

A serving process holds a :class:`Lease`: a ``server_leases`` row whose ``heartbeat_at`` a thread
renews every ``heartbeat`` seconds, removed when the server stops. A run records the lease that
runs it (``cycles.run_owner``); a lease whose heartbeat is older than ``stale`` seconds is dead, and
only then are its runs put back to draft. Servers sharing a PostgreSQL store need clocks within a few
seconds of each other (NTP).

SQLite admits one server: the lease also takes an exclusive ``flock`` on ``<db>.lock``, which the
kernel releases when the process dies (even by SIGKILL). A second server is refused with
:class:`StoreBusy`; holding the lock proves every other lease row dead, so they are removed at once.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import logging
import os
import socket
import threading
import uuid
from pathlib import Path

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from mujun.errors import StoreBusy
from mujun.store.models import ServerLeaseRow, utcnow

__all__ = ["Lease", "alive_owners", "exclusive_lock", "lock_path", "HEARTBEAT_SECONDS", "STALE_SECONDS"]

log = logging.getLogger("mujun.store")

HEARTBEAT_SECONDS = 5.0
STALE_SECONDS = 30.0


def alive_owners(session: Session, *, stale: float = STALE_SECONDS) -> set[str]:
    """Leases renewed within the last ``stale`` seconds."""
    since = utcnow() - dt.timedelta(seconds=stale)
    return set(session.scalars(select(ServerLeaseRow.owner).where(ServerLeaseRow.heartbeat_at >= since)))


def lock_path(database: Path) -> Path:
    """The lock file beside a SQLite database, held by its server (and by a restore)."""
    return database.with_name(database.name + ".lock")


def exclusive_lock(path: Path, database: str) -> int:
    """An open descriptor holding the exclusive lock on ``path``; StoreBusy while another process holds it."""
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(descriptor, 200).decode(errors="replace").strip() or "unknown"
        os.close(descriptor)
        raise StoreBusy(f"another mujun server ({holder}) is serving {database}: a SQLite store admits one server. "
                        "Stop that server first, or share a PostgreSQL store (--database-url) between several",
                        location=str(path)) from None
    os.ftruncate(descriptor, 0)
    os.write(descriptor, f"pid {os.getpid()} on {socket.gethostname()}".encode())
    return descriptor


class Lease:
    """This process's claim on a store; ``owner`` goes into every run it starts.

    Made in two steps because the file lock must come before anything reads the store and the row
    after the migrations made its table: ``Lease(...)`` takes the lock (SQLite), ``register()`` the row.
    """

    def __init__(self, write, *, lock_file: Path | None, database: str,  # noqa: ANN001 - Database.write
                 heartbeat: float = HEARTBEAT_SECONDS):
        self.owner = uuid.uuid4().hex
        self._write = write
        self._heartbeat = heartbeat
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = exclusive_lock(lock_file, database) if lock_file is not None else None

    def register(self) -> None:
        with self._write() as session:
            dead = delete(ServerLeaseRow)  # with the file lock held, every other lease is dead
            if self._lock is None:
                dead = dead.where(ServerLeaseRow.heartbeat_at < utcnow() - dt.timedelta(seconds=STALE_SECONDS))
            session.execute(dead)
            session.add(self._row())
        self._thread = threading.Thread(target=self._beat, name="mujun-lease", daemon=True)
        self._thread.start()

    def _row(self) -> ServerLeaseRow:
        return ServerLeaseRow(owner=self.owner, host=socket.gethostname(), pid=os.getpid())

    def _beat(self) -> None:
        while not self._stop.wait(self._heartbeat):
            try:
                with self._write() as session:
                    renewed = session.execute(update(ServerLeaseRow).where(ServerLeaseRow.owner == self.owner)
                                              .values(heartbeat_at=utcnow())).rowcount
                    if not renewed:  # judged dead while unreachable: its runs were recovered; live on
                        session.add(self._row())
            except Exception:  # noqa: BLE001 - a missed beat is retried; the store may be briefly away
                log.warning("could not renew the server lease %s", self.owner[:8], exc_info=True)

    def release(self) -> None:
        """Stop the heartbeat and remove the row (runs are drained by then), then drop the file lock."""
        try:
            if self._thread is not None:
                self._stop.set()
                self._thread.join(10)
                self._thread = None
                with self._write() as session:
                    session.execute(delete(ServerLeaseRow).where(ServerLeaseRow.owner == self.owner))
        finally:
            if self._lock is not None:
                os.close(self._lock)
                self._lock = None
