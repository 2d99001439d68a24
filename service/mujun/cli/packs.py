"""``mujun pack list | show | validate | test``: what packs there are, and whether they hold."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from mujun.cases import load_cases, run_case
from mujun.cli._common import console, err_console, handle_errors, shown
from mujun.pack import list_packs, load_pack
from mujun.packs.load import bundled_pack_files

__all__ = ["register", "pack_app"]

pack_app = typer.Typer(no_args_is_help=True, help="Rule packs: list, show, validate, test")


def register(app: typer.Typer) -> None:
    app.add_typer(pack_app, name="pack")


@pack_app.command("list")
@handle_errors
def list_command() -> None:
    """Every bundled pack with its source document and effective period."""
    table = Table(title="bundled rule packs")
    for column in ("id", "version", "title", "source", "effective", "hash"):
        table.add_column(column)
    for pack in list_packs():
        eff = pack.model.effective
        period = f"{eff.from_} – {eff.to or 'open'}" if eff else "—"
        table.add_row(*map(shown, (pack.id, pack.version, pack.title, pack.source)), period, pack.hash[:12])
    console.print(table)


@pack_app.command("show")
@handle_errors
def show(pack_id: str = typer.Argument(..., help="Pack id or path")) -> None:
    """Print a pack's identity, parameters and source text."""
    pack = load_pack(pack_id)
    console.print(f"[bold]{shown(pack.id)}[/] {shown(pack.version)}  hash {pack.hash}")
    console.print(f"{shown(pack.title)}\nsource: {shown(pack.source)}")
    if pack.model.leaves_out:
        console.print(f"leaves out: {shown(pack.model.leaves_out)}")
    table = Table(title="parameters")
    for column in ("name", "value", "unit", "label"):
        table.add_column(column)
    for name, param in pack.model.parameters.items():
        table.add_row(name, shown(param.value), shown(param.unit or ""), shown(param.label or ""))
    console.print(table)
    console.print("inputs: " + ", ".join(f"{f.name} ({f.require})" for f in pack.plan.inputs.values()))


@pack_app.command("validate")
@handle_errors
def validate(path: Path = typer.Argument(..., help="A pack.yaml to check")) -> None:
    """Check a pack file; every problem is listed with its YAML path. Exit 2 when invalid."""
    pack = load_pack(path)
    console.print(f"valid: {shown(pack.id)} {shown(pack.version)} (hash {pack.hash[:12]}), "
                  f"{len(pack.model.items)} items, {len(pack.model.measures)} measures")


@pack_app.command("test")
@handle_errors
def test(pack_id: str = typer.Argument(None, help="Pack id or path; all bundled packs when left out")) -> None:
    """Run a pack's golden cases (rules/<id>/cases/*.yaml). Exit 1 when any case fails."""
    targets = [pack_id] if pack_id else list(bundled_pack_files())
    passed = failed = 0
    for target in targets:
        pack = load_pack(target)
        cases = load_cases(pack)
        if not cases:
            err_console.print(f"[red]FAIL[/] {pack.id}: no golden cases in {shown(pack.path.parent / 'cases')}")
            failed += 1
        for case in cases:
            outcome = run_case(pack, case)
            mark = "[green]pass[/]" if outcome.passed else "[red]FAIL[/]"
            console.print(f"{mark} {pack.id} / {shown(case.name)}")
            for mismatch in outcome.mismatches:
                console.print(f"     {mismatch}", highlight=False, markup=False)
            passed += outcome.passed
            failed += not outcome.passed
    console.print(f"{passed} passed, {failed} failed")
    if failed:
        raise typer.Exit(1)




@pack_app.command("schema")
@handle_errors
def schema() -> None:
    """The JSON Schema of pack.yaml, generated from the pack model: point your editor's YAML plugin at it
    (e.g. ``# yaml-language-server: $schema=pack.schema.json``) to autocomplete and validate while typing."""
    import json

    from mujun.packs.schema import pack_json_schema

    typer.echo(json.dumps(pack_json_schema(), ensure_ascii=False, indent=2))
