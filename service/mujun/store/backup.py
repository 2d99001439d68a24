"""Backing up and restoring the embedded store (SQLite online backup API); advice for PostgreSQL.

A backup is taken page by page through SQLite's online backup API, so it is consistent even while a
server writes, then checked with ``PRAGMA quick_check`` before it gets its name. A restore takes the
store's exclusive lock (no server may be running on it), checks the backup the same way, and moves
the current file aside instead of deleting it: a restore never loses what it replaces.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import make_url

from mujun.errors import AlreadyExists, NotFound, PreconditionFailed, StoreDamaged
from mujun.store.db import sqlite_path
from mujun.store.leases import exclusive_lock, lock_path

__all__ = ["backup", "restore", "pg_dump_advice", "Copied"]


@dataclass(frozen=True)
class Copied:
    """A finished copy: where it is, its size, and (restore) where the replaced store went."""

    path: Path
    bytes: int
    moved_aside: Path | None = None


def pg_dump_advice(url: str) -> str:
    """How to back up and restore a store that is not SQLite (the database's own tools do it better)."""
    plain = make_url(url).set(drivername=make_url(url).get_backend_name()).render_as_string(hide_password=True)
    return (f"this store is not SQLite; back it up with the database's own tools, e.g. for PostgreSQL:\n"
            f"  pg_dump --format=custom --file mujun.dump '{plain}'\n"
            f"and restore into an empty database with\n"
            f"  pg_restore --no-owner --dbname '{plain}' mujun.dump")


def _copy(source: Path, target: Path) -> None:
    """Online backup of ``source`` into a new file ``target``, checked before it is renamed into place."""
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    reader = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    writer = sqlite3.connect(partial)
    try:
        reader.backup(writer)
        verdict = [row[0] for row in writer.execute("PRAGMA quick_check(5)")]
    finally:
        writer.close()
        reader.close()
    if verdict != ["ok"]:
        partial.unlink(missing_ok=True)
        raise StoreDamaged(f"the copy of {source} fails PRAGMA quick_check ({'; '.join(verdict)}); "
                           "the source is damaged: restore an older backup", location=str(source))
    os.chmod(partial, 0o600)
    os.replace(partial, target)


def _sqlite_file(url: str) -> Path:
    path = sqlite_path(url)
    if path is None:
        raise PreconditionFailed(pg_dump_advice(url))
    return path


def backup(url: str, target: Path) -> Copied:
    """Copy the store at ``url`` to the new file ``target`` (never overwritten)."""
    source = _sqlite_file(url)
    if not source.exists():
        raise NotFound(f"there is no store at {source}", location=str(source))
    if target.exists():
        raise AlreadyExists(f"{target} exists; give a new file name for the backup", location=str(target))
    _copy(source, target)
    return Copied(target, target.stat().st_size)


def restore(source: Path, url: str) -> Copied:
    """Make the backup ``source`` the store at ``url``; the store it replaces is renamed, not deleted."""
    if not source.is_file():
        raise NotFound(f"there is no backup file {source}", location=str(source))
    with source.open("rb") as file:
        if file.read(16) != b"SQLite format 3\x00":
            raise StoreDamaged(f"{source} is not an SQLite database, so not a mujun backup", location=str(source))
    target = _sqlite_file(url)
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    lock = exclusive_lock(lock_path(target), str(target))  # refuses while a server runs on the store
    try:
        incoming = target.with_name(f"{target.name}.restoring")
        incoming.unlink(missing_ok=True)
        _copy(source, incoming)
        aside = None
        if target.exists():
            aside = target.with_name(f"{target.name}.replaced-{dt.datetime.now():%Y%m%d-%H%M%S}")
            os.replace(target, aside)
        for suffix in ("-wal", "-shm"):  # the replaced store's journal must not be replayed into the backup
            journal = target.with_name(target.name + suffix)
            if journal.exists():
                if aside is not None:
                    os.replace(journal, aside.with_name(aside.name + suffix))
                else:
                    journal.unlink()
        os.replace(incoming, target)
    finally:
        os.close(lock)
    return Copied(target, target.stat().st_size, aside)
