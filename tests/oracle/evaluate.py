"""The oracle's run: the stages in the pack's order over plain dicts, then what a record may publish."""

from __future__ import annotations

from typing import Any

from mujun import lang as ex
from mujun.packs.fields import ID_FIELD

from oracle.checks import apply_checks
from oracle.firms import ERROR, OK, apply_scope, compute_indicators, earlier_values, no_past, read_records, split_years
from oracle.measures import apply_measures, tier_history
from oracle.rules import Rules, read_rules
from oracle.scoring import compute_benchmarks, score, score_items
from oracle.tiers import assign_tiers


def reference_evaluate(pack: Any, records: list[dict[str, Any]], prior: list[dict[str, Any]] | None = None,
                       history: list[dict[str, Any]] | None = None, cycle: int | None = None) -> list[dict[str, Any]]:
    """One dict per record, in input order: the published columns under their published names
    (``item.tax``, ``benchmark.tax_bm`` …), plus ``facts`` (what the stages decided),
    ``unknown_lookups`` ((path, table, key) of each lookup of a key its table lacks) and ``env``
    (every value of the record under the pack's names, for :func:`oracle.reference_parks`)."""
    rules = read_rules(pack)
    latest, years = split_years(prior, cycle)
    rows = compute_indicators(rules, earlier_values(rules, apply_scope(rules, read_records(rules, records)), years))
    before = None if latest is None else run_through_indicators(rules, latest)
    compute_benchmarks(rules, rows, before)
    score_items(rules, rows)
    score(rules, rows)
    assign_tiers(rules, rows)
    tier_history(rules, rows, history, cycle)
    apply_measures(rules, rows)
    apply_checks(rules, rows)
    return [_published(rules, env) for env in rows]


