"""``mujun pack list | show | history | validate | test``: what packs there are, and whether they hold.

``list`` and ``show`` read the bundled packs, or with ``--server`` what a server has published and put in
force; ``history`` asks a server for every published version and activation.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from mujun.cases import load_cases, run_case
from mujun.cli._common import (JsonOption, Typer, console, err_console, handle_errors, json_text, print_listing,
                               shown)
from mujun.cli.remote import (ServerOption, TlsCaOption, TokenOption, connect, handle_remote_errors, message_dict,
                              server_switch)
from mujun.pack import list_packs, load_pack
from mujun.packs.load import bundled_pack_files

__all__ = ["register", "pack_app"]

pack_app = Typer(no_args_is_help=True, help="Rule packs: list, show, history, validate, test, publish, activate")

#: The columns shown of a server's published versions and activations (``--json`` gives every field).
VERSION_COLUMNS = ["pack_id", "version", "title", "hash", "published_at", "published_by", "regions"]
ACTIVATION_COLUMNS = ["region", "pack_id", "version", "effective_from", "activated_at", "activated_by"]


def register(app: typer.Typer) -> None:
    app.add_typer(pack_app, name="pack")


def _short_hashes(rows: list[dict]) -> list[dict]:
    return [{**row, "hash": row["hash"][:12]} for row in rows]


def _print_remote(listing: dict[str, list[dict]], versions: str, as_json: bool, title: str) -> None:
    """Published versions (under ``versions``) and activations from a server: tables, or every field as JSON."""
    if as_json:
        typer.echo(json_text(listing))
        return
    shortened = {**listing, versions: _short_hashes(listing[versions])}
    print_listing(False, shortened, [(versions, title, VERSION_COLUMNS),
                                     ("activations", "activations (which version is in force where, from when)",
                                      ACTIVATION_COLUMNS)])


@pack_app.command("list")
@handle_errors
@handle_remote_errors
def list_command(server: str | None = server_switch("the bundled packs"), token: str | None = TokenOption,
                 tls_ca: Path | None = TlsCaOption, as_json: bool = JsonOption) -> None:
    """Every bundled pack with its source document and effective period; with --server, the latest published
    version of each pack and the activations the token may see."""
    if server:
        with connect(server, token, tls_ca) as client:
            response = client.list_packs()
        _print_remote(message_dict(response), "packs", as_json, f"packs published on {server} (latest version of each)")
        return
    rows = []
    for pack in list_packs():
        eff = pack.model.effective
        rows.append({"pack_id": pack.id, "version": pack.version, "title": pack.title, "source": pack.source,
                     "effective_from": str(eff.from_) if eff else None,
                     "effective_to": str(eff.to) if eff and eff.to else None, "hash": pack.hash})
    if as_json:
        typer.echo(json_text({"packs": rows}))
        return
    table = Table(title="bundled rule packs")
    for column in ("id", "version", "title", "source", "effective", "hash"):
        table.add_column(column)
    for row in rows:
        period = f"{row['effective_from']} – {row['effective_to'] or 'open'}" if row["effective_from"] else "—"
        table.add_row(*map(shown, (row["pack_id"], row["version"], row["title"], row["source"])), period,
                      row["hash"][:12])
    console.print(table)


@pack_app.command("show")
@handle_errors
@handle_remote_errors
def show(pack_id: str = typer.Argument(..., help="Pack id or path (with --server: a published pack id)"),
         version: str = typer.Option("", "--version", help="With --server: a published version [default: latest]"),
         server: str | None = server_switch("the bundled pack or file"), token: str | None = TokenOption,
         tls_ca: Path | None = TlsCaOption, as_json: bool = typer.Option(False, "--json", help="Print JSON instead of text")) -> None:
    """Print a pack's identity, parameters and source text; with --server, a published version (its YAML
    under --json) and where it is in force."""
    if server:
        with connect(server, token, tls_ca) as client:
            published = client.get_pack(pack_id, version)
            activations = client.pack_history(pack_id).activations
        return _show_published(message_dict(published), [message_dict(a) for a in activations], as_json)
    pack = load_pack(pack_id)
    if as_json:
        eff = pack.model.effective
        typer.echo(json_text({"pack": {
            "pack_id": pack.id, "version": pack.version, "hash": pack.hash, "title": pack.title,
            "source": pack.source, "leaves_out": pack.model.leaves_out,
            "effective_from": str(eff.from_) if eff else None, "effective_to": str(eff.to) if eff and eff.to else None,
            "parameters": {name: {"value": p.value, "unit": p.unit, "label": p.label}
                           for name, p in pack.model.parameters.items()},
            "inputs": {f.name: f.require for f in pack.plan.inputs.values()}}}))
        return
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


def _show_published(published: dict, activations: list[dict], as_json: bool) -> None:
    if as_json:
        typer.echo(json_text({"pack": published, "activations": activations}))
        return
    console.print(f"[bold]{shown(published['pack_id'])}[/] {shown(published['version'])}  hash {published['hash']}")
    console.print(f"{shown(published['title'])}\nsource: {shown(published['source'])}")
    console.print(f"published {published['published_at']} by {shown(published['published_by'])}; regions: "
                  f"{shown(', '.join(published['regions']) or 'none declared')}", highlight=False)
    print_listing(False, {"activations": activations},
                  [("activations", "activations of this pack", ACTIVATION_COLUMNS)])


@pack_app.command("history")
@handle_remote_errors
def history(pack_id: str = typer.Argument("", help="Pack id [default: every pack]", show_default=False),
            region: str = typer.Option("", "--region", help="Only this county's activations [default: every "
                                                            "region the token may see]", show_default=False),
            server: str = ServerOption, token: str | None = TokenOption, tls_ca: Path | None = TlsCaOption,
            as_json: bool = JsonOption) -> None:
    """Every version a server has published, and every activation: which version was in force where, from when."""
    with connect(server, token, tls_ca) as client:
        listing = message_dict(client.pack_history(pack_id, region))
    _print_remote(listing, "versions", as_json, f"pack versions published on {server}")


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


@pack_app.command("diff")
@handle_errors
@handle_remote_errors
def diff(old: str = typer.Argument(..., help="OLD: a bundled id, a pack file, or id@version with --server"),
         new: str = typer.Argument(..., help="NEW, as OLD"),
         server: str | None = server_switch("bundled packs and files only"), token: str | None = TokenOption,
         tls_ca: Path | None = TlsCaOption, as_json: bool = typer.Option(False, "--json", help="Print JSON instead of text")) -> None:
    """What changed from OLD to NEW — parameters, indicators, items, tiers, measures — one line each, in the
    packs' own labels (亩均税收权重 45 → 50)."""
    from mujun.cli.simulate import resolve_packs
    from mujun.simulate.diff import pack_diff

    before, after = resolve_packs([old, new], server, token, tls_ca)
    found = pack_diff(before, after)
    if as_json:
        typer.echo(json_text(found.model_dump(mode="json")))
        return
    console.print(f"[bold]{shown(found.old['id'])} {shown(found.old['version'])}[/] ({found.old['hash'][:12]}) → "
                  f"[bold]{shown(found.new['id'])} {shown(found.new['version'])}[/] ({found.new['hash'][:12]})",
                  highlight=False)
    if found.identical:
        console.print("identical content (same hash)")
    for change in found.changes:
        console.print(f"  {shown(change.text)}", highlight=False, soft_wrap=True)
    console.print(f"{len(found.changes)} change(s)", highlight=False)
