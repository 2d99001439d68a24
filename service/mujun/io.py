"""Tables in and out: CSV (UTF-8 or GB18030), Parquet, JSONL, XLSX and XLS; ``-`` for stdin/stdout.

CSV and spreadsheet cells are read as text, so a stray "n/a" in a tax column becomes that record's
error in the prepare stage instead of failing the whole file. Outputs are written atomically (a
temporary file beside the target, then a rename) with the permissions the user's umask gives, so
colleagues sharing a folder can read a published list; a missing output folder is an error, never
created silently (a mistyped path would hide the result where nobody looks).
"""

from __future__ import annotations

import io
import json
import os
import sys
import tempfile
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import polars as pl

from mujun.engine.intake import Source
from mujun.engine.prepare import to_frame
from mujun.errors import InputError
from mujun.packs.fields import normalise_header, split_unit

__all__ = ["read_table", "read_source", "write_table", "written_in_place", "FORMATS", "STDIO"]

FORMATS = (".csv", ".parquet", ".jsonl", ".ndjson", ".xlsx", ".xls")
STDIO = "-"


def _format(path: Path | str, given: str | None = None) -> str:
    suffix = ("." + given.lower().lstrip(".")) if given else Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise InputError(f"{path}: unknown format {suffix or '(none)'}; use one of {', '.join(FORMATS)}"
                         + (" (for '-', say which with --input-format / --output-format)" if str(path) == STDIO else ""))
    return suffix


def _wanted(header: str, keep: set[str]) -> bool:
    name = normalise_header(header)
    return name in keep or split_unit(name)[0] in keep


def read_table(path: str | os.PathLike[str], columns: Collection[str] | None = None, *,
               format: str | None = None) -> pl.DataFrame:
    """Read a table by extension (or ``format``; ``-`` is stdin); with ``columns`` (headers, e.g.
    ``Pack.input_headers``, matched after normalising width, blanks, case and a trailing unit) the
    other columns are dropped, and a Parquet file does not even read them. A file with none of those
    columns is read whole, so the engine can say what it lacks and what it has."""
    return read_source(path, columns, format=format).frame


def read_source(path: str | os.PathLike[str], columns: Collection[str] | None = None, *,
                format: str | None = None) -> Source:
    """Like :func:`read_table`, keeping every header of the file (read or not) for the run summary."""
    stdin = str(path) == STDIO
    suffix = _format(path, format if stdin or format else None)
    path = Path(path)
    if not stdin and not path.is_file():
        raise InputError(f"{path}: no such file")
    keep = None if columns is None else {normalise_header(c) for c in columns}
    source: Path | BinaryIO = io.BytesIO(sys.stdin.buffer.read()) if stdin else path
    name = "stdin" if stdin else path.name
    try:
        if suffix == ".csv":
            frame = _read_csv(source)
        elif suffix == ".parquet":
            headers = list(pl.read_parquet_schema(source))
            names = None if keep is None else [c for c in headers if _wanted(c, keep)]
            if isinstance(source, io.BytesIO):
                source.seek(0)
            return Source(name, pl.read_parquet(source, columns=names or None), tuple(headers))
        elif suffix in (".xlsx", ".xls"):
            frame = pl.read_excel(source, infer_schema_length=0)
        else:
            frame = _read_jsonl(source)
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - every reader failure means the file is unusable
        raise InputError(f"{name}: cannot read as {suffix[1:]}: {exc}") from exc
    kept = [c for c in frame.columns if keep is None or _wanted(c, keep)]
    return Source(name, frame.select(kept) if kept else frame, tuple(frame.columns))


def _read_csv(source: Path | BinaryIO) -> pl.DataFrame:
    data = source.read_bytes() if isinstance(source, Path) else source.read()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        data = data.decode("gb18030").encode("utf-8")  # bureaus' spreadsheets often export GBK
    return pl.read_csv(io.BytesIO(data), infer_schema=False, encoding="utf8")


def _read_jsonl(source: Path | BinaryIO) -> pl.DataFrame:
    data = source.read_bytes() if isinstance(source, Path) else source.read()
    rows = []
    for number, line in enumerate(data.decode("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise InputError(f"line {number} is not JSON: {exc.msg}") from exc
    return to_frame(rows)


def _write(frame: pl.DataFrame, target: str | BinaryIO, suffix: str) -> None:
    if suffix == ".csv":
        frame.write_csv(target)
    elif suffix == ".parquet":  # snappy: every Parquet reader has it, and it writes ~25 % faster than zstd
        frame.write_parquet(target, compression="snappy")
    elif suffix == ".xlsx":
        frame.write_excel(target)
    elif suffix == ".xls":
        raise InputError("writing .xls is not supported; write .xlsx, which every Excel since 2007 opens")
    else:
        frame.write_ndjson(target)


def _umask() -> int:
    """The process umask, read without changing it where Linux tells it (os.umask can only set)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_table(frame: pl.DataFrame, path: str | os.PathLike[str], *, format: str | None = None) -> Path | None:
    """Write by extension (or ``format``; ``-`` is stdout) to a temporary file beside the target, then
    rename: never a half file. The file gets the mode a new file would (0666 less the umask)."""
    stdout = str(path) == STDIO
    suffix = _format(path, format if stdout or format else None)
    if suffix in (".csv", ".xlsx"):
        frame = frame.with_columns(pl.col(c).list.join(";") for c, t in frame.schema.items() if isinstance(t, pl.List))
    if stdout:
        buffer = io.BytesIO()
        _write(frame, buffer, suffix)
        sys.stdout.buffer.write(buffer.getvalue())
        sys.stdout.flush()
        return None
    if suffix == ".xls":
        _write(frame, "", suffix)
    with written_in_place(path, suffix) as temp:
        _write(frame, temp, suffix)
    return Path(path)


@contextmanager
def written_in_place(path: str | os.PathLike[str], suffix: str | None = None) -> Iterator[str]:
    """A temporary file beside ``path`` to write, renamed to ``path`` when the block ends (removed when it
    raises): never a half file. The file gets the mode a new file would (0666 less the umask)."""
    path = Path(path)
    if not path.parent.is_dir():
        raise InputError(f"{path}: the folder {path.parent} does not exist; create it first (or check the path)")
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix or path.suffix, dir=path.parent)
    os.close(handle)
    try:
        yield temp
        os.chmod(temp, 0o666 & ~_umask())  # mkstemp makes 0600: the result is for colleagues too
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