def run_through_indicators(rules: Rules, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """An earlier year's records as far as the indicators (what parks and benchmarks read of it)."""
    return compute_indicators(rules, no_past(rules, apply_scope(rules, read_records(rules, records))))


def _published(rules: Rules, env: dict[str, Any]) -> dict[str, Any]:
    """What a record's status lets it publish: an unrated firm has no score, an error no tier …"""
    pack = rules.pack
    ok, good = env["status"] == OK, env["status"] != ERROR
    graded = good and env["tier"] is not None

    def only(condition: bool, value: Any) -> Any:
        return value if condition else None

    out: dict[str, Any] = {
        ID_FIELD: env[ID_FIELD], "status": env["status"], "error": env["error"], "reason": env["reason"],
        "score": only(ok, env["score"]), "tier": only(graded, env["tier"]), "rank": only(ok, env["rank"]),
        "group": only(good, env["group"]), **{name: env[name] for name in pack.groups},
        **{f"item.{n}": only(ok, env[f"item.{n}"]) for n in pack.items},
        **{f"adjust.{a.name}": only(ok, env[f"adjust.{a.name}"]) for a in pack.adjustments},
        **{f"measure.{n}": only(graded, env[f"measure.{n}"]) for n in pack.measures},
        **{f"indicator.{n}": only(good, env[n]) for n in pack.indicators},
        **{f"benchmark.{n}": only(ok, env[n]) for n in pack.benchmarks},
        "pack_id": pack.id, "pack_version": pack.version,
    }
    if any(bm.value is None and bm.source != "current" for bm in pack.benchmarks.values()):
        out["benchmark_basis"] = only(ok, env["basis"])
    if pack.checks:
        out.update(decision=env["decision"], failed=env["failed"], **{f"check.{c.name}": env[f"check.{c.name}"]
                                                                      for c in pack.checks})
    out["facts"] = _facts(rules, env)
    out["unknown_lookups"] = unknown_lookups(rules, env)
    out["env"] = env
    return out


def _facts(rules: Rules, env: dict[str, Any]) -> dict[str, Any]:
    """What the stages decided beyond the published columns, by the oracle's own names."""
    pack = rules.pack
    facts: dict[str, Any] = {"scope_tier": env["scope_tier"], "veto": env["veto"], "group_n": env["group_n"],
                             "tier_streak": env["tier_streak"], "cycle": env["cycle"]}
    if pack.tiers is not None and pack.tiers.method == "quota":
        for quota in pack.tiers.quotas:
            facts[f"last_rank.{quota.tier}"] = None if env["last_rank"] is None else env["last_rank"][quota.tier]
    for name, indicator in pack.indicators.items():
        if indicator.zero_denominator is not None:
            facts[f"zero.{name}"] = env[f"zero.{name}"]
    for name, bm in pack.benchmarks.items():
        if bm.value is None:
            facts[f"bm.{name}.stat"], facts[f"bm.{name}.n"] = env[f"bm.{name}.stat"], env[f"bm.{name}.n"]
    for name, item in pack.items.items():
        facts[f"applied.{name}"] = env[f"applied.{name}"]
        if item.method in ("ratio", "steps"):
            facts[f"{item.method}.{name}"] = env[f"{item.method}.{name}"]
    for adj in pack.adjustments:
        facts[f"hit.{adj.name}"] = env[f"hit.{adj.name}"]
    for check in pack.checks:
        compared = env[f"compared.{check.name}"] or {}
        for part in ("value", "threshold", *(("raw",) if check.precision is not None else ())):
            facts[f"compared.{check.name}.{part}"] = compared.get(part)
    for func, prefixes in (("past", ("indicators.",)), ("tier_count", ("measures.", "checks."))):
        for call in rules.calls(func, prefixes):
            facts[ex.earlier_column(call)] = env.get(ex.earlier_column(call))
    return facts


class _Absent(dict):
    """A record's names; a name the record never reached (an item of an unrated firm) is missing."""

    def __missing__(self, key: str) -> None:
        return None


def _lookups_in(node: ex.Node) -> list[ex.Call]:
    found = [node] if isinstance(node, ex.Call) and node.func == "lookup" else []
    for value in vars(node).values():
        for child in value if isinstance(value, (list, tuple)) else [value]:
            if isinstance(child, ex.Node):  # type: ignore[arg-type]
                found += _lookups_in(child)
    return found


def _reached(rules: Rules, path: str, env: dict[str, Any]) -> bool:
    """Does this record evaluate the expression at ``path``? (Each stage's own rule, row by row.)"""
    pack, part = rules.pack, path.split(".")
    rated, tier = env["status"] == OK, env.get("tier")
    if part[0] == "items":
        return rated and (pack.items[part[1]].when is None or rules.holds(f"items.{part[1]}.when", env))
    if part[0] in ("adjustments", "tiers"):
        return rated
    if part[0] == "checks":
        check = pack.checks[int(part[1])]
        return rated and (part[2] == "when" or check.when is None or rules.holds(f"checks.{part[1]}.when", env))
    if part[0] == "measures":
        if tier is None:
            return False
        if part[2] == "by_tier":
            return tier == ".".join(part[3:])
        if part[2] == "default":
            by_tier = pack.measures[part[1]].by_tier
            return tier not in (rules.tables[by_tier] if isinstance(by_tier, str) else (by_tier or {}))
    return True


def unknown_lookups(rules: Rules, row: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(path, table, key) of each lookup a record reached with a key its table lacks."""
    if row["status"] == ERROR:
        return []
    env, found = _Absent(row), []
    for path, node in rules.exprs.items():
        if path.startswith("parks.") or not _reached(rules, path, env):
            continue
        for call in _lookups_in(node):
            table = call.args[0].value if isinstance(call.args[0], ex.Str) else call.args[0].name  # type: ignore[union-attr]
            key = ex.table_key(ex.eval_row(call.args[1], env, rules.tables.__getitem__))
            if key is not None and key not in rules.tables[table]:
                found.append((path, table, key))
    return sorted(found)
