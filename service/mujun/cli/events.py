"""``mujun event post | list`` and ``mujun watch``: in-year events on a server and the stream of decision changes."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer

from mujun.cli._common import EXIT_RECORD_ERRORS, JsonOption, Typer, err_console, print_listing
from mujun.cli.remote import (LimitOption, ServerOption, TlsCaOption, TokenOption, connect, handle_remote_errors,
                              message_dict, paged)
from mujun.errors import InputError

__all__ = ["register"]

event_app = Typer(no_args_is_help=True, help="In-year events of enterprises on a server: post, list")


def register(app: typer.Typer) -> None:
    app.add_typer(event_app, name="event")
    app.command("watch")(watch)


def _read_rows(path: Path) -> list[dict[str, Any]]:
    """Rows of a .csv (every cell as text: the pack types the fields) or .jsonl file."""
    if path.suffix.lower() == ".jsonl":
        try:
            rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        except (OSError, json.JSONDecodeError) as exc:
            raise InputError(f"cannot read events: {exc}", location=str(path)) from exc
        if any(not isinstance(r, dict) for r in rows):
            raise InputError("every line of an events .jsonl file must be a JSON object", location=str(path))
        return rows
    if path.suffix.lower() == ".csv":
        import polars as pl

        try:
            frame = pl.read_csv(path, infer_schema=False)
        except (OSError, pl.exceptions.PolarsError) as exc:
            raise InputError(f"cannot read events: {exc}", location=str(path)) from exc
        return [{k: v for k, v in row.items() if v not in (None, "")} for row in frame.to_dicts()]
    raise InputError("events are read from a .csv or .jsonl file", location=str(path))


def _fields(values: list[str] | None) -> dict[str, str]:
    fields = {}
    for value in values or []:
        name, sep, text = value.partition("=")
        if not sep or not name.strip():
            raise InputError(f"--field {value!r}: write NAME=VALUE, e.g. --field severity=major", location="--field")
        fields[name.strip()] = text.strip()
    return fields


@event_app.command("post")
@handle_remote_errors
def post(region: str = typer.Option(..., "--region", help="County code"),
         year: int = typer.Option(..., "--year", help="The cycle's year"),
         enterprise: str = typer.Option("", "--enterprise", help="Enterprise id (one event)"),
         type_: str = typer.Option("", "--type", help="Event type of the pack (env_penalty, safety_accident, …)"),
         date: str = typer.Option("", "--date", help="Event date YYYY-MM-DD"),
         field: list[str] | None = typer.Option(None, "--field", help="A field of the event, NAME=VALUE (repeatable)"),
         event_id: str = typer.Option("", "--event-id", help="The reporting system's id [default: the content's hash]"),
         file: Path | None = typer.Option(None, "--file", help="Many events: a .csv or .jsonl file"),
         source: str = typer.Option("", "--source", help="Who reports [default: the token's name]"),
         server: str = ServerOption, token: str | None = TokenOption, tls_ca: Path | None = TlsCaOption,
         as_json: bool = JsonOption) -> None:
    """Post one event (--enterprise --type --date) or a file of them; prints each event's outcome. Exit 3 when
    any was rejected (the others are applied)."""
    try:
        if file is not None:
            rows = _read_rows(file)
        elif enterprise and type_ and date:
            rows = [{"event_id": event_id, "enterprise_id": enterprise, "type": type_, "date": date,
                     "fields": _fields(field)}]
        else:
            raise InputError("give --enterprise, --type and --date for one event, or --file for many", location="--file")
    except InputError as exc:
        err_console.print(f"[bold red]error[/] {exc}", highlight=False)
        raise typer.Exit(2) from None
    with connect(server, token, tls_ca) as client:
        response = client.post_events(region, year, rows, source=source)
    if as_json:
        print(json.dumps(message_dict(response), ensure_ascii=False))
    else:
        for outcome in response.outcomes:
            if outcome.status == "rejected":
                err_console.print(f"event {outcome.index + 1} {outcome.event_id}: [bold red]rejected[/]", highlight=False)
                for violation in outcome.violations:
                    err_console.print(f"  - {violation.field}: {violation.description}", highlight=False)
            else:
                cursor = f", cursor {outcome.cursor}" if outcome.cursor else ""
                print(f"{outcome.event_id}: {outcome.status} (decision v{outcome.version}, tier {outcome.tier}{cursor})")
    if response.rejected:
        raise typer.Exit(EXIT_RECORD_ERRORS)


@event_app.command("list")
@handle_remote_errors
def list_command(region: str = typer.Option("", "--region", show_default=False, help="County code [default: every region the token may see]"),
                 year: int = typer.Option(0, "--year", show_default=False, help="The cycle's year [default: every year]"),
                 enterprise: str = typer.Option("", "--enterprise", help="Only this enterprise"),
                 type_: str = typer.Option("", "--type", help="Only this event type"),
                 date_from: str = typer.Option("", "--from", help="Events dated on or after (YYYY-MM-DD)"),
                 date_to: str = typer.Option("", "--to", help="Events dated on or before (YYYY-MM-DD)"),
                 limit: int = LimitOption, server: str = ServerOption, token: str | None = TokenOption,
                 tls_ca: Path | None = TlsCaOption, as_json: bool = JsonOption) -> None:
    """Stored events, in the order they were received."""
    with connect(server, token, tls_ca) as client:
        events, more = paged(client.list_events, "events", limit, region=region, year=year, enterprise_id=enterprise,
                             type=type_, date_from=date_from, date_to=date_to)
    rows = [message_dict(e) for e in events]
    print_listing(as_json, {"events": rows}, [("events", f"events on {server}", [
        "region", "year", "enterprise_id", "type", "date", "event_id", "source", "received_at"])])
    if more:
        err_console.print(f"more events: raise --limit (0 lists every one)", highlight=False)


def watch(region: str = typer.Option("", "--region", show_default=False, help="County code [default: every region the token may see]"),
          from_cursor: int | None = typer.Option(None, "--from", help="Resume after this cursor (0: the oldest retained) [default: from now on]"),
          tier: list[str] | None = typer.Option(None, "--tier", help="Only changes from or to this tier (repeatable)"),
          measure: list[str] | None = typer.Option(None, "--measure", help="Only changes that move this measure (repeatable)"),
          server: str = ServerOption, token: str | None = TokenOption, tls_ca: Path | None = TlsCaOption) -> None:
    """Print every decision change as one JSON object per line (with its cursor) until interrupted;
    reconnects by itself after the server goes away, from the last cursor printed."""
    _watch(region, from_cursor, tier, measure, server, token, tls_ca)


@handle_remote_errors
def _watch(region: str, from_cursor: int | None, tier: list[str] | None, measure: list[str] | None, server: str,
           token: str | None, tls_ca: Path | None) -> None:
    with connect(server, token, tls_ca) as client:
        stream = client.watch_decisions(region, from_cursor=from_cursor, tiers=tuple(tier or ()),
                                        measures=tuple(measure or ()))
        try:
            for change in stream:
                line = {"cursor": change.cursor, "region": change.region, "year": change.year,
                        "enterprise_id": change.enterprise_id, "version": change.version,
                        "tier_before": change.tier_before or None, "tier_after": change.tier_after or None,
                        "measures_changed": {m.name: [json.loads(m.before), json.loads(m.after)]
                                             for m in change.measures_changed},
                        "cause": json.loads(change.cause_json or "{}"), "at": change.at}
                sys.stdout.write(json.dumps(line, ensure_ascii=False) + "\n")
                sys.stdout.flush()
        except KeyboardInterrupt:
            pass
        finally:
            stream.close()
