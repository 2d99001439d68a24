"""What the CLI commands that talk to a server share: ``--server/--token/--tls-ca``, the one table from
gRPC status codes to exit codes, paged listings and their JSON. Also adds ``mujun pack publish | activate``
(server-side packs).

A command that works both ways (``score``, ``pack list``, ``pack show``) runs on the server when
``--server`` or ``MUJUN_SERVER`` is given; a command that needs a server defaults to 127.0.0.1:50051.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import grpc
import polars as pl
import typer

from mujun.cli._common import EXIT_UNUSABLE, console, err_console

__all__ = ["register", "ServerOption", "TokenOption", "TlsCaOption", "LimitOption", "connect", "handle_remote_errors",
           "server_switch", "message_dict", "paged"]

F = TypeVar("F", bound=Callable[..., Any])

#: gRPC status → exit code: 2 when the request itself must change, 1 when the server or the token must.
EXIT_BY_STATUS: dict[grpc.StatusCode, int] = {
    grpc.StatusCode.INVALID_ARGUMENT: EXIT_UNUSABLE,
    grpc.StatusCode.NOT_FOUND: EXIT_UNUSABLE,
    grpc.StatusCode.FAILED_PRECONDITION: EXIT_UNUSABLE,
    grpc.StatusCode.ALREADY_EXISTS: EXIT_UNUSABLE,
    grpc.StatusCode.RESOURCE_EXHAUSTED: EXIT_UNUSABLE,
    grpc.StatusCode.OUT_OF_RANGE: EXIT_UNUSABLE,  # a watch cursor older than the server keeps
}

ServerOption = typer.Option("127.0.0.1:50051", "--server", envvar="MUJUN_SERVER", help="HOST:PORT of a mujun server")
TokenOption = typer.Option(None, "--token", envvar="MUJUN_TOKEN",
                           help="API token (mujun token create) [default: $MUJUN_DATA_DIR/admin.token or data/admin.token]")
TlsCaOption = typer.Option(None, "--tls-ca", envvar="MUJUN_TLS_CA",
                           help="CA bundle (PEM) to verify a TLS server [default: plaintext]")
LimitOption = typer.Option(20, "--limit", min=0, help="Entries to list, page after page; 0 lists every one")


def server_switch(instead: str) -> Any:
    """``--server`` of a command that also runs locally: unset (and no MUJUN_SERVER), it does ``instead``."""
    return typer.Option(None, "--server", envvar="MUJUN_SERVER",
                        help=f"Ask this mujun server (HOST:PORT) [default: {instead}]")


def connect(server: str, token: str | None, tls_ca: Path | None):  # noqa: ANN201 - mujun_client.Client
    """Without --token / MUJUN_TOKEN, the admin token of a local server (MUJUN_DATA_DIR, default ./data)."""
    from mujun_client import Client, find_token

    return Client(server, token or find_token(), tls_ca=tls_ca)


def message_dict(message: Any) -> dict[str, Any]:
    """A response message in protobuf's JSON mapping (as grpcurl prints it), every field present."""
    from google.protobuf.json_format import MessageToDict

    return MessageToDict(message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True)


def paged(call: Callable[..., Any], field: str, limit: int, **request: Any) -> tuple[list[Any], bool]:
    """Up to ``limit`` entries (0: every one) of a listing the server sends page by page, and whether more remain."""
    found: list[Any] = []
    token = ""
    while True:
        page = call(page_size=min(limit - len(found), 1000) if limit else 1000, page_token=token, **request)
        found.extend(getattr(page, field))
        token = page.next_page_token
        if not token:
            return found, False
        if limit and len(found) >= limit:
            return found[:limit], True


def handle_remote_errors(command: F) -> F:
    """Print a server's refusal (with its field violations) and exit with the code from the table."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from mujun_client import RemoteError

        try:
            return command(*args, **kwargs)
        except RemoteError as exc:
            err_console.print(f"[bold red]error[/] [{exc.code.name}] {exc.message}", highlight=False)
            for field, description in exc.violations:
                err_console.print(f"  - {field}: {description}", highlight=False)
            sys.exit(EXIT_BY_STATUS.get(exc.code, 1))

    return wrapper  # type: ignore[return-value]


def register(app: typer.Typer) -> None:
    from mujun.cli.packs import pack_app

    pack_app.command("publish")(publish)
    pack_app.command("activate")(activate)


@handle_remote_errors
def publish(path: Path = typer.Argument(..., help="pack.yaml to publish as a new immutable version"),
            server: str = ServerOption, token: str | None = TokenOption, tls_ca: Path | None = TlsCaOption) -> None:
    """Publish a pack on the server (identical content returns the version already stored)."""
    with connect(server, token, tls_ca) as client:
        version = client.publish_pack(path.read_text(encoding="utf-8"))
    console.print(f"published {version.pack_id} {version.version}  hash {version.hash}")


@handle_remote_errors
def activate(pack_id: str = typer.Option(..., "--pack", "-p", help="Published pack id"),
             region: str = typer.Option(..., "--region", help="County code, or * for every region"),
             version: str = typer.Option("", "--version", help="Published version [default: latest]"),
             effective_from: str = typer.Option("", "--from", help="ISO date the version is in force from [default: today]"),
             server: str = ServerOption, token: str | None = TokenOption, tls_ca: Path | None = TlsCaOption) -> None:
    """Put a published pack version in force for a region from a date."""
    with connect(server, token, tls_ca) as client:
        activation = client.activate_pack(region, pack_id, version, effective_from)
    console.print(f"{activation.region}: {activation.pack_id} {activation.version} from {activation.effective_from}")


@handle_remote_errors
def score_on_server(server: str, token: str | None, pack: str, input: Path, output: Path, prior: Path | None,
                    history: Path | None, sets: list[str] | None, strict: bool, cycle: int | None = None,
                    tls_ca: Path | None = None) -> None:
    """``mujun score --server``: the same table, file and summary as the local run, computed by a server."""
    from mujun.cli._common import parse_sets
    from mujun.cli.score import report_run
    from mujun.io import read_table, write_table
    from mujun_client import find_token, score_remote

    data = read_table(input)
    parameters = {name: float(value) for name, value in parse_sets(sets).items()}
    table = pl.from_arrow(score_remote(server, token or find_token(), pack, data,
                                       prior=read_table(prior) if prior else None,
                                       history=read_table(history) if history else None,
                                       parameters=parameters or None, cycle=cycle, tls_ca=tls_ca))
    write_table(table, output)
    report_run(table, pack, table["pack_hash"][0] if table.height else "", f"{data.height:,} records → {output} via {server}",
               "", strict=strict)
