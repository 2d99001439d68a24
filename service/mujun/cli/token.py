"""``mujun token create``: make an API token in a server's store (shown once, stored hashed)."""

from __future__ import annotations

import typer

from mujun.cli._common import console
from mujun.store import open_database, sqlite_url, tokens

__all__ = ["register"]

token_app = typer.Typer(no_args_is_help=True, help="API tokens for the gRPC server")


def register(app: typer.Typer) -> None:
    app.add_typer(token_app, name="token")


@token_app.command("create")
def create(
    role: str = typer.Option(..., "--role", help=f"One of: {', '.join(tokens.ROLES)}"),
    regions: list[str] | None = typer.Option(None, "--region", help="County code the token is limited to (repeatable)"),
    name: str = typer.Option("", "--name", help="Who holds it, e.g. 'tax bureau Qingjiangpu'"),
    data_dir: str = typer.Option("data", "--data-dir", envvar="MUJUN_DATA_DIR", help="The server's data directory"),
    database_url: str = typer.Option("", "--database-url", envvar="MUJUN_DATABASE_URL", help="Instead of --data-dir"),
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
