"""``mujun token create | list | revoke``: API tokens in a server's store (shown once, stored hashed)."""

from __future__ import annotations

import json

import typer

from mujun.cli._common import JsonOption, Typer, console, handle_errors, print_listing
from mujun.store import open_database, sqlite_url, tokens

__all__ = ["register"]

token_app = Typer(no_args_is_help=True, help="API tokens for the gRPC server")


def register(app: typer.Typer) -> None:
    app.add_typer(token_app, name="token")


DataDirOption = typer.Option("data", "--data-dir", envvar="MUJUN_DATA_DIR", help="The server's data directory")
DatabaseUrlOption = typer.Option("", "--database-url", envvar="MUJUN_DATABASE_URL", help="Instead of --data-dir")


@token_app.command("create")
def create(
    role: str = typer.Option(..., "--role", help=f"One of: {', '.join(tokens.ROLES)}"),
    regions: list[str] | None = typer.Option(None, "--region", help="County code the token is limited to (repeatable)"),
    name: str = typer.Option("", "--name", help="Who holds it, e.g. 'tax bureau Qingjiangpu'"),
    data_dir: str = DataDirOption,
    database_url: str = DatabaseUrlOption,
) -> None:
    """Create a token and print it; only its hash is kept, so store the printed value safely."""
    if role not in tokens.ROLES:
        raise typer.BadParameter(f"use one of {', '.join(tokens.ROLES)}", param_hint="--role")
    db = open_database(database_url or sqlite_url(data_dir))
    try:
        with db.write() as session:
            secret, row = tokens.create(session, role=role, regions=list(regions or []), name=name)
    finally:
        db.close()
    console.print(f"[dim]token {row.id} ({row.name}), role {role}, regions {', '.join(regions or []) or 'all'}[/]",
                  highlight=False)
    print(secret)


@token_app.command("list")
def list_tokens(data_dir: str = DataDirOption, database_url: str = DatabaseUrlOption,
                as_json: bool = JsonOption) -> None:
    """Every token: id, holder, role, regions, created, revoked (never the secret)."""
    db = open_database(database_url or sqlite_url(data_dir))
    try:
        with db.read() as session:
            rows = tokens.listing(session)
    finally:
        db.close()
    when = (lambda t: t.isoformat()) if as_json else (lambda t: f"{t:%Y-%m-%d %H:%M}")
    listing = [{"id": row.id, "name": row.name, "role": row.role,
                "regions": json.loads(row.regions_json) or ([] if as_json else ["all"]),
                "created": when(row.created_at), "revoked": when(row.revoked_at) if row.revoked_at else None}
               for row in rows]
    print_listing(as_json, {"tokens": listing}, [("tokens", "", ["id", "name", "role", "regions", "created",
                                                                  "revoked"])])


@token_app.command("revoke")
@handle_errors
def revoke(token_id: int = typer.Argument(..., help="Token id from `mujun token list`"),
           data_dir: str = DataDirOption, database_url: str = DatabaseUrlOption) -> None:
    """Revoke a token; servers refuse it once their short token cache expires (10 s)."""
    db = open_database(database_url or sqlite_url(data_dir))
    try:
        with db.write() as session:
            row = tokens.revoke(session, token_id)
    finally:
        db.close()
    console.print(f"token {row.id} ({row.name}) revoked")
