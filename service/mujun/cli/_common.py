"""What the CLI commands share: the app's Typer (flags without a type in --help), loading a pack with --set
overrides, the one error → exit-code table, ``--json`` listings, and consoles that never let a pack title
or a record id send control characters to the terminal."""

from __future__ import annotations

import functools
import json
import re
import sys
import unicodedata
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from typer.core import TyperCommand, TyperGroup, TyperOption
from rich.markup import escape
from rich.text import Text

from mujun.errors import InputError, MujunError, NotFound, PackError, PackNotFound
from mujun.pack import Pack, load_pack

__all__ = ["EXIT_OK", "EXIT_UNUSABLE", "EXIT_RECORD_ERRORS", "Typer", "handle_errors", "pack_with_sets", "parse_sets",
           "console", "err_console", "escape_controls", "shown", "JsonOption", "json_text", "print_listing"]

EXIT_OK, EXIT_UNUSABLE, EXIT_RECORD_ERRORS = 0, 2, 3
EXIT_CODES: dict[type[MujunError], int] = {
    PackError: EXIT_UNUSABLE,
    PackNotFound: EXIT_UNUSABLE,
    InputError: EXIT_UNUSABLE,
    NotFound: EXIT_UNUSABLE,
}


class _Help:
    """What --help shows of every parameter: no type beside a flag, which takes no value (typer 0.29 would
    show ``<bool>``), and a default said in the help text (``[default: data]``, for a None default whose
    real value comes from configuration) kept, where rich markup would take it for a style and drop it."""

    def get_params(self, ctx: Any) -> list[Any]:
        params = super().get_params(ctx)  # type: ignore[misc]
        for param in params:  # --help itself included: it is made here
            if isinstance(param, TyperOption) and (param.is_flag or param.count) and param.metavar is None:
                param.metavar = ""
            if getattr(param, "help", None):
                param.help = _SAID_DEFAULT.sub(r"\\[default:", param.help)
        return params


_SAID_DEFAULT = re.compile(r"(?<!\\)\[default:")


class _Command(_Help, TyperCommand):
    pass


class _Group(_Help, TyperGroup):
    pass


class Typer(typer.Typer):
    """The Typer of every mujun command group: its commands and groups get the --help of :class:`_Help`."""

    def __init__(self, **options: Any):
        super().__init__(cls=_Group, **options)

    def command(self, *args: Any, **options: Any) -> Any:
        options.setdefault("cls", _Command)
        return super().command(*args, **options)


def escape_controls(text: str) -> str:
    """Control and format characters (ESC, BEL, bidi overrides …) as visible escapes such as ``\\x1b``.

    Pack titles and record ids come from other people's files: printed raw, ``\\x1b]0;…`` would
    retitle the terminal and U+202E would reverse what an official reads. Newlines and tabs stay.
    """
    return "".join(ch.encode("unicode_escape").decode("ascii")
                   if ch not in "\n\t" and unicodedata.category(ch) in ("Cc", "Cf") else ch for ch in text)


def shown(value: object) -> str:
    """A value from a pack or a record, for a markup string: its brackets are not taken as styles."""
    return escape(str(value))


class _Console(Console):
    """Every string rendered (print arguments, table cells) has its control characters escaped first."""

    def render_str(self, text: str, **options: Any) -> Text:
        return super().render_str(escape_controls(text), **options)


console = _Console()
err_console = _Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])


def json_text(data: object) -> str:
    """JSON of a listing, readable (Chinese as is) yet inert: control and format characters as ``\\uXXXX``."""
    text = json.dumps(data, ensure_ascii=False, indent=2, default=str)
    return "".join(json.dumps(ch)[1:-1] if unicodedata.category(ch) in ("Cc", "Cf") and ch != "\n" else ch
                   for ch in text)


def print_listing(as_json: bool, listing: dict[str, Any], tables: list[tuple[str, str, list[str]]]) -> None:
    """A listing as JSON (``{name: [row, …], …}``, every field) or one table per ``(name, title, columns)``."""
    if as_json:
        typer.echo(json_text(listing))
        return
    for name, title, columns in tables:
        table = Table(*columns, title=title or None)
        for row in listing[name]:
            table.add_row(*(shown(_cell(row.get(column))) for column in columns))
        console.print(table)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value)


def handle_errors(command: F) -> F:
    """Print a mujun error for a person and exit with its code; never a traceback for bad input."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except MujunError as exc:
            err_console.print(f"[bold red]error[/] [{exc.code}] {shown(exc)}", markup=True, highlight=False,
                              soft_wrap=True)
            sys.exit(next((code for kind, code in EXIT_CODES.items() if isinstance(exc, kind)), EXIT_UNUSABLE))

    return wrapper  # type: ignore[return-value]


def parse_sets(values: list[str] | None) -> dict[str, str]:
    overrides: dict[str, str] = {}
    for value in values or []:
        name, sep, number = value.partition("=")
        if not sep or not name.strip():
            raise InputError(f"--set expects name=value (or table.KEY=value), got {value!r}")
        overrides[name.strip()] = number.strip()
    return overrides


def pack_with_sets(pack_id: str, sets: list[str] | None) -> Pack:
    return load_pack(pack_id).with_parameters(parse_sets(sets))


PackOption = typer.Option(..., "--pack", "-p", help="Bundled pack id or path to a pack.yaml")
SetOption = typer.Option(None, "--set", help="Override a parameter: name=value or table.KEY=value (repeatable)")
JsonOption = typer.Option(False, "--json", help="Print the listing as JSON instead of tables")
