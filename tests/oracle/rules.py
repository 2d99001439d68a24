"""The pack as the oracle reads it: its expressions parsed by YAML path, the fields it reads, its parameters."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from mujun import lang as ex
from mujun.packs.fields import CANONICAL_FIELDS, ID_FIELD
from mujun.packs.model import Pack


@dataclass(frozen=True)
class FieldRule:
    """How one input field is read: its type, whether it is required, the values it may take."""

    name: str
    type: str  # number | string | flags
    require: str  # present | positive | non_negative | optional
    allowed: tuple[str, ...] | None


@dataclass
class Rules:
    pack: Pack
    exprs: dict[str, ex.Node] = field(default_factory=dict)
    fields: dict[str, FieldRule] = field(default_factory=dict)  # only those the pack reads; the id first
    numbers: dict[str, float] = field(default_factory=dict)
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)

    def value(self, path: str, env: dict[str, Any]) -> Any:
        """The expression at ``path`` for one record (``None``: missing)."""
        return ex.eval_row(self.exprs[path], env, self.tables.__getitem__)

    def holds(self, path: str, env: dict[str, Any]) -> bool:
        """A condition is met only when it is true (missing is not met)."""
        return self.value(path, env) is True

    @property
    def tier_names(self) -> list[str]:
        return self.pack.tiers.tier_names() if self.pack.tiers else []

    def order_by(self) -> list[tuple[str, bool]]:
        """(name, descending) for each ``order_by`` entry; desc unless it says asc."""
        out = []
        for spec in self.pack.tiers.order_by if self.pack.tiers else []:
            name, _, direction = spec.strip().partition(" ")
            out.append((name, (direction.strip() or "desc") == "desc"))
        return out

    def calls(self, func: str, prefixes: tuple[str, ...]) -> list[ex.Call]:
        """Every call of ``func`` in the expressions under the given paths."""
        return [c for path, node in self.exprs.items() if path.startswith(prefixes) for c in _calls(node, func)]


def read_rules(pack: Any) -> Rules:
    """``pack``: a pack model, or a loaded ``mujun.Pack`` (its model is read)."""
    model: Pack = pack if isinstance(pack, Pack) else pack.model
    rules = Rules(pack=model)
    for name, param in model.parameters.items():
        if isinstance(param.value, dict):
            rules.tables[name] = dict(param.value)
        else:
            rules.numbers[name] = float(param.value)
    for path, text in _expressions(model):
        rules.exprs[path] = ex.parse(text)
    for name, bm in model.benchmarks.items():  # a ratio of sums sums the indicator's own two sides
        if bm.reading == "ratio_of_sums":
            quotient = rules.exprs[f"indicators.{bm.of}"]
            rules.exprs[f"benchmarks.{name}.numerator"] = quotient.left  # type: ignore[attr-defined]
            rules.exprs[f"benchmarks.{name}.denominator"] = quotient.right  # type: ignore[attr-defined]
    rules.fields = {name: _field_rule(model, name) for name in sorted(_fields_read(model, rules),
                                                                         key=lambda n: (n != ID_FIELD, n))}
    return rules


def _expressions(pack: Pack) -> Iterator[tuple[str, Any]]:
    """(YAML path, expression text) of every expression in the pack."""
    for i, rule in enumerate(pack.scope):
        yield f"scope.{i}.when", rule.when
    for name, indicator in pack.indicators.items():
        yield f"indicators.{name}", indicator.expr
    for name, bm in pack.benchmarks.items():
        if bm.value is not None:
            yield f"benchmarks.{name}.value", bm.value
            continue
        yield f"benchmarks.{name}.factor", bm.factor
        if bm.where is not None:
            yield f"benchmarks.{name}.where", bm.where
    for name, item in pack.items.items():
        for key in ("weight", "benchmark", "cap", "floor", "expr", "when"):
            if getattr(item, key) is not None:
                yield f"items.{name}.{key}", getattr(item, key)
        for i, step in enumerate(item.steps):
            yield f"items.{name}.steps.{i}.points", step.points
    for i, adj in enumerate(pack.adjustments):
        yield f"adjustments.{i}.when", adj.when
        yield f"adjustments.{i}.points", adj.points
    for name, measure in pack.measures.items():
        if isinstance(measure.by_tier, dict):
            for tier, value in measure.by_tier.items():
                yield f"measures.{name}.by_tier.{tier}", value
        if measure.by_tier is not None and measure.default is not None:
            yield f"measures.{name}.default", measure.default
        if measure.expr is not None:
            yield f"measures.{name}.expr", measure.expr
        if measure.allocate is not None:
            yield f"measures.{name}.allocate.budget", measure.allocate.budget
            yield f"measures.{name}.allocate.weight", measure.allocate.weight
    for i, check in enumerate(pack.checks):
        for key in ("value", "min", "max", "when"):
            if getattr(check, key) is not None:
                yield f"checks.{i}.{key}", getattr(check, key)
    parks = pack.parks
    if parks is not None:
        if parks.leading is not None:
            yield "parks.leading.min_share", parks.leading.min_share
        if parks.city_where is not None:
            yield "parks.city_where", parks.city_where
        for name, indicator in parks.indicators.items():
            yield f"parks.indicators.{name}", indicator.expr
        for i, check in enumerate(parks.checks):
            for key in ("value", "min", "max", "when"):
                if getattr(check, key) is not None:
                    yield f"parks.checks.{i}.{key}", getattr(check, key)


def _known_fields(pack: Pack) -> set[str]:
    return set(CANONICAL_FIELDS) | set(pack.inputs)


def _fields_read(pack: Pack, rules: Rules) -> set[str]:
    """The id, every field the pack declares, and every field one of its rules reads."""
    known = _known_fields(pack)
    read = {ID_FIELD, *pack.inputs}
    for path, node in rules.exprs.items():
        if not path.startswith("parks.") or path == "parks.city_where":  # park figures are not fields
            read |= ex.names(node) & known
    read |= {g.key for g in pack.groups.values()}
    grouped = [*(b.group_by for b in pack.benchmarks.values()), *(i.cohort for i in pack.items.values()),
               *(m.allocate.group_by for m in pack.measures.values() if m.allocate is not None)]
    if pack.tiers is not None:
        grouped.append(pack.tiers.group_by)
        read |= {name for name, _ in rules.order_by()} & known
        if pack.tiers.method == "input":
            read.add("tier")
    if pack.parks is not None:
        grouped.append([pack.parks.by, *([pack.parks.industry] if pack.parks.industry else [])])
        read |= {x for x in pack.parks.sums if x not in pack.indicators} & known
    read |= {f for fields in grouped for f in fields if f not in pack.groups}
    return read


def _field_rule(pack: Pack, name: str) -> FieldRule:
    """A declared field keeps the canonical type unless it says its own; an undeclared one is required."""
    base, declared = CANONICAL_FIELDS.get(name), pack.inputs.get(name)
    if declared is None:
        assert base is not None
        return FieldRule(name, base.type, "optional" if base.type == "flags" else "present", None)
    kind = declared.type if base is None or "type" in declared.model_fields_set else base.type
    return FieldRule(name, kind, declared.require, tuple(declared.allowed) if declared.allowed else None)


def _calls(node: ex.Node, func: str) -> list[ex.Call]:
    found = [node] if isinstance(node, ex.Call) and node.func == func else []
    for value in vars(node).values():
        for child in value if isinstance(value, (list, tuple)) else [value]:
            if isinstance(child, ex.Node):  # type: ignore[arg-type]
                found += _calls(child, func)
    return found
