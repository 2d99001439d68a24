"""``mujun cycle list | run | freeze | publish | appeal | show | export``: a county's annual cycle on a server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import typer
from rich.table import Table

from mujun.cli._common import (JsonOption, Typer, console, err_console, handle_errors, json_text, parse_sets,
                               print_listing)
from mujun.cli.remote import (LimitOption, ServerOption, TlsCaOption, TokenOption, connect, handle_remote_errors,
                              message_dict, paged)
from mujun.errors import InputError
from mujun.io import read_table, write_table, written_in_place
from mujun_wire.records import NUMBER_FIELDS

__all__ = ["register"]

cycle_app = Typer(no_args_is_help=True,
                  help="Evaluation cycles on a server: list, run, freeze, publish, appeal, show, export")

RegionOption = typer.Option(..., "--region", help="County code")
YearOption = typer.Option(..., "--year", help="Evaluation year")


def register(app: typer.Typer) -> None:
    app.add_typer(cycle_app, name="cycle")


def export_parquet(client, region: str, year: int, output: Path, **options) -> Any:  # noqa: ANN001 - Client
    """The export streamed into a Parquet file beside ``output``, renamed once whole (never a half file)."""
    with written_in_place(output) as temporary:
        _path, summary = client.export_decisions(region, year, output=temporary, **options)
    return summary


def _print_cycle(cycle) -> None:  # noqa: ANN001 - mujun.v1.Cycle
    console.print(f"cycle {cycle.region}/{cycle.year}: [bold]{cycle.state}[/], run {cycle.run_number}, "
                  f"{cycle.enterprises:,} enterprises, pack {cycle.pack_id} {cycle.pack_version} ({cycle.pack_hash[:12]})")
    if cycle.tiers:
        table = Table("group", "tier", "count")
        for count in cycle.tiers:
            table.add_row(count.group, count.tier, f"{count.count:,}")
        console.print(table)
    for line in (*cycle.notes, *(f"warning: {w}" for w in cycle.warnings)):
        err_console.print(line, highlight=False, markup=False, soft_wrap=True)


@cycle_app.command("list")
@handle_remote_errors
def list_command(region: str = typer.Option("", "--region", show_default=False,
                                            help="County code [default: every region the token may see]"),
                 year: int = typer.Option(0, "--year", show_default=False, help="Evaluation year [default: every year]"),
                 limit: int = LimitOption, server: str = ServerOption, token: str | None = TokenOption,
                 tls_ca: Path | None = TlsCaOption, as_json: bool = JsonOption) -> None:
    """The cycles of the regions the token may see, in the order they were started: state, run, pack, size."""
    with connect(server, token, tls_ca) as client:
        cycles, more = paged(client.list_cycles, "cycles", limit, region=region, year=year)
    rows = [message_dict(c) for c in cycles]
    print_listing(as_json, {"cycles": rows}, [("cycles", f"cycles on {server}", [
        "region", "year", "state", "run_number", "enterprises", "pack_id", "pack_version", "updated_at"])])
    _say_more(more, "cycles")


def _say_more(more: bool, what: str) -> None:
    """A cut listing says so (on stderr, so ``--json`` stays one document)."""
    if more:
        err_console.print(f"[dim]more {what} on the server: --limit N shows N, --limit 0 every one[/]",
                          highlight=False)


@cycle_app.command("run")
@handle_remote_errors
def run(region: str = RegionOption, year: int = YearOption,
        input: list[Path] = typer.Option(..., "--input", "-i", help="The county's enterprises (.csv .parquet .jsonl "
                                         ".xlsx .xls); repeat for several bureaus' files, joined on the server on "
                                         "the enterprise id"),
        prefer: list[str] | None = typer.Option(None, "--prefer", help="Where two input files differ, this file's "
                                                "value wins (repeatable: first wins) [default: a differing value is "
                                                "that record's error]"),
        prior: Path | None = typer.Option(None, "--prior", help="Prior-year enterprises"),
        history: Path | None = typer.Option(None, "--history", help="Earlier tiers: enterprise_id, cycle, tier"),
        as_of: str = typer.Option("", "--as-of", help="Date picking the active pack [default: Dec 31 of the year]"),
        server: str = ServerOption, token: str | None = TokenOption, tls_ca: Path | None = TlsCaOption) -> None:
    """Score the cycle's data with the pack active for the region (a draft may be run again)."""
    names = [path.name for path in input]
    if len(set(names)) != len(names):
        raise typer.BadParameter("each --input file needs its own file name: the name says where a value came from")
    data = read_table(input[0]) if len(input) == 1 else {path.name: read_table(path) for path in input}
    with connect(server, token, tls_ca) as client:
        cycle = client.run_cycle(region, year, data, prior=read_table(prior) if prior else None,
                                 history=read_table(history) if history else None, as_of=as_of,
                                 prefer=[Path(name).name for name in prefer or []])
    _print_cycle(cycle)


@cycle_app.command("freeze")
@handle_remote_errors
def freeze(region: str = RegionOption, year: int = YearOption, server: str = ServerOption,
           token: str | None = TokenOption, tls_ca: Path | None = TlsCaOption) -> None:
    """Fix the list for public notice (公示); after this, changes are appeals."""
    with connect(server, token, tls_ca) as client:
        _print_cycle(client.freeze_cycle(region, year))


