"""Compiler: a validated pack model → a checked :class:`Plan`.

The passes run in the order of :data:`PASSES` (the pipeline's stage order, :mod:`mujun.engine.pipeline`); each adds what it finds to one list of issues, so an
editor sees every problem of a pack at once, each with its YAML path. Order matters: names must be
declared before expressions that read them are checked, and an expression is parsed before its
names and types are checked.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from dataclasses import dataclass, field

import polars as pl

from mujun import lang
from mujun.engine.lower import lower_plan
from mujun.engine.nodes import IndicatorNode, ItemNode, build_nodes
from mujun.engine.pipeline import in_order
from mujun.engine.schema import RANK, TIER, TIER_STREAK
from mujun.errors import PackError, PackIssue
from mujun.lang import BOOL, NUM, STR, calls
from mujun.packs.fields import CANONICAL_FIELDS, ID_FIELD, TIER_FIELD
from mujun.packs.model import InputSpec, Pack

__all__ = ["Plan", "InputField", "Locator", "compile_plan", "calls", "PASSES", "CYCLE"]

CYCLE = "cycle"
#: Where a pack issue is in the pack's text: (YAML path, offset in the expression or None) → (line, column).
Locator = Callable[[str, int | None], tuple[int, int] | None]


@dataclass(frozen=True)
class InputField:
    name: str
    type: str
    require: str
    allowed: tuple[str, ...] | None
    aliases: tuple[str, ...]
    unit: str | None
    label: str | None


@dataclass(frozen=True, eq=False)
class Plan:
    """Everything evaluation needs, checked and frozen, built once per pack hash: the typed nodes the
    stages take (``indicators``, ``items``: :mod:`mujun.engine.nodes`), and every typed expression by
    its YAML path, each lowered to Polars once (``lowered``; ``parts`` holds the Polars expression of
    every part of a record expression), inputs, parameters."""

    pack: Pack
    pack_hash: str
    exprs: dict[str, lang.Node] = field(default_factory=dict)
    lowered: dict[str, pl.Expr] = field(default_factory=dict)
    parts: dict[lang.Node, pl.Expr] = field(default_factory=dict)
    inputs: dict[str, InputField] = field(default_factory=dict)
    numbers: dict[str, float] = field(default_factory=dict)
    tables: dict[str, dict[str, float]] = field(default_factory=dict)
    order_by: list[tuple[str, bool]] = field(default_factory=list)  # (name, descending)
    indicators: tuple[IndicatorNode, ...] = ()
    items: tuple[ItemNode, ...] = ()

    @functools.cached_property
    def _indicators(self) -> dict[str, IndicatorNode]:
        return {node.name: node for node in self.indicators}

    @functools.cached_property
    def _items(self) -> dict[str, ItemNode]:
        return {node.name: node for node in self.items}

    def indicator(self, name: str) -> IndicatorNode:
        return self._indicators[name]

    def item(self, name: str) -> ItemNode:
        return self._items[name]

    def node(self, path: str) -> lang.Node:
        return self.exprs[path]

    def expr_at(self, path: str) -> lang.Node | None:
        return self.exprs.get(path)

    @property
    def tier_names(self) -> list[str]:
        return self.pack.tiers.tier_names() if self.pack.tiers else []

    @property
    def cycle_readers(self) -> list[str]:
        """The YAML paths of expressions that read the cycle year (a rate in force from a year on)."""
        return [path for path, node in self.exprs.items() if CYCLE in lang.names(node)]


@dataclass
class _Compiler:
    plan: Plan
    locate: Locator | None = None
    issues: list[PackIssue] = field(default_factory=list)
    types: dict[str, str] = field(default_factory=dict)  # name -> type, grows as stages are declared
    used_fields: set[str] = field(default_factory=set)

    def fail(self, path: str, message: str, offset: int | None = None) -> None:
        where = self.locate(path, offset) if self.locate is not None else None
        line, column = where if where is not None else (None, None)
        self.issues.append(PackIssue(path, message, line=line, column=column))

    def expression(self, path: str, text: object, scope: dict[str, str], want: str | None = NUM) -> None:
        """Parse, check names and type of one expression; remember it, typed, by path."""
        try:
            node = lang.parse(text)  # type: ignore[arg-type]
        except lang.ExpressionSyntaxError as exc:
            self.fail(path, str(exc), exc.span.start if exc.span else None)
            return
        unknown = sorted(n for n in lang.names(node) if n not in scope and n not in self.plan.tables)
        if unknown:
            first = next((p for p in lang.walk(node) if isinstance(p, lang.Name) and p.name in unknown), None)
            self.fail(path, f"unknown name(s) {', '.join(unknown)}; known here: {_describe(scope)}",
                      first.span.start if first is not None and first.span else None)
            return
        self.used_fields.update(n for n in lang.names(node) if n in self.fields)
        try:
            node = lang.check(node, scope, self.plan.tables)
        except lang.ExpressionTypeError as exc:
            self.fail(path, f"{text!r}: {exc}", exc.span.start if exc.span else None)
            return
        got = node.type
        if want is not None and got != want:
            self.fail(path, f"{text!r} gives a {got}, a {want} is needed here")
            return
        if problem := _earlier_problem(self.plan, path, node):
            self.fail(path, problem)
            return
        self.plan.exprs[path] = node

    @functools.cached_property
    def fields(self) -> dict[str, InputSpec]:
        """The canonical fields merged with the pack's inputs (built once: every expression asks)."""
        return _all_fields(self.plan.pack)


