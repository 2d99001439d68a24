"""What each measure of a pack is for the headline, and its figures by tier.

Packs do not declare what a measure *is*; the headline recognises it from the pack's own words, in
this order (the first rule that matches wins):

======================  ===============================================================
kind                    name contains / label contains
======================  ===============================================================
electricity_surcharge   a surcharge (``surcharge`` / 加价, 差别电) on electricity (``electric``, ``kwh`` / 电)
surcharge               any other surcharge (``surcharge`` / 加价): sewage, water, gas
tax_relief              ``tax_reduction``, ``tax_relief``, ``tax_exemption`` / 减免
energy_quota            ``energy_quota`` / 用能指标
subsidy                 ``subsidy``, ``award`` / 扶持资金, 补贴, 奖励
other                   everything else
======================  ===============================================================

A measure is *summable* (an amount: 元, tce) unless its unit holds ``/`` or ``%`` (a rate or a share):
summing 0.30 元/kWh over firms means nothing, so the headline then counts the firms that receive a
non-zero value. Per kind the headline takes the first summable measure of NEW's order, else the first one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import polars as pl

from mujun.packs.model import Pack as PackModel
from mujun.simulate.model import MeasureKind, TierAmount

__all__ = ["MeasureInfo", "measure_infos", "kind_of", "pick", "headline_measures", "tier_amounts", "yuan_factor",
           "MEASURE_PREFIX", "HEADLINE_KINDS"]

MEASURE_PREFIX = "measure."

_RULES: list[tuple[MeasureKind, re.Pattern[str], re.Pattern[str]]] = [
    ("electricity_surcharge", re.compile(r"surcharge.*(electric|kwh)|(electric|kwh).*surcharge|electricity_rate"),
     re.compile(r"差别电|加价.*电|电.*加价")),
    ("surcharge", re.compile(r"surcharge"), re.compile(r"加价")),
    ("tax_relief", re.compile(r"tax_(reduction|relief|exemption)"), re.compile(r"减免")),
    ("energy_quota", re.compile(r"energy_quota"), re.compile(r"用能指标")),
    ("subsidy", re.compile(r"subsid|award"), re.compile(r"扶持资金|补贴|奖励")),
]

_YUAN = {"元": 1.0, "千元": 1e3, "万元": 1e4, "百万元": 1e6, "亿元": 1e8}


@dataclass(frozen=True)
class MeasureInfo:
    name: str
    label: str | None
    unit: str | None
    kind: MeasureKind
    summable: bool

    @property
    def column(self) -> str:
        return MEASURE_PREFIX + self.name


def kind_of(name: str, label: str | None) -> MeasureKind:
    """The headline kind of a measure from its name and label.

    >>> kind_of("electricity_surcharge_yuan", "年度差别电费")
    'electricity_surcharge'
    >>> kind_of("sewage_surcharge_yuan", "年度污水处理费加价")
    'surcharge'
    >>> kind_of("land_tax_reduction_pct", "城镇土地使用税减免")
    'tax_relief'
    """
    for kind, by_name, by_label in _RULES:
        if by_name.search(name.lower()) or (label and by_label.search(label)):
            return kind
    return "other"


def _summable(unit: str | None) -> bool:
    return unit is None or not any(mark in unit for mark in ("/", "%", "‰"))


def yuan_factor(unit: str | None) -> float | None:
    """元 per unit of a money measure (万元 → 10,000); None when the unit is not money."""
    return _YUAN.get((unit or "").strip())


def measure_infos(model: PackModel) -> list[MeasureInfo]:
    """The numeric measures of a pack, in its order."""
    return [MeasureInfo(name, m.label, m.unit, kind_of(name, m.label), _summable(m.unit))
            for name, m in model.measures.items() if m.type == "number"]


#: The kinds the headline reports, in its order.
HEADLINE_KINDS = ("electricity_surcharge", "surcharge", "tax_relief", "energy_quota", "subsidy")


def pick(measures: tuple[MeasureInfo, ...] | list[MeasureInfo], kind: str) -> MeasureInfo | None:
    """The measure the headline reads for ``kind``: the first summable one, else the first one."""
    of_kind = [m for m in measures if m.kind == kind]
    return next((m for m in of_kind if m.summable), of_kind[0] if of_kind else None)


def headline_measures(measures: tuple[MeasureInfo, ...] | list[MeasureInfo]) -> list[MeasureInfo]:
    return [m for m in (pick(measures, kind) for kind in HEADLINE_KINDS) if m is not None]


def tier_amounts(frame: pl.DataFrame, codes: np.ndarray, vocab: tuple[str, ...],
                 columns: list[str]) -> dict[str, list[TierAmount]]:
    """For each measure column, per state (``codes`` index ``vocab``): firms, non-zero firms, sum and mean
    (of the firms with a value). States no firm is in are left out."""
    size = len(vocab)
    firms = np.bincount(codes, minlength=size)
    found = {}
    for column in (c for c in columns if c in frame.columns):
        values = frame[column].cast(pl.Float64).to_numpy()
        given = ~np.isnan(values)
        clean = np.where(given, values, 0.0)
        sums = np.bincount(codes, weights=clean, minlength=size)
        nonzero = np.bincount(codes, weights=(clean != 0), minlength=size)
        counted = np.bincount(codes, weights=given, minlength=size)
        found[column] = [TierAmount(tier=vocab[i], firms=int(firms[i]), nonzero=int(nonzero[i]), total=float(sums[i]),
                                    mean=float(sums[i] / counted[i]) if counted[i] else None)
                         for i in range(size) if firms[i]]
    return found
