"""``mujun serve``: run the gRPC server on a data directory (flags > MUJUN_* env > --config file).

On a new store it creates the admin token, prints it once and keeps it in ``<data-dir>/admin.token``
(mode 0600) for the CLI on this machine. A store that is damaged or served by another process (SQLite)
is refused with exit code 2 and a message saying what to do.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from pathlib import Path

import typer

from mujun.cli._common import EXIT_UNUSABLE, err_console
from mujun.errors import MujunError

__all__ = ["register"]


class _JsonLogs(logging.Formatter):
    """One JSON object per line with the call's fields at the top level: easy to ship to any log store."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = dt.datetime.fromtimestamp(record.created, tz=dt.timezone.utc).isoformat(timespec="milliseconds")
        entry = {"ts": stamp, "level": record.levelname, "logger": record.name, "msg": record.getMessage(),
                 **getattr(record, "fields", {})}
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)


def serve(
    data_dir: str | None = typer.Option(None, "--data-dir", help="Store directory (SQLite) [default: data]"),
    port: int | None = typer.Option(None, "--port", help="gRPC port; 0 picks a free one [default: 50051]"),
    host: str | None = typer.Option(None, "--host", help="Bind address [default: 127.0.0.1]; others need TLS"),
    config: Path | None = typer.Option(None, "--config", envvar="MUJUN_CONFIG", help="TOML or JSON settings file"),
    database_url: str | None = typer.Option(None, "--database-url", help="SQLAlchemy URL instead of --data-dir"),
    tls_cert: str | None = typer.Option(None, "--tls-cert", help="PEM certificate chain"),
    tls_key: str | None = typer.Option(None, "--tls-key", help="PEM private key"),
    plaintext_behind_proxy: bool | None = typer.Option(
        None, "--plaintext-behind-proxy", help="Bind beyond loopback without TLS because a proxy or mesh in front "
                                               "terminates it (tokens stay required)"),
    metrics_port: int | None = typer.Option(None, "--metrics-port", help="Prometheus /metrics port (-1 off)"),
    _require_tokens: bool = typer.Option(False, "--require-tokens", hidden=True,
                                         help="Accepted so older scripts still start; tokens are always required"),
    log_level: str = typer.Option("INFO", "--log-level", envvar="MUJUN_LOG_LEVEL"),
) -> None:
    """Serve mujun.v1.RuleEngine, Packs and Cycles until SIGTERM/SIGINT (then drain in-flight calls)."""
    from mujun.server.app import serve as run
    from mujun.server.auth import ensure_admin_token
    from mujun.server.config import load_config, mask_url

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_JsonLogs())
    logging.basicConfig(level=log_level.upper(), handlers=[handler])
    try:
        settings = load_config(config, data_dir=data_dir, port=port, host=host, database_url=database_url,
                               tls_cert=tls_cert, tls_key=tls_key, metrics_port=metrics_port,
                               plaintext_behind_proxy=plaintext_behind_proxy)
    except MujunError as exc:
        _refuse(exc)

    def ready(server, bound: int) -> None:  # noqa: ANN001 - MujunServer
        created = ensure_admin_token(server.db, settings.data_dir)
        if created:
            path, secret = created
            print(f"new store: admin token {secret}\n  (shown once; kept in {path}, mode 0600, where the mujun CLI "
                  "on this machine finds it)", flush=True)
        where = f"{settings.host}:{bound}"
        metrics = f", metrics on http://{settings.host}:{server.metrics_port}/metrics" if server.metrics_port else ""
        store = mask_url(settings.database_url) or settings.data_dir
        print(f"mujun serving on {where} (store {store}{metrics})", flush=True)
        print(f"  mujun cycle run --server {where} --region CODE --year 2024 --input FILE", flush=True)
        print(f"  mujun cycle show --server {where} --region CODE --year 2024", flush=True)
        print(f"  grpcurl -plaintext {where} list        (reflection; other calls need "
              f"-H \"authorization: Bearer $(cat {Path(settings.data_dir) / 'admin.token'})\")", flush=True)

    try:
        run(settings, on_ready=ready)
    except MujunError as exc:  # the store cannot be opened, …: one line, no traceback
        _refuse(exc)


def _refuse(error: MujunError) -> None:
    err_console.print(f"[bold red]error[/] [{error.code}] {error}", highlight=False, soft_wrap=True)
    raise SystemExit(EXIT_UNUSABLE) from None