def _describe(scope: dict[str, str]) -> str:
    shown = sorted(scope)
    return ", ".join(shown[:25]) + (" …" if len(shown) > 25 else "")


def _all_fields(pack: Pack) -> dict[str, InputSpec]:
    fields = {
        name: InputSpec(type=f.type, require="optional" if f.type == "flags" else "present",
                        aliases=list(f.aliases), unit=f.unit, label=f.label)
        for name, f in CANONICAL_FIELDS.items()
    }
    for name, spec in pack.inputs.items():
        base = fields.get(name)
        merged_aliases = list(dict.fromkeys([*(base.aliases if base else []), *spec.aliases]))
        # a pack that only says `require: positive` keeps the canonical type of the field
        kind = spec.type if (base is None or "type" in spec.model_fields_set) else base.type
        fields[name] = spec.model_copy(update={"aliases": merged_aliases, "type": kind,
                                               "unit": spec.unit or (base.unit if base else None),
                                               "label": spec.label or (base.label if base else None)})
    return fields


def _earlier_problem(plan: Plan, path: str, node: lang.Node) -> str | None:
    """``past`` reads earlier cycles in indicators, of a field or of an indicator that does not itself
    read earlier cycles; ``tier_count`` needs this cycle's tier (measures, checks) and a known tier."""
    for call in calls(node, "past"):
        target = call.args[0].name  # type: ignore[union-attr]
        if not path.startswith("indicators."):
            return "past() reads the firm's earlier cycles in indicators only; name an indicator for it"
        if calls(plan.exprs.get(f"indicators.{target}", lang.Num(0)), "past"):
            return f"past({target}, …): {target} itself reads earlier cycles; read its inputs instead"
    for call in calls(node, "tier_count"):
        tier = call.args[0].value  # type: ignore[union-attr]
        if not path.startswith(("measures.", "checks.")):
            return "tier_count() counts tiers up to this cycle's: use it in measures or checks"
        if tier not in plan.tier_names:
            return f"tier_count(): unknown tier {tier!r}; tiers: {', '.join(plan.tier_names)}"
    return None


# ---------------------------------------------------------------- passes


def _pass_parameters(c: _Compiler) -> None:
    for name, param in c.plan.pack.parameters.items():
        if isinstance(param.value, dict):
            c.plan.tables[name] = dict(param.value)
        else:
            c.plan.numbers[name] = float(param.value)
            c.types[name] = NUM


def _pass_fields(c: _Compiler) -> None:
    for name, spec in c.fields.items():
        if name in c.types:
            c.fail(f"inputs.{name}", f"{name} is also a parameter; names must be unique")
        c.types[name] = spec.type


def _pass_groups(c: _Compiler) -> None:
    fields = c.fields
    for name, spec in c.plan.pack.groups.items():
        path = f"groups.{name}"
        table = c.plan.tables.get(spec.table)
        if name in c.types:
            c.fail(path, f"{name} is already a field or parameter; choose another name")
        elif table is None or not all(isinstance(v, str) for v in table.values()):
            c.fail(f"{path}.table", f"{spec.table!r} is not a table of words; tables: {', '.join(c.plan.tables) or 'none'}")
        elif spec.key not in fields or fields[spec.key].type != STR:
            c.fail(f"{path}.key", f"{spec.key!r} is not a text field (e.g. industry)")
        else:
            c.used_fields.add(spec.key)
            c.types[name] = STR


