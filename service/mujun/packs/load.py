"""Reading packs: YAML (duplicate keys rejected) → ``extends`` resolved → pydantic model → content hash.

Bundled packs live in ``rules/<id>/pack.yaml``. Every problem is reported with its YAML path, so a
policy editor can find the line to fix.

Where ``extends`` may look is the caller's choice, passed in as a :data:`ParentLookup`:
:func:`local_parents` (a path or a bundled id: the CLI and the library on one's own files) or
:func:`bundled_parents` (ids only: text that came from someone else never names a file to read).
A pack is bounded in size (:data:`LIMITS`) before anything else reads it, so checking one stays cheap.
"""

from __future__ import annotations

import collections.abc
import copy
import dataclasses
import functools
import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from mujun.errors import PackError, PackIssue, PackNotFound
from mujun.packs.model import Pack

__all__ = ["PackSource", "ParentLookup", "PackLimits", "LIMITS", "rules_dirs", "find_pack_file", "bundled_pack_files",
           "read_pack_source", "parse_pack_text", "local_parents", "bundled_parents", "content_hash",
           "override_parameters", "locator", "located"]

MAX_EXTENDS_DEPTH = 8

#: ``extends`` value → (the parent's YAML text, its name in messages); raises PackNotFound.
ParentLookup = Callable[[str], tuple[str, str]]


@dataclass(frozen=True)
class PackLimits:
    """How large a pack may be. The bundled packs are under 5 kB with at most a dozen of anything;
    these bounds leave room for any real policy and keep validation under a second."""

    max_bytes: int = 256 * 1024
    max_indicators: int = 500
    max_items: int = 200
    max_entries: int = 500  # any other section: parameters, inputs, scope, benchmarks, measures, checks …


LIMITS = PackLimits()


@dataclass(frozen=True)
class PackSource:
    """A validated pack with the text it came from and its content hash."""

    model: Pack
    text: str
    hash: str
    path: Path | None


def rules_dirs() -> list[Path]:
    """Where bundled packs are looked up: $MUJUN_RULES_DIR, the installed copy, the repository."""
    here = Path(__file__).resolve().parent.parent
    candidates = [os.environ.get("MUJUN_RULES_DIR"), here / "_rules", here.parent.parent / "rules"]
    return [Path(c) for c in candidates if c and Path(c).is_dir()]


def bundled_pack_files() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for folder in rules_dirs():
        for path in sorted(folder.glob("*/pack.yaml")):
            found.setdefault(path.parent.name, path)
    return found


def find_pack_file(id_or_path: str | os.PathLike[str]) -> Path:
    path = Path(id_or_path)
    if path.is_file():
        return path
    if path.is_dir() and (path / "pack.yaml").is_file():
        return path / "pack.yaml"
    bundled = bundled_pack_files()
    if str(id_or_path) in bundled:
        return bundled[str(id_or_path)]
    known = ", ".join(sorted(bundled)) or "none"
    raise PackNotFound(f"no pack file or bundled pack named {str(id_or_path)!r} (bundled: {known})")


def read_pack_source(id_or_path: str | os.PathLike[str], parents: ParentLookup | None = None) -> PackSource:
    """A pack file by path or bundled id; its ``extends`` may name a path too unless ``parents`` says otherwise."""
    path = find_pack_file(id_or_path)
    text = _read_text(path, where="")
    return parse_pack_text(text, name=str(path), path=path, parents=parents or local_parents)


def parse_pack_text(text: str, *, name: str = "<text>", path: Path | None = None,
                    parents: ParentLookup | None = None) -> PackSource:
    """A pack from YAML text; ``extends`` is resolved by ``parents`` (default: bundled ids only)."""
    raw = _resolve_extends(_load_yaml(text, name), name, depth=0, parents=parents or bundled_parents)
    _check_counts(raw, name)
    try:
        model = validate_model(raw, name)
    except PackError as exc:
        raise PackError(located(exc.issues, locator(text)), source=exc.source) from exc.__cause__
    return PackSource(model=model, text=text, hash=content_hash(model), path=path)


def local_parents(ref: str) -> tuple[str, str]:
    """``extends`` as a pack file path or a bundled id: for packs on one's own machine."""
    path = find_pack_file(ref)
    return _read_text(path, where="extends"), str(path)


def bundled_parents(ref: str) -> tuple[str, str]:
    """``extends`` as a bundled pack id only; never a path, so no file outside the rules is read."""
    path = bundled_pack_files().get(ref)
    if path is None:
        known = ", ".join(sorted(bundled_pack_files())) or "none"
        raise PackNotFound(f"no bundled pack named {ref!r}; 'extends' names a pack id, never a file (bundled: {known})")
    return _read_text(path, where="extends"), ref


