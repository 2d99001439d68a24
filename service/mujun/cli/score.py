"""``mujun score`` and ``mujun explain``: evaluate a file with a pack; explain one decision."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import polars as pl
import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from mujun.cli._common import (EXIT_RECORD_ERRORS, PackOption, SetOption, console, err_console, handle_errors,
                               pack_with_sets)
from mujun.engine.explain import LANGUAGES, format_trace
from mujun.engine.notice import render_notices
from mujun.engine.result import basis_notes, status_counts, tier_summary
from mujun.errors import InputError
from mujun.io import read_table, write_table

__all__ = ["register", "report_run", "summary_table"]


def register(app: typer.Typer) -> None:
    app.command("score")(score)
    app.command("explain")(explain)


def _read_optional(path: Path | None, columns: frozenset[str] | None = None) -> pl.DataFrame | None:
    return None if path is None else read_table(path, columns)


@handle_errors
def score(
    pack: str = PackOption,
    input: Path = typer.Option(..., "--input", "-i", help="Enterprises: .csv .parquet .jsonl .xlsx"),
    output: Path = typer.Option(..., "--output", "-o", help="Result file; format by extension"),
    prior: Path | None = typer.Option(None, "--prior", help="Prior-year enterprises, for benchmarks"),
    history: Path | None = typer.Option(None, "--history", help="Earlier tiers: enterprise_id, cycle, tier"),
    cycle: int | None = typer.Option(None, "--cycle", help="This cycle (year), for tier streaks"),
    sets: list[str] | None = SetOption,
    strict: bool = typer.Option(False, "--strict", help="Exit 3 when any record has status error"),
    server: str | None = typer.Option(None, "--server", help="Score on a mujun server (HOST:PORT) instead"),
    token: str | None = typer.Option(None, "--token", envvar="MUJUN_TOKEN", help="API token for --server"),
) -> None:
    """Score every enterprise of INPUT with a pack and write the result table."""
    if server:
        from mujun.cli.remote import score_on_server

        return score_on_server(server, token, pack, input, output, prior, history, sets, strict, cycle)
    timings: dict[str, float] = {}
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                  console=err_console, transient=True, disable=not err_console.is_terminal) as progress:
        def step(label: str, key: str, work):  # noqa: ANN001, ANN202 - a tiny local helper
            task = progress.add_task(label, total=None)
            started = time.perf_counter()
            value = work()
            timings[key] = time.perf_counter() - started
            progress.remove_task(task)
            return value

        rule_pack = step("compiling pack", "compile", lambda: pack_with_sets(pack, sets))
        # only the columns the pack reads: a province's extra columns never reach memory
        data = step(f"reading {input.name}", "read", lambda: read_table(input, rule_pack.input_headers))
        prior_data = step("reading prior year", "read_prior", lambda: _read_optional(prior, rule_pack.input_headers))
        history_data = step("reading history", "read_history", lambda: _read_optional(history))
        result = step(f"evaluating {data.height:,} enterprises", "evaluate",
                      lambda: rule_pack.evaluate(data, prior=prior_data, history=history_data, cycle=cycle))
        step(f"writing {output.name}", "write", lambda: write_table(result.table, output))
    report_run(result.table, rule_pack.id, rule_pack.hash, f"{data.height:,} records → {output}",
               f"; evaluate {timings['evaluate']:.2f} s, read {timings['read']:.2f} s, write {timings['write']:.2f} s",
               strict=strict)


def report_run(table: pl.DataFrame, pack_id: str, pack_hash: str, head: str, tail: str, *, strict: bool) -> None:
    """What `mujun score` prints after a run, local or on a server; exit 3 under --strict with errors."""
    console.print(summary_table(table, pack_id, pack_hash))
    for note in basis_notes(table):
        console.print(f"[dim]{note}[/]")
    counts = status_counts(table)
    console.print(f"{head}  (ok {counts.get('ok', 0):,}, unrated {counts.get('unrated', 0):,}, "
                  f"error {counts.get('error', 0):,}){tail}")
    if strict and counts.get("error", 0):
        err_console.print(f"--strict: {counts['error']:,} record(s) failed; see the 'error' column")
        sys.exit(EXIT_RECORD_ERRORS)


def summary_table(table: pl.DataFrame, pack_id: str, pack_hash: str) -> Table:
    """Firms per group (rows) and tier (columns), unrated and error included, with totals."""
    summary = tier_summary(table)
    columns = list(dict.fromkeys(summary["tier"].to_list()))
    tiers = sorted(c for c in columns if c not in ("unrated", "error", "—")) + [
        c for c in ("unrated", "error", "—") if c in columns]
    wide = summary.pivot(on="tier", index="group", values="count").fill_null(0)
    table = Table(title=f"{pack_id} ({pack_hash[:12]}) — firms per group and tier")
    table.add_column("group")
    for tier in tiers:
        table.add_column(tier, justify="right")
    table.add_column("total", justify="right")
    for row in wide.sort("group").iter_rows(named=True):
        values = [int(row.get(t, 0) or 0) for t in tiers]
        table.add_row(str(row["group"]), *(f"{v:,}" for v in values), f"{sum(values):,}")
    totals = [int(summary.filter(pl.col("tier") == t)["count"].sum()) for t in tiers]
    table.add_row("[bold]all[/]", *(f"[bold]{v:,}[/]" for v in totals), f"[bold]{sum(totals):,}[/]")
    return table


@handle_errors
def explain(
    pack: str = PackOption,
    input: Path = typer.Option(..., "--input", "-i"),
    enterprise_id: str | None = typer.Option(None, "--id", help="The enterprise to explain"),
    group: str | None = typer.Option(None, "--group", help="Explain every firm of this tier group (e.g. a county code)"),
    prior: Path | None = typer.Option(None, "--prior"),
    history: Path | None = typer.Option(None, "--history"),
    cycle: int | None = typer.Option(None, "--cycle"),
    sets: list[str] | None = SetOption,
    lang: str | None = typer.Option(None, "--lang", help="zh or en (default: the pack's language)"),
    format: str = typer.Option("text", "--format", help="text, json or html (a printable 评价结果告知书)"),
    as_json: bool = typer.Option(False, "--json", help="Same as --format json"),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write to this file instead of the terminal"),
) -> None:
    """Explain decisions: inputs, indicators, benchmarks, items, tier, measures and the document cited."""
    if (enterprise_id is None) == (group is None):
        raise InputError("give either --id (one enterprise) or --group (every firm of a group)")
    if lang is not None and lang not in LANGUAGES:
        raise InputError(f"--lang must be one of {', '.join(LANGUAGES)}, got {lang!r}")
    kind = "json" if as_json else format
    if kind not in ("text", "json", "html"):
        raise InputError(f"--format must be text, json or html, got {format!r}")
    rule_pack = pack_with_sets(pack, sets)
    headers = rule_pack.input_headers
    result = rule_pack.evaluate(read_table(input, headers), prior=_read_optional(prior, headers),
                                history=_read_optional(history), cycle=cycle)
    traces = [result.explain(enterprise_id, lang)] if enterprise_id is not None else result.explain_group(group, lang)
    if kind == "html":
        text = render_notices(traces)
    elif kind == "json":
        text = json.dumps(traces[0] if enterprise_id is not None else traces, ensure_ascii=False, default=str, indent=2)
    else:
        text = "\n\n".join(format_trace(t) for t in traces)
    if output is not None:
        output.write_text(text, encoding="utf-8")
        err_console.print(f"wrote {output}")
    else:
        console.print(text, highlight=False, markup=False, soft_wrap=True)
