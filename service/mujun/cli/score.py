"""``mujun score`` and ``mujun explain``: evaluate a file with a pack; explain one decision."""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from pathlib import Path

import polars as pl
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from mujun.cli._common import (EXIT_RECORD_ERRORS, PackOption, SetOption, console, err_console, handle_errors, shown,
                               pack_with_sets)
from mujun.engine.explain import LANGUAGES, format_trace
from mujun.engine.intake import Source
from mujun.engine.notice import render_notices
from mujun.engine.result import basis_notes, error_groups, status_counts, tier_summary
from mujun.errors import InputError
from mujun.io import STDIO, read_source, read_table, write_table
from mujun.pack import Pack

__all__ = ["register", "report_run", "summary_table", "rounded"]


def register(app: typer.Typer) -> None:
    app.command("score")(score)
    app.command("explain")(explain)


def _read_optional(path: Path | None, columns: frozenset[str] | None = None) -> pl.DataFrame | None:
    return None if path is None else read_table(path, columns)


def _read_inputs(paths: list[str], pack: Pack, given_format: str | None) -> list[Source]:
    """Each --input as a named source (its file name), every header kept for the run summary."""
    sources = [read_source(p, pack.input_headers, format=given_format if p == STDIO else None) for p in paths]
    names = [s.name for s in sources]
    if len(set(names)) != len(names):  # same file name in two folders: name them by path instead
        sources = [Source(p, s.frame, s.columns) for p, s in zip(paths, sources)]
    return sources


InputOption = typer.Option(..., "--input", "-i", help="Enterprises: .csv .parquet .jsonl .xlsx .xls, or - for stdin; "
                                                  "repeat for several bureaus' files, joined on enterprise_id")
InputFormatOption = typer.Option(None, "--input-format", help="Format of - (stdin): csv, parquet, jsonl, xlsx, xls")
PreferOption = typer.Option(None, "--prefer", help="Where two inputs differ, this file's value wins (repeatable: "
                                                   "first wins); otherwise a difference is a record error")


def _prefer(values: list[str] | None) -> tuple[str, ...]:
    return tuple(Path(v).name if v != STDIO else "stdin" for v in values or [])


EventsOption = typer.Option(None, "--events", help="In-year events (.csv or .jsonl: event_id, enterprise_id, "
                            "type, date, fields) applied by the pack's event rules")
AsOfOption = typer.Option(None, "--as-of", help="With --events: the decision in force on this date "
                          "(YYYY-MM-DD) [default: today]")


def _with_events(rule_pack: Pack, result, path: Path, as_of: str | None, cycle: int | None):  # noqa: ANN001, ANN202
    """The result table after the events in force on --as-of (see mujun.events.offline)."""
    from mujun.events import read_events  # durable_rules is loaded only for a run with events
    from mujun.events.offline import EFFECTS, apply_events

    if rule_pack.model.events is None:
        raise InputError(f"pack {rule_pack.id} has no 'events' section", location="--events")
    try:
        day = dt.date.today() if as_of is None else dt.date.fromisoformat(as_of)
    except ValueError as exc:
        raise InputError(f"--as-of must be a date YYYY-MM-DD, got {as_of!r}") from exc
    table, changed = apply_events(rule_pack.plan, result, read_events(path, rule_pack.model.events), day,
                                  cycle=cycle, pack_hash=rule_pack.hash)
    return table, (f"events on {day}: {len(changed)} firm(s) with event effects; see the '{EFFECTS}' column", changed)


