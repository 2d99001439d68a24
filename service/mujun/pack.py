"""The public face of a rule pack: load it, evaluate data with it, change its parameters."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mujun.engine.compile import Plan, compile_plan
from mujun.engine.evaluate import run_plan
from mujun.engine.headers import header_names
from mujun.engine.result import Result
from mujun.packs.load import (PackSource, ParentLookup, bundled_pack_files, content_hash, locator, override_parameters,
                              parse_pack_text, read_pack_source)
from mujun.packs.model import Pack as PackModel

__all__ = ["Pack", "load_pack", "load_pack_text", "list_packs"]


@dataclass(frozen=True, eq=False)
class _ByHash:
    """A pack model that hashes and compares by its content hash: the key of the plan cache (the text
    only places the issues of a pack that does not compile)."""

    model: PackModel
    hash: str
    text: str

    def __hash__(self) -> int:
        return hash(self.hash)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _ByHash) and other.hash == self.hash


@functools.lru_cache(maxsize=256)
def _compiled(pack: _ByHash) -> Plan:
    """Same content, same plan: loading a pack again, or from another caller, reuses its compilation
    (Polars expressions included: the compiler lowers every expression once)."""
    return compile_plan(pack.model, pack.hash, locate=locator(pack.text))


class Pack:
    """A validated, compiled rule pack. Compiled once per content hash; evaluate as often as you like."""

    def __init__(self, source: PackSource):
        self._source = source
        self.plan: Plan = _compiled(_ByHash(source.model, source.hash, source.text))

    # -- identity
    @property
    def model(self) -> PackModel:
        return self._source.model

    @property
    def id(self) -> str:
        return self.model.id

    @property
    def version(self) -> str:
        return self.model.version

    @property
    def title(self) -> str:
        return self.model.title

    @property
    def source(self) -> str:
        return self.model.source

    @property
    def hash(self) -> str:
        return self._source.hash

    @property
    def text(self) -> str:
        return self._source.text

    @property
    def path(self) -> Path | None:
        return self._source.path

    @property
    def input_headers(self) -> frozenset[str]:
        """Every normalised header this pack reads (names, aliases, labels; a trailing unit is matched
        apart), for readers that skip the other columns."""
        return frozenset(h for spec in self.plan.inputs.values() for h in header_names(spec))

    @property
    def parameters(self) -> dict[str, Any]:
        return {name: p.value for name, p in self.model.parameters.items()}

    def __repr__(self) -> str:
        return f"Pack({self.id!r}, version={self.version!r}, hash={self.hash[:12]})"

    # -- use
    def evaluate(self, data: Any, prior: Any = None, history: Any = None, *, cycle: int | None = None,
                 prefer: str | list[str] | tuple[str, ...] = ()) -> Result:
        """Score ``data``: one table, or several bureaus' tables (a list, or a mapping name → table,
        or :func:`mujun.io.read_source` results) joined on the enterprise id. ``prefer`` names the
        table(s) whose value wins where two tables differ; otherwise a difference is a record error."""
        order = (prefer,) if isinstance(prefer, str) else tuple(prefer)
        return Result(self.plan, run_plan(self.plan, data, prior=prior, history=history, cycle=cycle, prefer=order))

    def with_parameters(self, overrides: dict[str, Any]) -> Pack:
        """The same pack with some parameters changed (a new hash: results say exactly what ran)."""
        if not overrides:
            return self
        model = override_parameters(self.model, overrides)
        return Pack(PackSource(model=model, text=self._source.text, hash=content_hash(model), path=self.path))


def load_pack(id_or_path: str | os.PathLike[str]) -> Pack:
    """A bundled pack by id (``rules/<id>/pack.yaml``) or a pack file by path."""
    return Pack(read_pack_source(id_or_path))


def load_pack_text(text: str, name: str = "<text>", *, parents: ParentLookup | None = None) -> Pack:
    """A pack from YAML text; ``extends`` names a bundled id unless ``parents`` resolves more (see packs.load)."""
    return Pack(parse_pack_text(text, name=name, parents=parents))


def list_packs() -> list[Pack]:
    return [load_pack(path) for path in bundled_pack_files().values()]
