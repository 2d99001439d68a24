"""Hypothesis strategies for enterprise records: plausible values plus the faults real files carry."""

from __future__ import annotations

from hypothesis import strategies as st

REGIONS = ["320803", "320804", "331003"]
INDUSTRIES = ["13", "26", "34", "44"]
FLAGS = ["high_tech", "env_violation", "safety_accident", "tax_fraud"]

positive = st.floats(min_value=0.5, max_value=5000, allow_nan=False, allow_infinity=False)
amount = st.floats(min_value=-50, max_value=1e5, allow_nan=False, allow_infinity=False)


def maybe(strategy: st.SearchStrategy, missing: float = 0.1) -> st.SearchStrategy:
    """Mostly a value, sometimes None (missing)."""
    return st.one_of(st.none(), strategy) if missing else strategy


@st.composite
def record(draw: st.DrawFn, ident: str) -> dict:
    """One enterprise; one record in four carries the faults real files have (missing or unreadable
    cells, no land), the others only what a good record may hold (a loss, an optional figure missing),
    so that most records reach the scoring stages."""
    faulty = draw(st.integers(0, 3)) == 3  # shrinks towards a good record
    gap = 0.1 if faulty else 0.0
    row = {
        "enterprise_id": ident,
        "region": draw(st.sampled_from(REGIONS)),
        "industry": draw(st.sampled_from(INDUSTRIES)),
        "size_class": draw(st.sampled_from(["above", "above", "below"])),
        "land_mu": draw(st.one_of(positive, positive, positive, st.just(0.0), st.just(-3.0)) if faulty else positive),
        "tax_wan": draw(st.one_of(amount, amount, amount, st.none(), st.just("n/a")) if faulty else amount),
        "revenue_wan": draw(maybe(st.floats(min_value=1, max_value=1e6), gap)),
        "value_added_wan": draw(maybe(st.floats(min_value=0, max_value=3e5), gap)),
        "energy_tce": draw(maybe(st.floats(min_value=0, max_value=1e5), gap)),
        "electricity_kwh": draw(maybe(st.floats(min_value=0, max_value=1e8), gap)),
        "emissions_t": draw(maybe(st.floats(min_value=0, max_value=500), missing=0.3)),
        "employees": draw(maybe(st.integers(min_value=0, max_value=5000), gap)),
        "rd_wan": draw(maybe(st.floats(min_value=0, max_value=1e4), gap)),
        "years_in_production": draw(st.integers(min_value=0, max_value=30)),
        "flags": draw(st.lists(st.sampled_from(FLAGS), max_size=2, unique=True)),
    }
    return row


@st.composite
def records(draw: st.DrawFn, min_size: int = 1, max_size: int = 40) -> list[dict]:
    count = draw(st.integers(min_value=min_size, max_value=max_size))
    ids = [f"E{i:04d}" for i in range(count)]
    if count > 2 and draw(st.booleans()):
        ids[-1] = ids[0]  # a duplicated id: both rows must become errors
    return [draw(record(ident)) for ident in ids]


@st.composite
def history(draw: st.DrawFn, ids: list[str], tiers: list[str]) -> list[dict]:
    rows = []
    for ident in ids:
        for cycle in range(2020, 2024):
            if draw(st.integers(0, 3)):
                rows.append({"enterprise_id": ident, "cycle": cycle, "tier": draw(st.sampled_from(tiers))})
    return rows


@st.composite
def extra_fields(draw: st.DrawFn) -> dict:
    """Fields of measures and checks packs: a published tier, surcharges, project, parcel and park figures.

    Drawn after the base records, so the packs that do not read them see the same examples as before.
    """
    return {
        "tier": draw(st.sampled_from(["A", "B", "C", "C-", "D", None])),
        "fixed_asset_investment_wan": draw(maybe(st.floats(min_value=0, max_value=1e5))),
        "floor_area_m2": draw(maybe(st.floats(min_value=0, max_value=1e5))),
        "water_m3": draw(maybe(st.floats(min_value=0, max_value=1e6))),
        "output_value_wan": draw(maybe(st.floats(min_value=0, max_value=1e6))),
        "other_surcharge_yuan_per_kwh": draw(maybe(st.sampled_from([0.0, 0.05, 0.1, 0.2, 0.3]), missing=0.5)),
        "land_use": draw(st.sampled_from(["new_industrial", "standard_factory", "rnd"])),
        "record_kind": draw(st.sampled_from(["project", "park"])),
        "industry_group": draw(st.sampled_from(["g1", "g2", "g3", "g4"])),
        "mixed_use": draw(st.sampled_from(["yes", "no", None])),
        "lease_kind": draw(st.sampled_from(["elastic", "full", None])),
        "lease_years": draw(maybe(st.integers(min_value=5, max_value=50))),
        "industrial_floor_area_m2": draw(maybe(st.floats(min_value=0, max_value=1e5))),
        "location_kind": draw(st.sampled_from(["cluster", "outside", "provincial_zone", "park"])),
        "park": draw(st.sampled_from(["P1", "P2", "P3", None])),
    }