def _read_text(path: Path, *, where: str) -> str:
    """A pack file's text, refused before reading when too large, and when not UTF-8 text."""
    try:
        if path.stat().st_size > LIMITS.max_bytes:
            raise PackError(PackIssue(where, f"the file is larger than {LIMITS.max_bytes // 1024} KiB, the limit "
                                             "for a pack"), source=str(path))
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PackError(PackIssue(where, f"not a UTF-8 text file (byte {exc.start}); a pack is YAML text"),
                        source=str(path)) from exc
    except OSError as exc:
        raise PackError(PackIssue(where, f"cannot read the pack file: {exc.strerror}"), source=str(path)) from exc


def validate_model(raw: dict[str, Any], name: str) -> Pack:
    try:
        model = Pack.model_validate(raw)
    except ValidationError as exc:
        raise PackError([_issue_from_pydantic(e) for e in exc.errors()], source=name) from exc
    if model.events is not None:  # its rules name tiers and measures of the pack
        tiers = model.tiers.tier_names() if model.tiers else []
        if issues := model.events.issues(tiers, list(model.measures)):
            raise PackError(issues, source=name)
    return model


def content_hash(model: Pack) -> str:
    """sha256 of the resolved pack in canonical JSON: same rules, same hash, whatever the layout."""
    canonical = json.dumps(model.model_dump(mode="json", by_alias=True), sort_keys=True,
                           ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def override_parameters(model: Pack, overrides: dict[str, Any]) -> Pack:
    """A new pack with parameter values replaced; ``table.KEY`` sets one entry of a table."""
    # exclude_unset: a field the pack left out stays left out (compile reads some defaults from the context,
    # e.g. the type of a tier given as input), so an overlay changes the parameters and nothing else
    raw = model.model_dump(mode="json", by_alias=True, exclude_unset=True)
    params = raw["parameters"]
    issues: list[PackIssue] = []
    for key, value in overrides.items():
        name, _, entry = str(key).partition(".")
        where = f"parameters.{key}"
        if name not in params:
            issues.append(PackIssue(where, f"unknown parameter; the pack has: {', '.join(sorted(params))}"))
            continue
        number = _as_number(value)
        if number is None:
            issues.append(PackIssue(where, f"expected a number, got {value!r}"))
        elif entry:
            if not isinstance(params[name]["value"], dict):
                issues.append(PackIssue(where, f"{name} is a single number, not a table"))
            else:
                params[name]["value"][entry] = number
        elif isinstance(params[name]["value"], dict):
            issues.append(PackIssue(where, f"{name} is a table; set one entry as {name}.KEY=VALUE"))
        else:
            params[name]["value"] = number
    if issues:
        raise PackError(issues, source=model.id)
    return validate_model(raw, model.id)


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


class _UniqueKeyLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # libyaml when present: 5-10x faster
    """SafeLoader that refuses a mapping with the same key twice (YAML would keep the last silently)."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, OverflowError) as exc:  # an integer of 5,000 digits, a date such as 2024-13-45
            raise yaml.constructor.ConstructorError(None, None, f"unreadable value ({str(exc)[:120]})",
                                                    node.start_mark) from exc


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if not isinstance(key, collections.abc.Hashable):  # `? [a, b]: 1`: YAML allows it, a pack does not
            raise yaml.constructor.ConstructorError(
                None, None, f"a key must be a name, not a {type(key).__name__}", key_node.start_mark
            )
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen[key] = loader.construct_object(value_node, deep=deep)
    return seen


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _load_yaml(text: str, name: str) -> dict[str, Any]:
    size = len(text.encode("utf-8"))
    if size > LIMITS.max_bytes:
        raise PackError(PackIssue("", f"the pack is {size:,} bytes; the limit is {LIMITS.max_bytes:,}"), source=name)
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a safe loader subclass
    except RecursionError as exc:
        raise PackError(PackIssue("", "not a usable pack: YAML nested too deeply"), source=name) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise PackError(PackIssue(where, f"not valid YAML: {problem}"), source=name) from exc
    if not isinstance(data, dict):
        raise PackError(PackIssue("", "a pack is a YAML mapping with id, version, title, source …"), source=name)
    return data


def _resolve_extends(raw: dict[str, Any], name: str, depth: int, parents: ParentLookup) -> dict[str, Any]:
    parent_id = raw.get("extends")
    if parent_id is None:
        return raw
    if not isinstance(parent_id, str):
        raise PackError(PackIssue("extends", "give the id of the pack this one extends"), source=name)
    if depth >= MAX_EXTENDS_DEPTH:
        raise PackError(PackIssue("extends", "too many levels of 'extends' (a cycle?)"), source=name)
    try:
        parent_text, parent_name = parents(parent_id)
    except PackNotFound as exc:
        raise PackError(PackIssue("extends", exc.message), source=name) from exc
    parent = _resolve_extends(_load_yaml(parent_text, parent_name), parent_name, depth + 1, parents)
    child = {k: v for k, v in raw.items() if k != "extends"}
    return _merge(parent, child, path=())


def _check_counts(raw: dict[str, Any], name: str) -> None:
    """Bound every section before pydantic and the compiler walk it (cost grows with the pack)."""
    issues = []
    for section, value in raw.items():
        limit = {"indicators": LIMITS.max_indicators, "items": LIMITS.max_items}.get(str(section), LIMITS.max_entries)
        if isinstance(value, (dict, list)) and len(value) > limit:
            issues.append(PackIssue(str(section), f"{len(value):,} entries; a pack may have at most {limit:,} here"))
    if issues:
        raise PackError(issues, source=name)


def _merge(parent: Any, child: Any, path: tuple[str, ...]) -> Any:
    """Child values override the parent's; mappings merge key by key, lists are replaced whole.

    A bare number for a parameter that the parent declared with unit and label replaces only its value.
    """
    if len(path) == 2 and path[0] == "parameters" and isinstance(parent, dict) and "value" in parent:
        if not isinstance(child, dict) or "value" not in child:
            return {**parent, "value": child}
    if isinstance(parent, dict) and isinstance(child, dict):
        merged = copy.deepcopy(parent)
        for key, value in child.items():
            merged[key] = _merge(parent[key], value, (*path, str(key))) if key in parent else value
        return merged
    return child


def _issue_from_pydantic(error: dict[str, Any]) -> PackIssue:
    path = ".".join(str(p) for p in error["loc"] if p not in ("function-after", "function-before"))
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "unknown key (check the spelling against the pack language reference)"
    elif error["type"] == "missing":
        message = "required key is missing"
    return PackIssue(path, message)


# ---------------------------------------------------------------- where an issue is in the text


def locator(text: str) -> Callable[[str, int | None], tuple[int, int] | None]:
    """(YAML path, character offset inside the expression there or None) → (line, column), 1-based.

    Read from PyYAML's marks on the composed node tree, built on the first call only (a pack without
    issues never pays for it). None where the path is not in this text: a section inherited through
    ``extends``, or a path the compiler derived.
    """

    @functools.cache
    def root() -> yaml.Node | None:
        try:
            return yaml.compose(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a safe loader subclass
        except yaml.YAMLError:
            return None

    def locate(path: str, offset: int | None = None) -> tuple[int, int] | None:
        node = root()
        for part in path.split(".") if path else []:
            node = _child(node, part)
        if node is None:
            return None
        if isinstance(node, yaml.MappingNode) and (expr := _child(node, "expr")) is not None:
            node = expr  # `tax_per_mu: {expr: …}`: the issue is in the expression
        return node.start_mark.line + 1, node.start_mark.column + _inside(text, node, offset) + 1

    return locate


def _child(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        return next((v for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == key), None)
    if isinstance(node, yaml.SequenceNode) and key.isdigit() and int(key) < len(node.value):
        return node.value[int(key)]
    return None


def _inside(text: str, node: yaml.Node, offset: int | None) -> int:
    """Columns from a scalar's mark to ``offset`` in its value, when the value is written on one line
    as it reads (plain, or quoted without escapes); otherwise 0: the issue points at the value."""
    start, end = node.start_mark, node.end_mark
    if offset is None or not isinstance(node, yaml.ScalarNode) or start.line != end.line:
        return 0
    raw = text[start.index:end.index]
    if not node.style and raw == node.value:  # plain: None from PyYAML, "" from libyaml
        return offset
    if node.style in ("'", '"') and raw[1:-1] == node.value:
        return 1 + offset
    return 0


def located(issues: list[PackIssue], locate: Callable[[str, int | None], tuple[int, int] | None]) -> list[PackIssue]:
    """The issues with the line and column of their path, where the text has it."""
    found = []
    for issue in issues:
        where = locate(issue.path, None) if issue.line is None else None
        found.append(dataclasses.replace(issue, line=where[0], column=where[1]) if where else issue)
    return found
