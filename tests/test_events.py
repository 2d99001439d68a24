"""Event rules: what each kind of rule fires and what a firm's decision is at a date, on both detectors.

The rules are tests/fixtures/packs/events.yaml (js-huaian-2024 with one rule of every kind); each test
runs on the reference and on durable_rules, which must agree."""

from __future__ import annotations

import datetime as dt

import pytest

import mujun
from mujun.events import (BaseDecision, DurableDetector, Event, decision_changes, detect_reference, effective_decision,
                          parse_events)
from mujun.events.explain import explain_effective
from conftest import FIXTURES

PACK = mujun.load_pack(FIXTURES / "packs" / "events.yaml")
SPEC = PACK.model.events
DAY0 = dt.date(2024, 1, 1)


@pytest.fixture(scope="module")
def durable() -> DurableDetector:
    return DurableDetector(SPEC, PACK.hash, shards=4)


@pytest.fixture(params=["reference", "durable"])
def detect(request, durable):
    if request.param == "reference":
        return lambda events, as_of: detect_reference(SPEC, events, as_of)
    return durable.detect


def day(n: int) -> dt.date:
    return DAY0 + dt.timedelta(days=n)


def ev(id_: str, type_: str, at: int, firm: str = "F1", **fields) -> Event:
    return Event(id_, firm, type_, day(at), {k: float(v) if isinstance(v, int) else v for k, v in fields.items()})


def retier(score: float) -> str:
    return "A" if score >= 80 else "B" if score >= 60 else "C" if score >= 40 else "D"


BASE = BaseDecision("F1", "B", 70.0, {"land_tax_reduction_pct": 50.0, "electricity_surcharge_yuan_per_kwh": 0.0}, "320805")


def remeasure(tier: str, score: float | None) -> dict:
    return {"land_tax_reduction_pct": {"A": 100.0, "B": 50.0}.get(tier, 0.0),
            "electricity_surcharge_yuan_per_kwh": 0.3 if tier == "D" else 0.0}


def decide(detect, events, at: int, base: BaseDecision = BASE):
    return effective_decision(PACK.model, base, events, day(at), retier=retier, remeasure=remeasure, detect=detect)


def test_a_major_env_penalty_forces_d_with_the_surcharge_from_its_date(detect):
    events = [ev("p1", "env_penalty", 10, severity="major")]
    assert decide(detect, events, 9).tier == "B"
    after = decide(detect, events, 10)
    assert (after.tier, after.measures["electricity_surcharge_yuan_per_kwh"]) == ("D", 0.3)
    assert [(a.rule, a.event_id, a.from_, a.until) for a in after.applied] == [
        ("major_env_penalty", "p1", day(10), day(375))]


def test_the_forced_tier_expires_after_its_days(detect):
    events = [ev("p1", "env_penalty", 10, severity="major")]
    assert decide(detect, events, 374).tier == "D"
    expired = decide(detect, events, 375)
    assert (expired.tier, expired.applied, [e.state for e in expired.ended]) == ("B", (), ["expired"])


def test_a_general_penalty_forces_nothing(detect):
    assert decide(detect, [ev("p1", "env_penalty", 10, severity="general")], 20).tier == "B"


def test_two_penalties_within_365_days_cost_points_and_re_tier(detect):
    events = [ev("p1", "env_penalty", 0, severity="general"), ev("p2", "env_penalty", 365, severity="general"),
              ev("r1", "rectification_done", 5), ev("r2", "rectification_done", 370)]
    decision = decide(detect, events, 400)
    assert [a.rule for a in decision.applied] == ["repeated_env_penalty"]
    assert (decision.score, decision.tier) == (65.0, "B")
    low = decide(detect, events, 400, BaseDecision("F1", "B", 62.0, {}, "g"))
    assert (low.score, low.tier) == (57.0, "C")


def test_two_penalties_366_days_apart_are_not_counted_together(detect):
    events = [ev("p1", "env_penalty", 0, severity="general"), ev("p2", "env_penalty", 366, severity="general"),
              ev("r1", "rectification_done", 5), ev("r2", "rectification_done", 370)]
    assert decide(detect, events, 400).applied == ()


def test_no_rectification_within_90_days_deducts_from_the_deadline(detect):
    events = [ev("p1", "env_penalty", 0, severity="general")]
    assert decide(detect, events, 89).score == 70.0  # the absence is not a fact before the deadline
    late = decide(detect, events, 90)
    assert (late.score, [(a.rule, a.from_, a.until) for a in late.applied]) == (67.0, [("unrectified", day(90), None)])