def _pass_scope(c: _Compiler) -> None:
    for i, rule in enumerate(c.plan.pack.scope):
        c.expression(f"scope.{i}.when", rule.when, dict(c.types), want=BOOL)
        if rule.tier is not None and rule.tier not in c.plan.tier_names:
            c.fail(f"scope.{i}.tier", f"unknown tier {rule.tier!r}; tiers: {', '.join(c.plan.tier_names)}")


def _pass_indicators(c: _Compiler) -> None:
    for name, indicator in c.plan.pack.indicators.items():
        path = f"indicators.{name}"
        if name in c.types:
            c.fail(path, f"{name} is already a field or parameter; choose another name")
            continue
        c.expression(path, indicator.expr, dict(c.types))
        c.types[name] = NUM
        node = c.plan.exprs.get(path)
        if indicator.zero_denominator and node is not None and not (isinstance(node, lang.Binary) and node.op == "/"):
            c.fail(f"{path}.zero_denominator", "a zero-denominator policy needs a quotient 'a / b' as the expression")


def _pass_benchmarks(c: _Compiler) -> None:
    base = dict(c.types)
    indicators = c.plan.pack.indicators
    for name, bm in c.plan.pack.benchmarks.items():
        path = f"benchmarks.{name}"
        if name in c.types:
            c.fail(path, f"{name} is already a field, parameter or indicator; choose another name")
            continue
        if bm.value is not None:
            c.expression(f"{path}.value", bm.value, base)
        else:
            if bm.of not in indicators:
                c.fail(f"{path}.of", f"unknown indicator {bm.of!r}; indicators: {', '.join(indicators)}")
            elif bm.reading == "ratio_of_sums":
                _ratio_of_sums(c, path, bm.of)
            c.expression(f"{path}.factor", bm.factor, {k: v for k, v in base.items() if k in c.plan.numbers})
            _check_group_fields(c, f"{path}.group_by", bm.group_by)
            if bm.where is not None:
                c.expression(f"{path}.where", bm.where, base, want=BOOL)
        c.types[name] = NUM


def _ratio_of_sums(c: _Compiler, path: str, of: str) -> None:
    """Σ numerator ÷ Σ denominator over the cohort: the indicator's own two sides, as parsed."""
    node = c.plan.exprs.get(f"indicators.{of}")
    if not (isinstance(node, lang.Binary) and node.op == "/"):
        c.fail(f"{path}.reading", f"ratio_of_sums needs an indicator of the form a / b; {of} is not")
        return
    c.plan.exprs[f"{path}.numerator"], c.plan.exprs[f"{path}.denominator"] = node.left, node.right


def _check_group_fields(c: _Compiler, path: str, group_by: list[str]) -> None:
    fields = c.fields
    for name in group_by:
        if name in c.plan.pack.groups:
            continue
        if name not in fields or fields[name].type != STR:
            c.fail(path, f"{name!r} is not a text field to group by (e.g. region, industry, size_class)")
        else:
            c.used_fields.add(name)


def _pass_items(c: _Compiler) -> None:
    scope = dict(c.types)
    for name, item in c.plan.pack.items.items():
        path = f"items.{name}"
        if item.indicator is not None and item.indicator not in c.plan.pack.indicators:
            c.fail(f"{path}.indicator", f"unknown indicator {item.indicator!r}")
        for key in ("weight", "benchmark", "cap", "floor", "expr"):
            value = getattr(item, key)
            if value is not None:
                c.expression(f"{path}.{key}", value, scope)
        for i, step in enumerate(item.steps):
            c.expression(f"{path}.steps.{i}.points", step.points, scope)
        if item.when is not None:
            c.expression(f"{path}.when", item.when, scope, want=BOOL)
        _check_group_fields(c, f"{path}.cohort", item.cohort)
        indicator = c.plan.pack.indicators.get(item.indicator or "")
        if indicator is not None and indicator.zero_denominator == "full" and (
                item.method == "expr" or (item.method == "ratio" and item.cap_ratio is None and item.cap is None)):
            c.fail(f"{path}.indicator", f"indicator {item.indicator!r} gives full points for a zero denominator: "
                                        "the item needs 'cap_ratio' or 'cap' to say what full points are")
        if item.method == "steps" and any(s.min is None for s in item.steps[:-1]):
            c.fail(f"{path}.steps", "only the last step may leave out 'min'")
    for name in c.plan.pack.items:
        c.types[f"item.{name}"] = NUM
    c.types["score"] = NUM


