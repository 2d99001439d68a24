"""``mujun simulate``: OLD and NEW (or OLD with ``--set`` overlays) on the same data; report.json, the HTML
report and the headline numbers. Also how OLD and NEW are found: a bundled id, a pack file, or a published
``id@version`` on ``--server`` (shared with ``mujun pack diff``)."""

from __future__ import annotations

import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from mujun.cli._common import SetOption, console, err_console, handle_errors, parse_sets, shown
from mujun.cli.remote import TlsCaOption, TokenOption, connect, handle_remote_errors, server_switch
from mujun.engine.intake import Source
from mujun.errors import InputError
from mujun.io import read_source, read_table
from mujun.pack import Pack, load_pack, load_pack_text
from mujun.packs.load import bundled_parents
from mujun.simulate import Impact, parse_sweep, render_html, simulate
from mujun.simulate.data import file_sha256

__all__ = ["register", "resolve_packs", "print_headline"]


def register(app: typer.Typer) -> None:
    app.command("simulate")(simulate_command)


def _published(client: Any, ref: str) -> Pack:
    """``id@version`` from a server; its ``extends`` names another published pack (else a bundled one)."""
    pack_id, _, version = ref.partition("@")

    def parents(parent: str) -> tuple[str, str]:
        from mujun_client import RemoteError

        try:
            return client.get_pack(parent, "").text, f"{parent} (published)"
        except RemoteError:
            return bundled_parents(parent)

    published = client.get_pack(pack_id, version)
    return load_pack_text(published.text, f"{pack_id}@{published.version}", parents=parents)


def resolve_packs(refs: list[str | None], server: str | None, token: str | None, tls_ca: Path | None) -> list[Pack | None]:
    """Each reference as a pack: ``id@version`` from ``--server``, anything else a bundled id or a file."""
    if any(r and "@" in r for r in refs) and not server:
        raise InputError("a published pack (id@version) needs --server HOST:PORT")
    with ExitStack() as stack:
        client = stack.enter_context(connect(server, token, tls_ca)) if server and any(
            r and "@" in r for r in refs) else None
        return [None if r is None else _published(client, r) if "@" in r else load_pack(r) for r in refs]


def _read(paths: list[str], headers: frozenset[str]) -> Any:
    sources = [read_source(p, headers) for p in paths]
    if len({s.name for s in sources}) != len(sources):
        sources = [Source(p, s.frame, s.columns) for p, s in zip(paths, sources)]
    return sources[0] if len(sources) == 1 else sources


def _yuan(value: float | None) -> str:
    return "—" if value is None else f"{value:,.2f}"


def print_headline(impact: Impact) -> None:
    """The headline numbers, the counties where firms moved, and the sweep, as tables."""
    h = impact.headline
    table = Table(title=f"{shown(impact.baseline.id)} {shown(impact.baseline.version)} → {shown(impact.candidate.id)} "
                        f"{shown(impact.candidate.version)}", show_header=False)
    table.add_column("", style="bold")
    table.add_column("", justify="right")
    table.add_row("OLD hash", impact.baseline.hash[:16])
    table.add_row("NEW hash" + (f" (--set {', '.join(f'{k}={v}' for k, v in impact.candidate.overrides.items())})"
                                if impact.candidate.overrides else ""), impact.candidate.hash[:16])
    table.add_row("data hash", impact.data.hash[:16])
    table.add_row("firms", f"{h.records:,} (rated {h.rated_before:,} → {h.rated_after:,})")
    table.add_row("firms that change tier", f"{h.tier_changes:,} (up {h.up:,}, down {h.down:,}, other {h.other_changes:,})")
    if h.worst_tier:
        table.add_row(f"{shown(h.worst_tier)} firms", f"{h.worst_before:,} → {h.worst_after:,} ({h.worst_change:+,})")
    if h.electricity_surcharge_change_yuan is not None:
        table.add_row("electricity surcharge (元)", f"{_yuan(h.electricity_surcharge_before_yuan)} → "
                      f"{_yuan(h.electricity_surcharge_after_yuan)} ({h.electricity_surcharge_change_yuan:+,.2f})")
    for m in h.measures:
        if m.kind == "electricity_surcharge" and h.electricity_surcharge_change_yuan is not None:
            continue
        what = f"{shown(m.label or m.measure)}" + (f" ({shown(m.unit)})" if m.reads == "total" and m.unit else
                                                  " (firms receiving)" if m.reads == "firms" else "")
        table.add_row(what, f"{m.before:,.2f} → {m.after:,.2f} ({m.change:+,.2f})" if m.reads == "total"
                      else f"{m.before:,.0f} → {m.after:,.0f} ({m.change:+,.0f})")
        tiers = [t for t in dict.fromkeys([*m.by_tier_before, *m.by_tier_after]) if t in h.tier_counts_after
                 or t in h.tier_counts_before]
        digits = ",.2f" if m.reads == "total" else ",.0f"
        table.add_row("  by tier", "; ".join(f"{shown(t)} {m.by_tier_before.get(t, 0):{digits}} → "
                                             f"{m.by_tier_after.get(t, 0):{digits}}" for t in tiers))
        if m.reads == "firms":
            mean = lambda v: "—" if v is None else f"{v:,.4g}"  # noqa: E731
            table.add_row(f"  mean{f' ({shown(m.unit)})' if m.unit else ''}", "; ".join(
                f"{shown(t)} {mean(m.mean_by_tier_before.get(t))} → {mean(m.mean_by_tier_after.get(t))}" for t in tiers))
    console.print(table)
    moved = [g for g in impact.transitions.by_group if g.changes]
    if moved:
        groups = Table(title="firms that change tier, per group (county)")
        for column in ("group", "firms", "changes"):
            groups.add_column(column, justify="left" if column == "group" else "right")
        for g in moved:
            groups.add_row(shown(g.group), f"{g.firms:,}", f"{g.changes:,}")
        console.print(groups)
    if impact.sweep is not None:
        sweep = Table(title=f"sweep of {shown(impact.sweep.parameter)}")
        for column in ("value", "tier changes", "up", "down", f"{h.worst_tier or 'worst'} change", "surcharge change (元)"):
            sweep.add_column(column, justify="right")
        for p in impact.sweep.points:
            ph = p.headline
            sweep.add_row(f"{p.value:g}", f"{ph.tier_changes:,}", f"{ph.up:,}", f"{ph.down:,}", f"{ph.worst_change:+,}",
                          "—" if ph.electricity_surcharge_change_yuan is None else f"{ph.electricity_surcharge_change_yuan:+,.2f}")
        console.print(sweep)