def _explain_events(rule_pack: Pack, result, traces: list[dict], path: Path, as_of: str | None,  # noqa: ANN001
                    cycle: int | None) -> list[dict]:
    """Each firm's trace with what its events did (which event, rule, effect, until when) appended."""
    from mujun.events import read_events
    from mujun.events.explain import explain_effective

    if rule_pack.model.events is None:
        raise InputError(f"pack {rule_pack.id} has no 'events' section", location="--events")
    stored = read_events(path, rule_pack.model.events)
    _table, changed = _with_events(rule_pack, result, path, as_of, cycle)
    by_firm = {d.enterprise: d for d in changed[1]}
    out = []
    for trace in traces:
        decision = by_firm.get(trace.get("enterprise_id"))
        if decision is not None:
            facts = explain_effective(rule_pack.model, decision, stored)
            trace = {**trace, "events": facts, "lines": [*trace["lines"], *facts["lines"]]}
        out.append(trace)
    return out


@handle_errors
def score(
    pack: str = PackOption,
    input: list[str] = InputOption,
    output: str = typer.Option(..., "--output", "-o", help="Result file (format by extension), or - for stdout"),
    input_format: str | None = InputFormatOption,
    output_format: str | None = typer.Option(None, "--output-format", help="Format of - (stdout): csv, parquet, jsonl"),
    prefer: list[str] | None = PreferOption,
    prior: Path | None = typer.Option(None, "--prior", help="Prior-year enterprises, for benchmarks"),
    history: Path | None = typer.Option(None, "--history", help="Earlier tiers: enterprise_id, cycle, tier"),
    cycle: int | None = typer.Option(None, "--cycle", help="This cycle (year), for tier streaks"),
    sets: list[str] | None = SetOption,
    round_scores: bool = typer.Option(False, "--round", help="Round score and points in the written list to the "
                                                             "pack's score_round (else 2 decimals); display only"),
    strict: bool = typer.Option(False, "--strict", help="Exit 3 when any record has status error or a column "
                                                        "looks like a field that was not read"),
    server: str | None = typer.Option(None, "--server", envvar="MUJUN_SERVER",
                                      help="Score on this mujun server (HOST:PORT) [default: locally]"),
    token: str | None = typer.Option(None, "--token", envvar="MUJUN_TOKEN", help="API token for --server "
                                     "[default: $MUJUN_DATA_DIR/admin.token or data/admin.token]"),
    tls_ca: Path | None = typer.Option(None, "--tls-ca", envvar="MUJUN_TLS_CA",
                                       help="CA bundle (PEM) to verify a TLS --server [default: plaintext]"),
    parks_output: str | None = typer.Option(None, "--parks-output", help="Park table of a pack with a parks "
                                            "section (default: beside the output, <stem>.parks.<ext>)"),
    events: Path | None = EventsOption,
    as_of: str | None = AsOfOption,
) -> None:
    """Score every enterprise of INPUT (one file, or several bureaus' files) with a pack and write the result.

    A pack with a ``parks`` section also writes one row per park (to --parks-output, else beside the
    output as <stem>.parks.<ext>; with -o - it needs --parks-output) and prints each park's decision."""
    if server:
        from mujun.cli.remote import score_on_server

        if len(input) != 1 or input[0] == STDIO or output == STDIO:
            raise InputError("--server takes one --input file and an --output file (join several files locally)")
        return score_on_server(server, token, pack, Path(input[0]), Path(output), prior, history, sets, strict, cycle,
                               tls_ca)
    out = console if output != STDIO else err_console  # the table itself goes to stdout
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
        # only the columns the pack reads reach memory (Parquet); every header is kept for the summary
        sources = step("reading input", "read", lambda: _read_inputs(input, rule_pack, input_format))
        data = sources[0] if len(sources) == 1 else sources
        prior_data = step("reading prior year", "read_prior", lambda: _read_optional(prior, rule_pack.input_headers))
        history_data = step("reading history", "read_history", lambda: _read_optional(history))
        result = step("evaluating", "evaluate", lambda: rule_pack.evaluate(
            data, prior=prior_data, history=history_data, cycle=cycle, prefer=_prefer(prefer)))
        table, rounding = result.table, None
        if events is not None:
            table, (events_note, _changed) = _with_events(rule_pack, result, events, as_of, cycle)
        if round_scores:
            table, rounding = rounded(table, rule_pack)
        step(f"writing {output}", "write", lambda: write_table(table, output, format=output_format))
        parks_path = _parks_path(output, parks_output, result.parks)
        if parks_path is not None:
            step(f"writing {parks_path}", "write_parks", lambda: write_table(result.parks, parks_path))
    notes = [*result.notes, *([rounding] if rounding else [])]
    if events is not None:
        notes.append(events_note)
    if parks_path is not None:
        out.print(parks_table(result.parks, parks_path))
    report_run(result.table, rule_pack.id, rule_pack.hash, f"{result.table.height:,} records → {output}",
               f"; evaluate {timings['evaluate']:.2f} s, read {timings['read']:.2f} s, write {timings['write']:.2f} s",
               strict=strict, notes=notes, warnings=result.warnings, out=out)