def _pass_adjustments(c: _Compiler) -> None:
    tiers = c.plan.tier_names
    for i, adj in enumerate(c.plan.pack.adjustments):
        path = f"adjustments.{i}"
        c.expression(f"{path}.when", adj.when, dict(c.types), want=BOOL)
        c.expression(f"{path}.points", adj.points, dict(c.types))
        if adj.veto is not None and adj.veto not in tiers:
            c.fail(f"{path}.veto", f"unknown tier {adj.veto!r}; tiers: {', '.join(tiers)}")


def _pass_tiers(c: _Compiler) -> None:
    tiers = c.plan.pack.tiers
    if tiers is None:
        if c.plan.pack.measures:
            c.fail("tiers", "measures need tiers: add a 'tiers' section (method 'input' reads a tier column)")
        return
    if tiers.method == "input":
        c.used_fields.add(TIER_FIELD)
    _check_group_fields(c, "tiers.group_by", tiers.group_by)
    if tiers.method == "thresholds":
        mins = [t.min for t in tiers.thresholds]
        if any(m is None for m in mins[:-1]) or any(
            a < b for a, b in zip(mins[:-1], mins[1:]) if a is not None and b is not None
        ):
            c.fail("tiers.thresholds", "list thresholds from the highest 'min' down; only the last may omit 'min'")
    for i, spec in enumerate(tiers.order_by):
        name, _, direction = spec.strip().partition(" ")
        direction = direction.strip() or "desc"
        if direction not in ("asc", "desc"):
            c.fail(f"tiers.order_by.{i}", f"direction must be asc or desc, got {direction!r}")
        elif name not in c.types or c.types[name] not in (NUM, STR):
            c.fail(f"tiers.order_by.{i}", f"unknown name {name!r} to order by")
        else:
            c.plan.order_by.append((name, direction == "desc"))
            if name in c.fields:
                c.used_fields.add(name)
    c.types.update({TIER: STR, RANK: NUM, TIER_STREAK: NUM})


def _pass_measures(c: _Compiler) -> None:
    tiers = c.plan.tier_names
    if CYCLE in c.types:
        c.fail(f"inputs.{CYCLE}", f"'{CYCLE}' is the evaluated cycle (the year); name the input field otherwise")
    c.types[CYCLE] = NUM  # measures and checks may read the cycle year: rates in force from a year on
    for name, measure in c.plan.pack.measures.items():
        path = f"measures.{name}"
        scope = dict(c.types)
        want = STR if measure.type == "text" else NUM
        if isinstance(measure.by_tier, str):
            table = c.plan.tables.get(measure.by_tier)
            if table is None:
                c.fail(f"{path}.by_tier", f"{measure.by_tier!r} is not a table parameter")
            elif want == STR or any(isinstance(v, str) for v in table.values()):
                c.fail(f"{path}.by_tier", "a text measure lists its words per tier: by_tier: {D: \"'关闭退出'\"}")
            else:
                _check_tier_keys(c, f"{path}.by_tier", table, tiers)
        elif isinstance(measure.by_tier, dict):
            _check_tier_keys(c, f"{path}.by_tier", measure.by_tier, tiers)
            for tier, value in measure.by_tier.items():
                c.expression(f"{path}.by_tier.{tier}", value, scope, want=want)
        if measure.by_tier is not None and measure.default is not None:
            c.expression(f"{path}.default", measure.default, scope, want=want)
        if measure.expr is not None:
            c.expression(f"{path}.expr", measure.expr, scope, want=want)
        if measure.allocate is not None:
            _allocation(c, f"{path}.allocate", measure, scope)
        c.types[f"measure.{name}"] = want


def _allocation(c: _Compiler, path: str, measure, scope: dict[str, str]) -> None:
    spec = measure.allocate
    _check_group_fields(c, f"{path}.group_by", spec.group_by)
    per_group = set(c.plan.numbers) | set(c.plan.tables) | set(spec.group_by)
    c.expression(f"{path}.budget", spec.budget, {k: v for k, v in scope.items() if k in per_group})
    c.expression(f"{path}.weight", spec.weight, scope)


def _pass_checks(c: _Compiler) -> None:
    scope = dict(c.types)
    scope.setdefault(CYCLE, NUM)
    seen: set[str] = set()
    for i, check in enumerate(c.plan.pack.checks):
        path = f"checks.{i}"
        if check.name in seen:
            c.fail(f"{path}.name", f"check {check.name!r} is declared twice")
        seen.add(check.name)
        c.expression(f"{path}.value", check.value, scope)
        for bound in ("min", "max"):
            if getattr(check, bound) is not None:
                c.expression(f"{path}.{bound}", getattr(check, bound), scope)
        if check.when is not None:
            c.expression(f"{path}.when", check.when, scope, want=BOOL)
        if check.message is not None:
            try:
                check.message.format(label="", value="", threshold="", unit="")
            except (KeyError, IndexError, ValueError) as exc:
                c.fail(f"{path}.message", f"placeholders are {{label}} {{value}} {{threshold}} {{unit}}; got {exc}")


