"""``mujun audit verify``: walk the audit log's hash chain and say where it was edited or cut."""

from __future__ import annotations

import typer

from mujun.cli._common import console, err_console, handle_errors
from mujun.cli.store import store_url
from mujun.cli.token import DatabaseUrlOption, DataDirOption
from mujun.store import audit, open_database

__all__ = ["register"]

audit_app = typer.Typer(no_args_is_help=True, help="The audit log: verify its hash chain")


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
@handle_errors
def verify(head: str = typer.Option("", "--head", help="A head hash printed by an earlier verify: it must still be "
                                                      "in the log (detects a deleted tail)"),
           data_dir: str = DataDirOption, database_url: str = DatabaseUrlOption) -> None:
    """Check every entry against its hash and its predecessor; exit 1 when an entry was changed or removed."""
    db = open_database(store_url(data_dir, database_url), create=False, check=True)
    try:
        with db.read() as session:
            report = audit.verify(session, head=head)
    finally:
        db.close()
    for problem in report.problems:
        err_console.print(f"[bold red]broken[/] {problem}", highlight=False, soft_wrap=True)
    if report.problems:
        err_console.print(f"{len(report.problems)} problem(s) in {report.entries:,} audit entries", highlight=False,
                          soft_wrap=True)
        raise typer.Exit(1)
    console.print(f"audit log intact: {report.entries:,} entries, head {report.head}", highlight=False, soft_wrap=True)
