"""The import rules of docs/architecture.md, checked by reading every import statement (no module is run).

Every ``import`` and ``from … import`` in every .py file of service/mujun and clients/python counts,
wherever it stands (a function's lazy import included), relative imports resolved. ``RULES`` is the
table: a package, what it may not import, and the modules excepted with the reason.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = (ROOT / "service", ROOT / "clients" / "python")


@dataclass(frozen=True)
class Rule:
    """Modules matching ``sources`` may not import what ``forbidden`` names (dotted prefixes).

    A source ``pkg.*`` is the package and everything in it; a plain name is that one module.
    ``allowed_in`` lists modules excepted from the rule, for the reason given in ``why``.
    """

    name: str
    sources: tuple[str, ...]
    forbidden: tuple[str, ...]
    why: str
    allowed_in: tuple[str, ...] = ()


_ABOVE_ENGINE = ("mujun.services", "mujun.server", "mujun.cli")

RULES = (
    Rule("the language stands alone", ("mujun.lang.*",),
         ("polars", "pyarrow", "mujun.engine", "mujun.store", "grpc", *_ABOVE_ENGINE),
         "mujun.lang parses and type-checks; the engine lowers its typed AST to Polars"),
    Rule("packs sit below the engine", ("mujun.packs.*",), ("mujun.engine", "mujun.store", "grpc", *_ABOVE_ENGINE),
         "a pack is data the engine compiles, never the other way round"),
    Rule("the engine knows no transport or store", ("mujun.engine.*",),
         ("grpc", "google.protobuf", "mujun_wire", "mujun_client", "sqlalchemy", "mujun.store", *_ABOVE_ENGINE),
         "the engine evaluates tables; the services decide what is stored and sent"),
    Rule("the library needs no server", ("mujun", "mujun.pack", "mujun.io", "mujun.cases", "mujun.synth",
                                         "mujun.errors"),
         ("grpc", "sqlalchemy", "mujun.store", *_ABOVE_ENGINE),
         "`import mujun` and load_pack work without the server's dependencies"),
    Rule("event rules are pure", ("mujun.events.*",),
         ("grpc", "google.protobuf", "mujun_wire", "mujun_client", "sqlalchemy", "mujun.store", *_ABOVE_ENGINE),
         "events, rules and effective decisions are computed from values; the services store and stream them"),
    Rule("the store serves the services", ("mujun.store.*",), ("grpc", "mujun_wire", "mujun_client", *_ABOVE_ENGINE),
         "the store keeps rows; it knows no caller, servicer or command"),
    Rule("the services know nothing of gRPC", ("mujun.services.*",),
         ("grpc", "google.protobuf", "mujun_wire", "mujun_client", "mujun.server", "mujun.cli"),
         "the services return typed results; the servicers turn them into protobuf"),
    Rule("servicers go through the services", ("mujun.server.*",), ("mujun.store",),
         "servicers convert and call a service; only assembling the server touches the store",
         allowed_in=("mujun.server.app",  # opens the store and hands it to the services
                     "mujun.server.auth")),  # resolves tokens before any service is called
    Rule("the CLI goes through the client or the services", ("mujun.cli.*",), ("mujun.store", "mujun.server"),
         "remote commands use mujun_client; local commands use the library",
         allowed_in=("mujun.cli.audit",  # verifies the audit chain in the store file itself
                     "mujun.cli.store",  # checks, backs up and restores the store file
                     "mujun.cli.token",  # creates and revokes tokens in the store file
                     "mujun.cli.serve")),  # starts the server
    Rule("the client installs alone", ("mujun_client.*", "mujun_wire.*"), ("mujun", "polars", "sqlalchemy"),
         "mujun-client is its own distribution: grpcio, protobuf and pyarrow only"),
)

#: Packages a rule names that are still being written: their rules apply as soon as their files exist.
PLANNED = frozenset({"mujun.lang"})


def _matches(module: str, pattern: str) -> bool:
    if pattern.endswith(".*"):
        package = pattern[:-2]
        return module == package or module.startswith(package + ".")
    return module == pattern


def _under(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def module_imports(roots: tuple[Path, ...]) -> dict[str, set[str]]:
    """Module name → every module its import statements name (``from a import b``: ``a`` and ``a.b``)."""
    found: dict[str, set[str]] = {}
    for root in roots:
        for path in sorted(root.rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            package = parts[:-1] if parts[-1] == "__init__" else parts
            module = ".".join(package)
            names: set[str] = set()
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
                if isinstance(node, ast.Import):
                    names.update(alias.name for alias in node.names)
                elif isinstance(node, ast.ImportFrom):
                    base = node.module or ""
                    if node.level:  # relative: from the file's package, one level up per extra dot
                        anchor = list(parts[:-1])[: len(parts) - node.level]
                        base = ".".join([*anchor, *([node.module] if node.module else [])])
                    names.add(base)
                    names.update(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")
            found[module] = names
    return found


def violations(rules: tuple[Rule, ...], imports: dict[str, set[str]]) -> list[str]:
    broken = []
    for rule in rules:
        for module, names in sorted(imports.items()):
            if not any(_matches(module, s) for s in rule.sources) or module in rule.allowed_in:
                continue
            for name in sorted(names):
                if any(_under(name, f) for f in rule.forbidden) and not any(_matches(name, s) for s in rule.sources):
                    broken.append(f"{module} imports {name}: {rule.name} ({rule.why})")
    return broken


IMPORTS = module_imports(SOURCES)


@pytest.mark.parametrize("rule", RULES, ids=[r.name for r in RULES])
def test_no_module_breaks_the_rule(rule):
    assert violations((rule,), IMPORTS) == []


@pytest.mark.parametrize("rule", RULES, ids=[r.name for r in RULES])
def test_each_rule_checks_modules_that_exist_or_are_planned(rule):
    """A rule whose package was renamed would check nothing and pass forever; a planned one may wait."""
    checked = [m for m in IMPORTS if any(_matches(m, s) for s in rule.sources)]
    planned = [s for s in rule.sources if s.removesuffix(".*") in PLANNED]
    assert checked or planned, f"{rule.name}: no module matches {rule.sources}"
    assert all(m in IMPORTS for m in rule.allowed_in), f"{rule.name}: an exception names a module that is gone"


def test_the_checker_finds_lazy_and_relative_imports(tmp_path):
    """The checker itself, on a small tree that breaks two rules (so a checker that sees nothing fails)."""
    engine = tmp_path / "mujun" / "engine"
    engine.mkdir(parents=True)
    (tmp_path / "mujun" / "__init__.py").write_text("")
    (engine / "__init__.py").write_text("from . import stage\n")
    (engine / "stage.py").write_text("def run():\n    import grpc\n    from ..store import models\n")
    found = violations(RULES, module_imports((tmp_path,)))
    assert [line.split(":")[0] for line in found] == ["mujun.engine.stage imports grpc",
                                                      "mujun.engine.stage imports mujun.store",
                                                      "mujun.engine.stage imports mujun.store.models"]