def _pass_parks(c: _Compiler) -> None:
    """Park figures are numbers per park; park indicators and checks read them, never a firm's values."""
    spec = c.plan.pack.parks
    if spec is None:
        return
    _check_group_fields(c, "parks.by", [spec.by])
    if spec.industry is not None:
        _check_group_fields(c, "parks.industry", [spec.industry])
    for i, name in enumerate(spec.sums):
        if name not in c.plan.pack.indicators and (name not in c.fields or c.types.get(name) != NUM):
            c.fail(f"parks.sums.{i}", f"{name!r} is not a number field or indicator to sum")
        elif name not in c.plan.pack.indicators:
            c.used_fields.add(name)
    if spec.leading is not None and spec.leading.by not in spec.sums:
        c.fail("parks.leading.by", f"{spec.leading.by!r} must be one of the sums: {', '.join(spec.sums) or 'none'}")
    if spec.leading is not None:
        c.expression("parks.leading.min_share", spec.leading.min_share, {n: NUM for n in c.plan.numbers})
    if spec.city_where is not None:
        c.expression("parks.city_where", spec.city_where, dict(c.types), want=BOOL)
    scope = {**{n: NUM for n in c.plan.numbers}, **{n: NUM for n in spec.figures()}}
    for name, indicator in spec.indicators.items():
        if name in scope:
            c.fail(f"parks.indicators.{name}", f"{name} is already a park figure or parameter; choose another name")
            continue
        c.expression(f"parks.indicators.{name}", indicator.expr, dict(scope))
        scope[name] = NUM
    seen: set[str] = set()
    for i, check in enumerate(spec.checks):
        path = f"parks.checks.{i}"
        if check.name in seen:
            c.fail(f"{path}.name", f"check {check.name!r} is declared twice")
        seen.add(check.name)
        for key in ("value", "min", "max"):
            if getattr(check, key) is not None:
                c.expression(f"{path}.{key}", getattr(check, key), scope)
        if check.when is not None:
            c.expression(f"{path}.when", check.when, scope, want=BOOL)


def _check_tier_keys(c: _Compiler, path: str, table: dict, tiers: list[str]) -> None:
    unknown = [k for k in table if k not in tiers]
    if unknown:
        c.fail(path, f"unknown tier(s) {', '.join(unknown)}; tiers: {', '.join(tiers)}")


def _pass_inputs(c: _Compiler) -> None:
    """Only the fields the pack reads are required from the input table (plus the id)."""
    fields = c.fields
    wanted = {ID_FIELD} | c.used_fields | set(c.plan.pack.inputs)
    for name in sorted(wanted, key=lambda n: (n != ID_FIELD, n)):
        spec = fields[name]
        c.plan.inputs[name] = InputField(
            name=name, type=spec.type, require=spec.require,
            allowed=tuple(spec.allowed) if spec.allowed else None,
            aliases=tuple(spec.aliases), unit=spec.unit, label=spec.label,
        )


PASSES: tuple[tuple[str, Callable[[_Compiler], None]], ...] = (
    # parameters and fields first: every later expression is checked against these names
    ("parameters", _pass_parameters),
    ("fields", _pass_fields),
    # then one pass per stage, in the pipeline's order (mujun.engine.pipeline): each declares what it adds
    *in_order({"groups": _pass_groups, "scope": _pass_scope, "indicators": _pass_indicators,
               "benchmarks": _pass_benchmarks, "items": _pass_items, "score": _pass_adjustments,
               "tiers": _pass_tiers, "measures": _pass_measures, "checks": _pass_checks, "parks": _pass_parks}),
    ("inputs", _pass_inputs),  # last: collects every field the expressions above read
)


def compile_plan(pack: Pack, pack_hash: str, *, locate: Locator | None = None) -> Plan:
    """Check the pack and lower its expressions to Polars; ``locate`` gives issues a line and column."""
    compiler = _Compiler(Plan(pack=pack, pack_hash=pack_hash), locate=locate)
    for _name, run in PASSES:
        run(compiler)
    if compiler.issues:
        raise PackError(compiler.issues, source=pack.id)
    lower_plan(compiler.plan)
    indicators, items = build_nodes(compiler.plan)
    return dataclasses.replace(compiler.plan, indicators=indicators, items=items)