@cycle_app.command("publish")
@handle_remote_errors
def publish(region: str = RegionOption, year: int = YearOption, server: str = ServerOption,
            token: str | None = TokenOption, tls_ca: Path | None = TlsCaOption) -> None:
    """Publish a frozen cycle as the final list."""
    with connect(server, token, tls_ca) as client:
        _print_cycle(client.publish_cycle(region, year))


@cycle_app.command("appeal")
@handle_remote_errors
@handle_errors
def appeal(region: str = RegionOption, year: int = YearOption,
           enterprise_id: str = typer.Option(..., "--id", help="Enterprise id"),
           sets: list[str] = typer.Option(..., "--set", help="Corrected input: field=value (repeatable)"),
           reason: str = typer.Option(..., "--reason", help="Grounds of the appeal (复核), recorded with the version"),
           server: str = ServerOption, token: str | None = TokenOption, tls_ca: Path | None = TlsCaOption) -> None:
    """Re-score one enterprise with corrected input; recorded as a new version of its decision.

    Values go as written: the server types them by the cycle's pack (``industry=13`` stays the code 13).
    """
    correction: dict[str, object] = dict(parse_sets(sets))
    for name in NUMBER_FIELDS:  # a number field of mujun.v1.Record carries a number, so these are read here
        if name in correction:
            try:
                correction[name] = float(str(correction[name]).replace(",", ""))
            except ValueError:
                raise InputError(f"--set {name}={correction[name]}: {name} is a number", location=name) from None
    with connect(server, token, tls_ca) as client:
        decision = client.appeal(region, year, enterprise_id, correction, reason)
    result = decision.result
    console.print(f"{result.enterprise_id}: version {decision.version}, tier {result.tier or '—'}, "
                  f"score {result.score:.4g} ({result.status})")


@cycle_app.command("show")
@handle_remote_errors
def show(region: str = RegionOption, year: int = YearOption,
         enterprise_id: str | None = typer.Option(None, "--id", help="Show one enterprise's decision and its versions"),
         tier: str = typer.Option("", "--tier", show_default=False, help="Only decisions of this tier [default: all]"),
         group: str = typer.Option("", "--group", show_default=False, help="Only this group [default: all]"),
         limit: int = LimitOption, server: str = ServerOption, token: str | None = TokenOption,
         tls_ca: Path | None = TlsCaOption, as_json: bool = JsonOption) -> None:
    """A cycle's state and tier counts, its decisions (in enterprise-id order), or one enterprise's decision."""
    with connect(server, token, tls_ca) as client:
        if enterprise_id:
            decision = client.get_decision(region, year, enterprise_id, with_history=True, with_trace=True)
            typer.echo(json_text(message_dict(decision)))
            return
        cycle = client.get_cycle(region, year)
        decisions, more = paged(lambda **page: client.list_decisions(region, year, **page), "decisions", limit,
                                tier=tier, group=group)
    if as_json:
        typer.echo(json_text({"cycle": message_dict(cycle), "decisions": [message_dict(d) for d in decisions]}))
    else:
        _print_cycle(cycle)
        table = Table("enterprise_id", "status", "score", "tier", "rank", "group", "version")
        for decision in decisions:
            r = decision.result
            table.add_row(r.enterprise_id, r.status, f"{r.score:.4g}" if r.HasField("score") else "",
                          r.tier, str(r.rank) if r.HasField("rank") else "", r.group, str(decision.version))
        console.print(table)
    _say_more(more, "decisions")


@cycle_app.command("export")
@handle_remote_errors
def export(region: str = RegionOption, year: int = YearOption,
           output: Path = typer.Option(..., "--output", "-o", help="File to write (.parquet streams as it arrives; "
                                       ".csv .jsonl .xlsx also work)"),
           columns: list[str] | None = typer.Option(None, "--column", "-c", help="Only this column (a name or a "
                                                    "pattern such as 'indicator.*'; repeatable) [default: all]"),
           compression: str = typer.Option("auto", "--compression", help="On the wire: lz4, zstd, none, or auto "
                                           "(none to a server on this machine, lz4 across a network)"),
           server: str = ServerOption, token: str | None = TokenOption, tls_ca: Path | None = TlsCaOption) -> None:
    """Every current decision of a cycle (a published list of any size) to one file, in one call."""
    if compression.lower() not in ("auto", "lz4", "zstd", "none"):
        raise typer.BadParameter(f"{compression!r}: give auto, lz4, zstd or none", param_hint="--compression")
    with connect(server, token, tls_ca) as client:
        if output.suffix.lower() == ".parquet":
            summary = export_parquet(client, region, year, output, columns=columns, compression=compression)
        else:
            table, summary = client.export_decisions(region, year, columns=columns, compression=compression)
            write_table(pl.from_arrow(table), output)
    err_console.print(f"{summary.rows:,} decisions of cycle {region}/{year} ({summary.cycle_state}, run "
                      f"{summary.run_number}, pack {summary.pack_id} {summary.pack_version}) → {output}",
                      highlight=False)
