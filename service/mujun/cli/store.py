"""``mujun store check | backup | restore``: is the store sound, and copies of it that can be trusted."""

from __future__ import annotations

from pathlib import Path

import typer
from sqlalchemy import func, select

from mujun.cli._common import Typer, console, handle_errors
from mujun.cli.token import DatabaseUrlOption, DataDirOption
from mujun.store import open_database
from mujun.store.models import AuditRow, CycleRow, DecisionRow

__all__ = ["register", "store_url"]

store_app = Typer(no_args_is_help=True, help="The server's store: check, backup, restore")


def register(app: typer.Typer) -> None:
    app.add_typer(store_app, name="store")


def store_url(data_dir: str, database_url: str) -> str:
    """The store's URL without creating its directory (these commands only read an existing store)."""
    return database_url or f"sqlite:///{Path(data_dir).expanduser().resolve() / 'mujun.db'}"


@store_app.command("check")
@handle_errors
def check(data_dir: str = DataDirOption, database_url: str = DatabaseUrlOption) -> None:
    """Run PRAGMA quick_check (SQLite) and count what the store holds; exit 2 when it is damaged."""
    db = open_database(store_url(data_dir, database_url), create=False, check=True)
    try:
        with db.read() as session:
            counts = {name: session.scalar(select(func.count()).select_from(model))
                      for name, model in (("cycles", CycleRow), ("decisions", DecisionRow), ("audit entries", AuditRow))}
    finally:
        db.close()
    console.print(f"store {store_url(data_dir, database_url)}: sound ("
                  + ", ".join(f"{count:,} {name}" for name, count in counts.items()) + "); "
                  "`mujun audit verify` checks the audit log's hash chain", highlight=False, soft_wrap=True)


@store_app.command("backup")
@handle_errors
def backup_command(target: Path = typer.Argument(..., help="New file to write the backup to"),
                   data_dir: str = DataDirOption, database_url: str = DatabaseUrlOption) -> None:
    """Copy the store while it serves (SQLite online backup API); PostgreSQL: prints pg_dump advice, exit 2."""
    from mujun.store.backup import backup

    copied = backup(store_url(data_dir, database_url), target)
    console.print(f"backup written to {copied.path} ({copied.bytes:,} bytes, checked with quick_check)",
                  highlight=False, soft_wrap=True)


@store_app.command("restore")
@handle_errors
def restore_command(source: Path = typer.Argument(..., help="A backup made by `mujun store backup`"),
                    data_dir: str = DataDirOption, database_url: str = DatabaseUrlOption) -> None:
    """Make a backup the store (no server may run on it); the store it replaces is renamed, never deleted."""
    from mujun.store.backup import restore

    copied = restore(source, store_url(data_dir, database_url))
    aside = f"; the previous store is now {copied.moved_aside}" if copied.moved_aside else ""
    console.print(f"restored {source} to {copied.path}{aside}", highlight=False, soft_wrap=True)
