"""Differential test: durable_rules and the plain reference fire the same rules and give the same decisions
on random event streams delivered in random order (examples kept small: durable_rules runs in-process)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import mujun
from mujun.events import BaseDecision, DurableDetector, Event, apply_firings, detect_reference
from conftest import FIXTURES

PACK = mujun.load_pack(FIXTURES / "packs" / "events.yaml")
SPEC = PACK.model.events
DAY0 = dt.date(2024, 1, 1)
FIRMS = ("F1", "F2", "F3")
#: an event is often dated a window (90, 180, 365 days) or one day either side after an earlier one, and
#: the as-of date likewise: that is where an off-by-one hides
OFFSETS = st.sampled_from([0, 1, 89, 90, 90, 91, 179, 180, 180, 181, 364, 365, 365, 366])
#: penalties and rectifications most often: they meet in counts and absences
TYPES = st.sampled_from(["env_penalty"] * 4 + ["rectification_done"] * 2 + ["safety_accident", "certification",
                                                                               "production_stopped"])


def _fields(kind: str):
    if kind == "env_penalty":
        return st.fixed_dictionaries({"severity": st.sampled_from(["major", "general"])},
                                     optional={"amount_wan": st.sampled_from([10.0, 49.9, 50.0, 120.0])})
    if kind == "safety_accident":
        return st.fixed_dictionaries({"severity": st.sampled_from(["major", "serious", "general"])})
    if kind == "certification":
        return st.fixed_dictionaries({"kind": st.sampled_from(["high_tech", "specialised", "other"])})
    return st.just({})


@st.composite
def streams(draw):
    """Events of two firms over ~2 years. Half of them follow an earlier event of the same firm by a window
    or one day either side (a second penalty 365 days on, a rectification 90 days on): windows meet exactly."""
    count = draw(st.integers(0, 14))
    events: list[Event] = []
    for i in range(count):
        if events and draw(st.booleans()):
            earlier = draw(st.sampled_from(events))
            firm, kind = earlier.enterprise, draw(st.sampled_from([earlier.type, earlier.type, "rectification_done"]))
            at = earlier.date + dt.timedelta(days=draw(OFFSETS))
        else:
            firm, kind, at = draw(st.sampled_from(FIRMS[:2])), draw(TYPES), DAY0 + dt.timedelta(days=draw(st.integers(0, 540)))
        events.append(Event(f"e{i}", firm, kind, at, draw(_fields(kind))))
    order = draw(st.permutations(events))
    if events and draw(st.booleans()):
        as_of = draw(st.sampled_from(events)).date + dt.timedelta(days=draw(OFFSETS))
    else:
        as_of = DAY0 + dt.timedelta(days=draw(st.integers(0, 720)))
    return events, list(order), as_of


@pytest.fixture(scope="module")
def durable() -> DurableDetector:
    return DurableDetector(SPEC, PACK.hash, shards=2)


def _retier(score: float) -> str:
    return "A" if score >= 80 else "B" if score >= 60 else "C" if score >= 40 else "D"


def _at(id_: str, kind: str, days: int, **fields) -> Event:
    return Event(id_, "F1", kind, DAY0 + dt.timedelta(days=days), fields)


_PENALTY = {"severity": "general"}
#: the windows' edges, always run: a count 365 and 366 days apart, an absence ended on its 90th day, a
#: deadline that is the as-of date, a rectification on the penalty's own day
EDGES = [
    [_at("a", "env_penalty", 0, **_PENALTY), _at("b", "env_penalty", 365, **_PENALTY), _at("c", "env_penalty", 731, **_PENALTY)],
    [_at("a", "env_penalty", 0, **_PENALTY), _at("r", "rectification_done", 90), _at("b", "env_penalty", 100, **_PENALTY),
     _at("s", "rectification_done", 191)],
    [_at("a", "env_penalty", 10, **_PENALTY), _at("r", "rectification_done", 10), _at("b", "env_penalty", 10, **_PENALTY)],
]


@example((EDGES[0], EDGES[0][::-1], DAY0 + dt.timedelta(days=800)))
@example((EDGES[1], EDGES[1][::-1], DAY0 + dt.timedelta(days=190)))
@example((EDGES[1], EDGES[1], DAY0 + dt.timedelta(days=191)))
@example((EDGES[1], EDGES[1], DAY0 + dt.timedelta(days=89)))
@example((EDGES[1], EDGES[1], DAY0 + dt.timedelta(days=90)))
@example((EDGES[2], EDGES[2][::-1], DAY0 + dt.timedelta(days=100)))
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(streams())
def test_durable_rules_and_the_reference_agree_in_any_order(durable, stream):
    events, shuffled, as_of = stream
    reference = detect_reference(SPEC, events, as_of)
    assert durable.detect(shuffled, as_of) == reference
    assert detect_reference(SPEC, shuffled, as_of) == reference
    for firm, score in zip(FIRMS, (85.0, 62.0, 41.0)):
        base = BaseDecision(firm, _retier(score), score, {"land_tax_reduction_pct": 10.0}, "g")
        expected = apply_firings(PACK.model, base, reference, as_of, retier=_retier)
        assert apply_firings(PACK.model, base, durable.detect(shuffled, as_of), as_of, retier=_retier) == expected


@settings(max_examples=100, deadline=None)
@given(streams(), st.integers(0, 400))
def test_firings_detected_later_are_the_same_up_to_an_earlier_date(stream, earlier_by):
    """What fired by a date does not depend on events after it: a stream may detect once and fold per day."""
    events, _, as_of = stream
    earlier = as_of - dt.timedelta(days=earlier_by)
    assert {f for f in detect_reference(SPEC, events, as_of) if f.date <= earlier} == detect_reference(SPEC, events, earlier)