def _parks_path(output: str, given: str | None, parks: pl.DataFrame | None) -> str | None:
    """Where the park table goes: --parks-output, else <stem>.parks.<ext> beside the output."""
    if parks is None:
        if given is not None:
            raise InputError("--parks-output: this pack has no parks section")
        return None
    if given is not None:
        return given
    if output == STDIO:
        raise InputError("this pack evaluates parks: with --output - give --parks-output FILE for the park table")
    path = Path(output)
    return str(path.with_name(f"{path.stem}.parks{path.suffix}"))


def parks_table(parks: pl.DataFrame, path: str) -> Table:
    """One line per park: firms, top industry, decision and what failed."""
    table = Table(title=f"parks — {parks.height:,} → {path}")
    for column in ("park", "firms", "top industry", "decision", "failed"):
        table.add_column(column, justify="right" if column == "firms" else "left")
    for row in parks.iter_rows(named=True):
        cells = [row.get(c) for c in ("top_industry", "decision", "failed")]
        table.add_row(shown(row["park"]), f"{row['firms']:,}", *("—" if c is None else shown(c) for c in cells))
    return table


def rounded(table: pl.DataFrame, pack: Pack) -> tuple[pl.DataFrame, str]:
    """The published list with score and points rounded for display; decisions were taken before."""
    tiers = pack.model.tiers
    digits = tiers.score_round if tiers is not None and tiers.score_round is not None else 2
    points = [c for c in table.columns if c == "score" or c.startswith(("item.", "adjust."))]
    shown = table.with_columns(pl.col(c).round(digits, mode="half_away_from_zero") for c in points
                               if table.schema[c].is_float())
    return shown, (f"--round: score and points written with {digits} decimal(s) (display only; tiers and ranks "
                   "were decided on the unrounded values)")


def report_run(table: pl.DataFrame, pack_id: str, pack_hash: str, head: str, tail: str, *, strict: bool,
               notes: list[str] | None = None, warnings: list[str] | None = None, out: Console | None = None) -> None:
    """What `mujun score` prints after a run, local or on a server.

    Exit 3 when no record could be scored at all, and under --strict when a record failed or a
    warning was raised (a column that looks like a field the pack reads but was not read).
    """
    out = out or console
    out.print(summary_table(table, pack_id, pack_hash))
    for note in basis_notes(table) if notes is None else notes:
        out.print(f"[dim]{escape(note)}[/]", highlight=False, soft_wrap=True)  # one line each: easy to grep
    for warning in warnings or []:
        err_console.print(f"[yellow]warning[/] {escape(warning)}", highlight=False, soft_wrap=True)
    counts = status_counts(table)
    out.print(f"{head}  (ok {counts.get('ok', 0):,}, unrated {counts.get('unrated', 0):,}, "
              f"error {counts.get('error', 0):,}){tail}", highlight=False)
    if table.height and counts.get("error", 0) == table.height:
        groups = error_groups(table)
        err_console.print(f"no record could be scored: all {table.height:,} failed — " + "; ".join(groups[:3]),
                          highlight=False, soft_wrap=True)
        sys.exit(EXIT_RECORD_ERRORS)
    if strict and counts.get("error", 0):
        err_console.print(f"--strict: {counts['error']:,} record(s) failed; see the 'error' column")
        sys.exit(EXIT_RECORD_ERRORS)
    if strict and warnings:
        err_console.print(f"--strict: {len(warnings)} warning(s) about the input columns")
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
        table.add_row(shown(row["group"]), *(f"{v:,}" for v in values), f"{sum(values):,}")
    totals = [int(summary.filter(pl.col("tier") == t)["count"].sum()) for t in tiers]
    table.add_row("[bold]all[/]", *(f"[bold]{v:,}[/]" for v in totals), f"[bold]{sum(totals):,}[/]")
    return table


