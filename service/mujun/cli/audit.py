"""``mujun audit list | verify``: a server's audit entries; the log's hash chain, walked on the store itself
to say where it was edited or cut."""

from __future__ import annotations

from pathlib import Path

import typer

from mujun.cli._common import JsonOption, Typer, console, err_console, handle_errors, print_listing
from mujun.cli.remote import (LimitOption, ServerOption, TlsCaOption, TokenOption, connect, handle_remote_errors,
                              message_dict, paged)
from mujun.cli.store import store_url
from mujun.cli.token import DatabaseUrlOption, DataDirOption
from mujun.store import audit, open_database

__all__ = ["register"]

audit_app = Typer(no_args_is_help=True, help="The audit log: list a server's entries, verify the hash chain")


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")


@audit_app.command("list")
@handle_remote_errors
def list_command(region: str = typer.Option("", "--region", show_default=False,
                                            help="County code [default: every region the token may see]"),
                 limit: int = LimitOption, server: str = ServerOption, token: str | None = TokenOption,
                 tls_ca: Path | None = TlsCaOption, as_json: bool = JsonOption) -> None:
    """Audit entries from a server, oldest first: who did what to which cycle or pack, and the hashes before and
    after (an auditor's or admin's token)."""
    with connect(server, token, tls_ca) as client:
        entries, more = paged(client.audit_log, "entries", limit, region=region)
    rows = [{**message_dict(e), "after_hash": e.after_hash[:12], "before_hash": e.before_hash[:12]}
            if not as_json else message_dict(e) for e in entries]
    print_listing(as_json, {"entries": rows}, [("entries", f"audit log on {server}", [
        "id", "at", "actor", "action", "target", "region", "before_hash", "after_hash"])])
    if more:
        err_console.print("[dim]more entries on the server: --limit N shows N, --limit 0 every one[/]",
                          highlight=False)


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
