"""Group codes: dense per year, decoded back to their field values, and two years lined up by value."""

from __future__ import annotations

import numpy as np
import polars as pl

import mujun
from mujun.engine.groups import NO_GROUP, group_codes


def _members(frame: pl.DataFrame, fields: list[str]) -> dict[tuple, set[int]]:
    """Rows per distinct (non-missing) combination of the fields, computed the slow way."""
    out: dict[tuple, set[int]] = {}
    for i, row in enumerate(frame.select(fields).iter_rows()):
        if None not in row:
            out.setdefault(row, set()).add(i)
    return out


def test_codes_and_labels_describe_the_same_groups():
    frame = pl.DataFrame({"region": ["b", "a", None, "b", "c", "a", "b"],
                          "size": ["L", "S", "S", None, "S", "S", "L"]})
    for fields in (["region"], ["region", "size"], ["size", "region"]):
        groups = group_codes(frame, fields)
        assert groups.codes.min() >= NO_GROUP and groups.codes.max() < groups.size
        decoded: dict[tuple, set[int]] = {}
        for i, code in enumerate(groups.codes):
            if code != NO_GROUP:
                decoded.setdefault(groups.labels.row(int(code)), set()).add(i)
        assert decoded == _members(frame, fields)


def test_no_fields_is_one_group():
    groups = group_codes(pl.DataFrame({"region": ["a", None]}), [])
    assert groups.size == 1 and np.array_equal(groups.codes, [0, 0])


def test_prior_year_statistics_follow_group_values_not_codes():
    """The prior year codes its groups in its own order; a mean reaches the current rows of the same county."""
    pack = mujun.load_pack("js-huaian-2024")
    firm = {"land_mu": 10.0, "revenue_wan": 100.0, "energy_tce": 10.0, "years_in_production": 5}
    prior = [{**firm, "enterprise_id": f"P{i}", "region": region, "tax_wan": tax}
             for i, (region, tax) in enumerate([("Z", 40.0), ("Z", 20.0), ("A", 10.0)])]
    current = [{**firm, "enterprise_id": f"C{i}", "region": region, "tax_wan": 5.0}
               for i, region in enumerate(["A", "Z", "N"])]  # N has no prior-year firms: current-year fallback
    table = pack.evaluate(current, prior=prior).table
    bench = dict(zip(table["enterprise_id"], table["benchmark.tax_per_mu_bm"]))
    assert bench == {"C0": 2 * 1.0, "C1": 2 * 3.0, "C2": 2 * 0.5}
    basis = dict(zip(table["enterprise_id"], table["benchmark_basis"]))
    assert basis["C0"] == basis["C1"] == "prior year" and basis["C2"].startswith("current year")
