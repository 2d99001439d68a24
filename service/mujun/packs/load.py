"""Reading packs: YAML (duplicate keys rejected) → ``extends`` resolved → pydantic model → content hash.

Bundled packs live in ``rules/<id>/pack.yaml``. Every problem is reported with its YAML path, so a
policy editor can find the line to fix.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from mujun.errors import PackError, PackIssue, PackNotFound
from mujun.packs.model import Pack

__all__ = ["PackSource", "rules_dirs", "find_pack_file", "bundled_pack_files", "read_pack_source",
           "parse_pack_text", "content_hash", "override_parameters"]

MAX_EXTENDS_DEPTH = 8


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


def read_pack_source(id_or_path: str | os.PathLike[str]) -> PackSource:
    path = find_pack_file(id_or_path)
    text = path.read_text(encoding="utf-8")
    return parse_pack_text(text, name=str(path), path=path)


def parse_pack_text(text: str, *, name: str = "<text>", path: Path | None = None) -> PackSource:
    raw = _resolve_extends(_load_yaml(text, name), name, depth=0)
    model = validate_model(raw, name)
    return PackSource(model=model, text=text, hash=content_hash(model), path=path)


def validate_model(raw: dict[str, Any], name: str) -> Pack:
    try:
        return Pack.model_validate(raw)
    except ValidationError as exc:
        raise PackError([_issue_from_pydantic(e) for e in exc.errors()], source=name) from exc


def content_hash(model: Pack) -> str:
    """sha256 of the resolved pack in canonical JSON: same rules, same hash, whatever the layout."""
    canonical = json.dumps(model.model_dump(mode="json", by_alias=True), sort_keys=True,
                           ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def override_parameters(model: Pack, overrides: dict[str, Any]) -> Pack:
    """A new pack with parameter values replaced; ``table.KEY`` sets one entry of a table."""
    raw = model.model_dump(mode="json", by_alias=True)
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


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen[key] = loader.construct_object(value_node, deep=deep)
    return seen


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _load_yaml(text: str, name: str) -> dict[str, Any]:
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a safe loader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise PackError(PackIssue(where, f"not valid YAML: {problem}"), source=name) from exc
    if not isinstance(data, dict):
        raise PackError(PackIssue("", "a pack is a YAML mapping with id, version, title, source …"), source=name)
    return data


def _resolve_extends(raw: dict[str, Any], name: str, depth: int) -> dict[str, Any]:
    parent_id = raw.get("extends")
    if parent_id is None:
        return raw
    if depth >= MAX_EXTENDS_DEPTH:
        raise PackError(PackIssue("extends", "too many levels of 'extends' (a cycle?)"), source=name)
    try:
        parent_path = find_pack_file(str(parent_id))
    except PackNotFound as exc:
        raise PackError(PackIssue("extends", exc.message), source=name) from exc
    parent_raw = _load_yaml(parent_path.read_text(encoding="utf-8"), str(parent_path))
    parent = _resolve_extends(parent_raw, str(parent_path), depth + 1)
    child = {k: v for k, v in raw.items() if k != "extends"}
    return _merge(parent, child, path=())


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