@handle_errors
def explain(
    pack: str = PackOption,
    input: list[str] = InputOption,
    enterprise_id: str | None = typer.Option(None, "--id", help="The enterprise to explain"),
    park: str | None = typer.Option(None, "--park", help="Explain this park (a pack with a parks section)"),
    group: str | None = typer.Option(None, "--group", help="Explain every firm of this tier group (e.g. a county code)"),
    input_format: str | None = InputFormatOption,
    prefer: list[str] | None = PreferOption,
    prior: Path | None = typer.Option(None, "--prior"),
    history: Path | None = typer.Option(None, "--history"),
    cycle: int | None = typer.Option(None, "--cycle"),
    sets: list[str] | None = SetOption,
    lang: str | None = typer.Option(None, "--lang", help="zh or en (default: the pack's language)"),
    format: str = typer.Option("text", "--format", help="text, json or html (a printable 评价结果告知书)"),
    as_json: bool = typer.Option(False, "--json", help="Same as --format json"),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write to this file instead of the terminal"),
    events: Path | None = EventsOption,
    as_of: str | None = AsOfOption,
) -> None:
    """Explain decisions: inputs (with their file and unit), indicators, benchmarks, items, tier, measures and the document cited.

    --park P explains one park instead: the firms it was built from, its totals, the city's, its indicators and checks."""
    if sum(x is not None for x in (enterprise_id, group, park)) != 1:
        raise InputError("give one of --id (one enterprise), --group (every firm of a group) or --park (one park)")
    if park is not None and (format == "html" and not as_json):
        raise InputError("--park explains as text or json (the printable notice is per firm)")
    if lang is not None and lang not in LANGUAGES:
        raise InputError(f"--lang must be one of {', '.join(LANGUAGES)}, got {lang!r}")
    kind = "json" if as_json else format
    if kind not in ("text", "json", "html"):
        raise InputError(f"--format must be text, json or html, got {format!r}")
    rule_pack = pack_with_sets(pack, sets)
    headers = rule_pack.input_headers
    sources = _read_inputs(input, rule_pack, input_format)
    result = rule_pack.evaluate(sources[0] if len(sources) == 1 else sources, prior=_read_optional(prior, headers),
                                history=_read_optional(history), cycle=cycle, prefer=_prefer(prefer))
    if park is not None:
        traces = [result.explain_park(park, lang)]
    else:
        traces = [result.explain(enterprise_id, lang)] if enterprise_id is not None else result.explain_group(group, lang)
    if events is not None:
        traces = _explain_events(rule_pack, result, traces, events, as_of, cycle)
    if kind == "html":
        text = render_notices(traces)
    elif kind == "json":
        text = json.dumps(traces if group is not None else traces[0], ensure_ascii=False, default=str, indent=2)
    else:
        text = "\n\n".join(format_trace(t) for t in traces)
    if output is not None:
        output.write_text(text, encoding="utf-8")
        err_console.print(f"wrote {output}")
    else:
        console.print(text, highlight=False, markup=False, soft_wrap=True)