@handle_errors
@handle_remote_errors
def simulate_command(
    baseline: str = typer.Option(..., "--baseline", "-b", help="OLD: a bundled id, a pack file, or id@version with --server"),
    pack: str | None = typer.Option(None, "--pack", "-p", help="NEW, as OLD [default: a copy of OLD with the --set overlays]"),
    input: list[str] = typer.Option(..., "--input", "-i", help="Enterprises (repeat for several bureaus' files)"),
    prior: Path | None = typer.Option(None, "--prior", help="Prior-year enterprises, for benchmarks"),
    history: Path | None = typer.Option(None, "--history", help="Earlier tiers: enterprise_id, cycle, tier"),
    cycle: int | None = typer.Option(None, "--cycle", help="This cycle (year)"),
    sets: list[str] | None = SetOption,
    sweep: str | None = typer.Option(None, "--sweep", help="Run NEW at several values of one parameter: "
                                                           "name=start:stop:step or name=v1,v2,…"),
    report: Path = typer.Option(..., "--report", "-r", help="The HTML report; report.json goes beside it (same stem)"),
    sensitivity: bool = typer.Option(True, "--sensitivity/--no-sensitivity",
                                     help="Move each numeric parameter of NEW by ±10 % (two evaluations each)"),
    workers: int = typer.Option(1, "--workers", min=1, help="Processes for sweep and sensitivity runs (1: in this "
                                                            "process, Polars using every core)"),
    prefer: list[str] | None = typer.Option(None, "--prefer", help="Where two inputs differ, this file's value wins"),
    server: str | None = server_switch("bundled packs and files only"), token: str | None = TokenOption,
    tls_ca: Path | None = TlsCaOption,
) -> None:
    """What a pack change does before it goes live: firms that change tier (where), the worst tier's count,
    the surcharge, relief and quota moved, transitions, crossings, score distributions and sensitivity."""
    if report.suffix.lower() not in (".html", ".htm"):
        raise InputError(f"--report {report}: name an .html file (report.json is written beside it)")
    if not report.parent.is_dir():
        raise InputError(f"--report {report}: folder {report.parent} does not exist")
    old, new = resolve_packs([baseline, pack], server, token, tls_ca)
    assert old is not None
    headers = old.input_headers | (new.input_headers if new is not None else frozenset())
    started = time.perf_counter()
    data = _read(input, headers)
    prior_data = read_table(prior, headers) if prior else None
    history_data = read_table(history) if history else None
    files = {p: file_sha256(p) for p in [*input, *(str(x) for x in (prior, history) if x)] if p != "-"}
    read_seconds = time.perf_counter() - started
    timings: dict[str, float] = {}
    impact = simulate(old, new, data, prior_data, history_data, cycle, overrides=parse_sets(sets),
                      sweep=parse_sweep(sweep) if sweep else None, sensitivity=sensitivity, workers=workers,
                      prefer=tuple(Path(p).name for p in prefer or ()), files=files, timings=timings)
    json_path = report.with_suffix(".json")
    started = time.perf_counter()
    json_path.write_text(impact.model_dump_json(indent=2), encoding="utf-8")
    report.write_text(render_html(impact), encoding="utf-8")
    print_headline(impact)
    err_console.print(f"wrote {report} and {json_path}; read {read_seconds:.2f} s, OLD {timings['baseline']:.2f} s, "
                      f"NEW {timings['candidate']:.2f} s, compare {timings['compare']:.2f} s, "
                      f"{int(timings['run_count'])} runs {timings['runs']:.2f} s, "
                      f"write {time.perf_counter() - started:.2f} s", highlight=False)

