"""Benchmark: events applied per second, in-process — durable_rules against the plain reference.

"Applied" is the whole pure path a server runs per batch: detect the firings of every rule over the
events (``DurableDetector.detect``: replay into shard sessions, drain, delete; or ``detect_reference``),
then fold each firm's firings into its effective decision (``apply_firings``). Two rule sets:
js-huaian-2024's own (two one-event vetoes) and tests/fixtures/packs/events.yaml (every kind: counts in a
window, an absence, a lift, points, a measure override). Events: ``FIRMS`` firms with ``PER_FIRM``
events each on average over one year, the types mixed as a bureau's feed might be. Both detectors must
find the same firings (checked here too). Figures go to ``results/events.json``.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from pathlib import Path

import pytest

import mujun
from mujun.events import BaseDecision, DurableDetector, Event, apply_firings, detect_reference
from recorded import results_file  # noqa: E402 - benchmarks/ is on sys.path

RESULTS = Path(__file__).resolve().parent / "results" / "events.json"
FIXTURE = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "packs" / "events.yaml"
FIRMS = 2_000
PER_FIRM = 5
ROUNDS = 3
DAY0 = dt.date(2024, 1, 1)
AS_OF = dt.date(2024, 12, 31)

events_results = results_file(RESULTS)


def _events(n_firms: int, per_firm: int, seed: int = 2024) -> list[Event]:
    rng = random.Random(seed)
    kinds = ["env_penalty"] * 4 + ["rectification_done"] * 3 + ["certification", "production_stopped", "safety_accident"]
    out = []
    for i in range(n_firms * per_firm):
        kind = rng.choice(kinds)
        fields: dict = {}
        if kind == "env_penalty":
            fields = {"severity": rng.choice(["general"] * 9 + ["major"])}
            if rng.random() < 0.5:
                fields["amount_wan"] = float(rng.choice([5, 20, 60, 150]))
        elif kind == "safety_accident":
            fields = {"severity": rng.choice(["general", "serious", "major"])}
        elif kind == "certification":
            fields = {"kind": rng.choice(["high_tech", "specialised", "other"])}
        out.append(Event(f"e{i}", f"F{rng.randrange(n_firms):05d}", kind, DAY0 + dt.timedelta(days=rng.randrange(366)),
                         fields))
    return out


def _retier(score: float) -> str:
    return "A" if score >= 80 else "B" if score >= 60 else "C" if score >= 40 else "D"


def _applied(pack, detect, events) -> tuple[float, float, set]:  # noqa: ANN001
    """Seconds to detect, and to fold every firm's decision (each the best of ROUNDS), and the firings."""
    detect_s = fold_s = float("inf")
    firings: set = set()
    firms = sorted({e.enterprise for e in events})
    for _ in range(ROUNDS):
        began = time.perf_counter()
        firings = detect(events, AS_OF)
        detected = time.perf_counter()
        by_firm: dict[str, list] = {}
        for firing in firings:
            by_firm.setdefault(firing.enterprise, []).append(firing)
        for firm in firms:
            apply_firings(pack, BaseDecision(firm, "B", 70.0, {}, "g"), by_firm.get(firm, ()), AS_OF, retier=_retier)
        detect_s, fold_s = min(detect_s, detected - began), min(fold_s, time.perf_counter() - detected)
    return detect_s, fold_s, firings


@pytest.mark.parametrize("rules", ["js-huaian-2024", "every-kind"])
@pytest.mark.timeout(600)
def test_events_applied_per_second(rules, events_results):
    pack = mujun.load_pack("js-huaian-2024" if rules == "js-huaian-2024" else FIXTURE)
    spec = pack.model.events
    events = _events(FIRMS, PER_FIRM)
    durable = DurableDetector(spec, pack.hash, shards=16)
    reference_detect, fold_s, expected = _applied(pack.model, lambda evs, day: detect_reference(spec, evs, day), events)
    durable_detect, _, found = _applied(pack.model, durable.detect, events)
    assert found == expected, "durable_rules and the reference must fire the same rules"
    n = len(events)
    events_results[rules] = {
        "events": n, "firms": FIRMS, "rules": len(spec.rules), "firings": len(expected),
        "durable_events_per_s": round(n / (durable_detect + fold_s)),
        "reference_events_per_s": round(n / (reference_detect + fold_s)),
        "durable_detect_s": round(durable_detect, 3), "reference_detect_s": round(reference_detect, 3),
        "fold_s": round(fold_s, 3), "detect_durable_over_reference": round(durable_detect / reference_detect, 1),
    }