def test_a_rectification_within_90_days_prevents_the_deduction(detect):
    events = [ev("p1", "env_penalty", 0, severity="general"), ev("r1", "rectification_done", 90)]
    assert decide(detect, events, 200).score == 70.0


def test_a_later_rectification_lifts_the_deduction(detect):
    events = [ev("p1", "env_penalty", 0, severity="general"), ev("r1", "rectification_done", 120)]
    assert decide(detect, events, 119).score == 67.0
    lifted = decide(detect, events, 120)
    assert lifted.score == 70.0
    assert [(e.rule, e.state, e.until, e.ended_by) for e in lifted.ended] == [("unrectified", "lifted", day(120), "r1")]


def test_a_firing_while_in_force_renews_instead_of_stacking(detect):
    events = [ev("c1", "certification", 0, kind="high_tech"), ev("c2", "certification", 100, kind="specialised")]
    decision = decide(detect, events, 400)
    assert (decision.score, decision.applied[0].until) == (73.0, day(465))
    assert [(e.event_id, e.state) for e in decision.ended] == [("c1", "renewed")]


def test_a_number_condition_and_a_measure_override(detect):
    events = [ev("p1", "env_penalty", 0, severity="general", amount_wan=50), ev("r1", "rectification_done", 1),
              ev("s1", "production_stopped", 3)]
    decision = decide(detect, events, 10)
    assert decision.score == 68.0
    assert decision.measures["land_tax_reduction_pct"] == 0.0


def test_a_missing_optional_field_meets_no_condition(detect):
    events = [ev("p1", "env_penalty", 0, severity="general"), ev("r1", "rectification_done", 1)]
    assert decide(detect, events, 10).applied == ()


def test_the_worst_forced_tier_wins_over_points(detect):
    events = [ev("a1", "safety_accident", 0, severity="general"), ev("c1", "certification", 1, kind="high_tech")]
    assert decide(detect, events, 10, BaseDecision("F1", "A", 95.0, {}, "g")).tier == "D"


def test_events_of_other_firms_and_after_as_of_are_ignored(detect):
    events = [ev("p1", "env_penalty", 10, firm="F2", severity="major"), ev("p2", "env_penalty", 30, severity="major")]
    assert decide(detect, events, 20).tier == "B"


def test_an_unrated_firm_is_left_as_it_is(detect):
    unrated = BaseDecision("F1", None, None, {}, None)
    assert decide(detect, [ev("p1", "env_penalty", 0, severity="major")], 10).tier == "D"
    assert decide(detect, [ev("p1", "env_penalty", 0, severity="major")], 10, unrated).tier is None


def test_a_late_event_gives_the_in_order_result(detect):
    in_order = [ev("p1", "env_penalty", 0, severity="general"), ev("r1", "rectification_done", 50),
                ev("p2", "env_penalty", 200, severity="general"), ev("a1", "safety_accident", 300, severity="major")]
    assert decide(detect, in_order[::-1], 500) == decide(detect, in_order, 500)
    assert decide(detect, [in_order[1], in_order[3], in_order[0], in_order[2]], 500) == decide(detect, in_order, 500)


def test_the_explanation_names_event_rule_effect_and_end():
    events = [ev("p1", "env_penalty", 10, severity="major")]
    decision = decide(None, events, 20)
    facts = explain_effective(PACK.model, decision, events)
    text = "\n".join(facts["lines"])
    assert "事件 p1（环境违法行政处罚，2024-01-11）" in text
    assert "规则 major_env_penalty" in text and "直接列为 D 类" in text
    assert "至 2025-01-09（2025-01-10 起失效）" in text
    assert "等级 B → D" in text and "差别电价加价 0 → 0.3 元/kWh" in text
    assert facts["applied"][0] == {"rule": "major_env_penalty", "event_id": "p1", "effect": "直接列为 D 类",
                                   "from": "2024-01-11", "until": "2025-01-10", "state": "in_force", "ended_by": None}


def test_bad_rows_are_rejected_each_with_its_violations_and_good_ones_kept():
    rows = [
        {"event_id": "ok", "enterprise_id": "F1", "type": "env_penalty", "date": "2024-02-01", "severity": "major"},
        {"event_id": "x1", "enterprise_id": "F1", "type": "env_penalty", "date": "2024-13-01", "severity": "huge",
         "amount_wan": "lots"},
        {"event_id": "x2", "enterprise_id": "", "type": "flood", "date": "2024-02-01"},
        {"event_id": "ok", "enterprise_id": "F1", "type": "production_stopped", "date": "2024-02-01"},
        {"event_id": "x3", "enterprise_id": "F1", "type": "safety_accident", "date": "2024-02-01", "colour": "red"},
    ]
    events, rejected = parse_events(SPEC, rows)
    assert [e.id for e in events] == ["ok"]
    assert events[0].fields == {"severity": "major"}
    found = {r.event_id: sorted(v.field for v in r.violations) for r in rejected}
    assert found == {"x1": ["amount_wan", "date", "severity"], "x2": ["enterprise_id", "type"],
                     "ok": ["event_id"], "x3": ["colour", "severity"]}


def test_a_nested_fields_object_is_read_like_flat_columns():
    nested = {"event_id": "e", "enterprise_id": "F1", "type": "env_penalty", "date": "2024-02-01",
              "fields": {"severity": "general", "amount_wan": 12}}
    events, rejected = parse_events(SPEC, [nested])
    assert (rejected, events[0].fields) == ([], {"severity": "general", "amount_wan": 12.0})


def test_durable_detection_leaves_no_session_behind(durable):
    durable.detect([ev(f"p{i}", "env_penalty", i, firm=f"F{i}", severity="general") for i in range(20)], day(400))
    host = durable._host  # noqa: SLF001 - what durable_rules keeps between calls
    for sid in range(durable.shards):
        with pytest.raises(Exception, match="error code: 309"):  # ERR_SID_NOT_FOUND: the session was deleted
            host.get_facts(durable.name, str(sid))


def test_a_pack_without_rules_fires_nothing():
    spec = SPEC.model_copy(update={"rules": []})
    assert DurableDetector(spec, "norules").detect([ev("p1", "env_penalty", 0, severity="major")], day(10)) == set()


def test_js_huaian_2024_forces_d_for_a_major_env_penalty_or_any_safety_accident():
    huaian = mujun.load_pack("js-huaian-2024").model
    for event in (ev("p1", "env_penalty", 0, severity="major"), ev("a1", "safety_accident", 0, severity="general")):
        decision = effective_decision(huaian, BaseDecision("F1", "A", 90.0, {}, "g"), [event], day(364), retier=retier)
        assert (decision.tier, decision.applied[0].until) == ("D", day(365))
    general = ev("p2", "env_penalty", 0, severity="general")
    assert effective_decision(huaian, BaseDecision("F1", "A", 90.0, {}, "g"), [general], day(10), retier=retier).tier == "A"


def test_a_batch_holding_events_no_rule_reads_still_fires_the_others():
    """durable_rules refuses a batch with a fact no rule looks at after queueing the others' actions: the
    detector must still run them (and only then delete the sessions)."""
    huaian = mujun.load_pack("js-huaian-2024")
    events = [ev("c1", "certification", 0, kind="high_tech"), ev("p1", "env_penalty", 1, severity="major"),
              ev("s1", "production_stopped", 2, firm="F2"), ev("a1", "safety_accident", 3, firm="F2", severity="general")]
    found = DurableDetector(huaian.model.events, huaian.hash, shards=1).detect(events, day(10))
    assert found == detect_reference(huaian.model.events, events, day(10))
    assert {(f.rule, f.event_id) for f in found} == {("major_env_penalty", "p1"), ("safety_accident", "a1")}


def test_decision_changes_lists_each_day_the_decision_moves():
    events = [ev("p1", "env_penalty", 10, severity="major"), ev("p2", "env_penalty", 100, severity="general"),
              ev("r1", "rectification_done", 250)]
    firings = detect_reference(SPEC, events, day(500))
    changes = decision_changes(PACK.model, BASE, firings, day(0), day(500), retier=retier, remeasure=remeasure)
    assert [(c.as_of, c.tier, c.score) for c in changes] == [
        (day(10), "D", 70.0),       # forced D from the major penalty
        (day(100), "D", 65.0),      # the second penalty within 365 days: −5 (still D)
        (day(190), "D", 62.0),      # 90 days without rectification: −3
        (day(250), "D", 65.0),      # the rectification lifts the −3
        (day(375), "B", 65.0),      # the forced D expires; −5 remains: B at 65
        (day(465), "B", 70.0),      # the −5 expires
    ]


def test_points_do_not_re_tier_a_firm_whose_tier_came_from_a_veto(detect):
    vetoed = BaseDecision("F1", "D", 85.0, {}, "g", tier_from_score=False)
    decision = decide(detect, [ev("c1", "certification", 0, kind="high_tech")], 10, vetoed)
    assert (decision.score, decision.tier) == (88.0, "D")
