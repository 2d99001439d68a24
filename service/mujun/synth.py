"""Synthetic input (a stage before the engine): realistic enterprise records for tests, demos and benchmarks.

Real 亩均效益 data belongs to tax, statistics, grid and environment bureaus and cannot ship with the
project, so every test, ``make run`` and ``make bench`` runs on data made here.  The generator aims at
the *shape* of real filings rather than at any county's numbers:

* land (用地面积, 亩) is log-normal with a median near 30 亩; revenue is land × a log-normal firm
  productivity, so 亩均销售收入 spreads over two orders of magnitude as in published lists;
* value added is about a quarter of revenue, tax 3–8 % of it; energy, electricity and emissions follow
  revenue through an industry intensity, so heavy industries score badly on 单位能耗税收;
* below-scale (规下) firms are smaller; ~5 % of firms started production less than two years ago
  (Huai'an "T" class, not rated);
* ``bad_fraction`` of the rows carry the faults a county's batch must survive (missing tax or
  revenue, zero or negative land, a missing county, duplicated ids), and a smaller share lacks the
  optional energy or emissions figures.  Faults are nulls, zeros or negatives, never strings, so a
  Parquet file stays typed.

Everything is vectorized with numpy and drawn from one seed: the same ``(n, regions, seed,
bad_fraction)`` gives byte-identical tables on every machine.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pyarrow as pa

__all__ = ["FLAGS", "INDUSTRIES", "generate", "region_codes"]

#: Flags an enterprise record may carry, and the share of firms carrying each one.
FLAGS: dict[str, float] = {
    "high_tech": 0.08,
    "specialized_sme": 0.05,
    "listed": 0.01,
    "env_violation": 0.006,
    "safety_accident": 0.004,
    "tax_fraud": 0.002,
}

#: GB/T 4754 two-digit manufacturing divisions: (share of firms, revenue per 亩 factor,
#: energy intensity in tce per 万元 revenue, emission factor in t pollutant equivalent per tce).
INDUSTRIES: dict[str, tuple[float, float, float, float]] = {
    "13": (0.04, 1.2, 0.060, 0.010),  # agricultural food processing
    "14": (0.03, 1.0, 0.070, 0.010),  # food manufacturing
    "15": (0.02, 1.3, 0.060, 0.012),  # beverages
    "17": (0.07, 0.8, 0.150, 0.020),  # textiles
    "18": (0.05, 0.7, 0.030, 0.004),  # apparel
    "21": (0.03, 0.8, 0.030, 0.006),  # furniture
    "22": (0.03, 0.9, 0.350, 0.030),  # paper
    "26": (0.08, 1.4, 0.300, 0.025),  # chemicals
    "27": (0.03, 1.6, 0.080, 0.015),  # pharmaceuticals
    "29": (0.06, 0.9, 0.090, 0.008),  # rubber and plastics
    "30": (0.05, 0.7, 0.800, 0.040),  # non-metallic minerals
    "31": (0.02, 1.5, 1.000, 0.050),  # ferrous metals
    "32": (0.02, 1.5, 0.400, 0.030),  # non-ferrous metals
    "33": (0.08, 0.9, 0.060, 0.006),  # metal products
    "34": (0.08, 1.0, 0.040, 0.004),  # general machinery
    "35": (0.07, 1.0, 0.040, 0.004),  # special machinery
    "36": (0.04, 1.6, 0.050, 0.005),  # automobiles
    "38": (0.08, 1.2, 0.040, 0.004),  # electrical machinery
    "39": (0.09, 1.5, 0.030, 0.003),  # electronics
    "40": (0.03, 1.3, 0.030, 0.003),  # instruments
}

#: tce per kWh (equivalent value, 1.229 tce per 10⁴ kWh), used to split energy into electricity.
TCE_PER_KWH = 1.229e-4

_PROVINCES = ("32", "33", "34", "37", "35", "36", "44", "41", "42", "43")
_COUNTIES_PER_CITY = 12
_CITIES_PER_PROVINCE = 13

_NAME_PLACES = np.array(["淮安", "清江", "洪泽", "盱眙", "金湖", "涟水", "淮阴", "苏北", "江淮", "运河"])
_NAME_BRANDS = np.array(["恒", "华", "盛", "鑫", "源", "达", "通", "宏", "瑞", "泰", "嘉", "隆", "丰", "新"])
#: A trade word per industry of ``INDUSTRIES``, in the same order, so names match what firms make.
_NAME_TRADES = np.array(["农产品", "食品", "饮料", "纺织", "服饰", "家具", "纸业", "化工", "药业", "塑胶",
                         "建材", "钢铁", "有色金属", "金属制品", "机械", "装备", "汽车部件", "电气", "电子", "仪器"])


def region_codes(regions: int) -> list[str]:
    """Six-digit county codes (Jiangsu first: ``320802``, ``320803``, …), distinct and stable.

    Real GB/T 2260 codes put the province in digits 1–2, the city in 3–4 and the county in 5–6; the
    codes here follow that layout so code that slices a county code into its city still works.

    >>> region_codes(3)
    ['320102', '320103', '320104']
    """
    per_province = _CITIES_PER_PROVINCE * _COUNTIES_PER_CITY
    if not 1 <= regions <= per_province * len(_PROVINCES):
        raise ValueError(f"regions must be between 1 and {per_province * len(_PROVINCES)}, got {regions}")
    codes = []
    for i in range(regions):
        province = _PROVINCES[i // per_province]
        city, county = divmod(i % per_province, _COUNTIES_PER_CITY)
        codes.append(f"{province}{city + 1:02d}{county + 2:02d}")
    return codes


def generate(
    n: int, regions: int = 10, seed: int = 0, *, bad_fraction: float = 0.02
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Return ``(current_year, prior_year)`` enterprise tables of the canonical record (money in 万元).

    The prior year holds ~95 % of the current firms with values moved by about ±10 %, and ~1 % of
    firms that have since closed; both years carry ``bad_fraction`` faulty rows.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if not 0.0 <= bad_fraction <= 0.5:
        raise ValueError(f"bad_fraction must be between 0 and 0.5, got {bad_fraction}")
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(4)]
    codes = region_codes(regions)
    current = _firms(streams[0], n, len(codes))
    prior = _prior_year(streams[1], current, len(codes))
    current_table = _to_frame(_inject_faults(streams[2], current, bad_fraction), codes)
    prior_table = _to_frame(_inject_faults(streams[3], prior, bad_fraction), codes)
    return current_table, prior_table


def _firms(rng: np.random.Generator, n: int, regions: int) -> dict[str, np.ndarray]:
    """Draw the clean columns of ``n`` firms as numpy arrays (strings are built later, once)."""
    shares, productivity, energy_intensity, emission_factor = (np.array(c) for c in zip(*INDUSTRIES.values()))
    # Counties differ in size: a log-normal weight per county, fixed by the seed.
    county_weight = rng.lognormal(0.0, 0.5, regions)
    region = rng.choice(regions, size=n, p=county_weight / county_weight.sum()).astype(np.int32)
    industry = rng.choice(len(shares), size=n, p=shares / shares.sum()).astype(np.int32)
    above = rng.random(n) < 0.6
    land = np.clip(rng.lognormal(np.where(above, np.log(45.0), np.log(15.0)), 1.0), 1.0, 2000.0)
    # Revenue per 亩: log-normal firm effect around a county-wide level, scaled by industry.
    revenue_per_mu = rng.lognormal(np.where(above, np.log(280.0), np.log(110.0)), 0.8) * productivity[industry]
    revenue = land * revenue_per_mu
    value_added = revenue * np.clip(rng.normal(0.25, 0.06, n), 0.05, 0.6)
    tax = revenue * rng.uniform(0.03, 0.08, n)
    energy = revenue * energy_intensity[industry] * rng.lognormal(0.0, 0.4, n)
    electricity = energy * rng.uniform(0.35, 0.85, n) / TCE_PER_KWH
    emissions = energy * emission_factor[industry] * rng.lognormal(0.0, 0.5, n)
    years = np.where(rng.random(n) < 0.05, rng.integers(0, 2, n), rng.integers(2, 41, n))
    return {
        "region": region,
        "industry": industry,
        "above": above,
        "land_mu": land,
        "tax_wan": tax,
        "revenue_wan": revenue,
        "value_added_wan": value_added,
        "energy_tce": energy,
        "electricity_kwh": electricity,
        "emissions_t": emissions,
        "water_m3": energy * rng.lognormal(np.log(8.0), 0.7, n),
        "employees": np.maximum(1, np.rint(revenue / rng.lognormal(np.log(90.0), 0.5, n))).astype(np.int64),
        "rd_wan": revenue * np.where(rng.random(n) < 0.3, 0.0, rng.uniform(0.0, 0.05, n)),
        "fixed_asset_investment_wan": land * rng.lognormal(np.log(250.0), 0.6, n),
        "floor_area_m2": land * 666.67 * rng.uniform(0.5, 2.5, n),
        "years_in_production": years.astype(np.int64),
        "flags": _flag_matrix(rng, n),
        "serial": np.arange(n, dtype=np.int64),
        "name_parts": rng.integers(0, 1 << 30, n),
    }


def _flag_matrix(rng: np.random.Generator, n: int) -> np.ndarray:
    """One boolean column per flag in ``FLAGS``; most rows have none set."""
    return rng.random((n, len(FLAGS))) < np.array(list(FLAGS.values()))


_MONEY_AND_PHYSICAL = (
    "tax_wan",
    "revenue_wan",
    "value_added_wan",
    "energy_tce",
    "electricity_kwh",
    "emissions_t",
    "water_m3",
    "rd_wan",
    "fixed_asset_investment_wan",
)


def _prior_year(rng: np.random.Generator, current: dict[str, np.ndarray], regions: int) -> dict[str, np.ndarray]:
    """Last year's filing: ~95 % of today's firms moved by ±10 %, plus ~1 % firms that closed since.

    Firms that started production this year (0 years) cannot have a prior filing.
    """
    n = len(current["serial"])
    keep = (rng.random(n) < 0.95) & (current["years_in_production"] > 0)
    prior = {name: column[keep] for name, column in current.items()}
    kept = int(keep.sum())
    for name in _MONEY_AND_PHYSICAL:
        prior[name] = prior[name] * rng.uniform(0.9, 1.1, kept)
    prior["employees"] = np.maximum(1, np.rint(prior["employees"] * rng.uniform(0.9, 1.1, kept))).astype(np.int64)
    prior["years_in_production"] = prior["years_in_production"] - 1
    prior["flags"] = _flag_matrix(rng, kept)
    closed = _firms(rng, max(1, n // 100) if n else 0, regions)
    closed["serial"] = closed["serial"] + n
    return {name: np.concatenate([prior[name], closed[name]]) for name in prior}


def _inject_faults(rng: np.random.Generator, firms: dict[str, np.ndarray], bad_fraction: float) -> dict:
    """Spoil ``bad_fraction`` of the rows the way real filings are spoiled, keeping numeric dtypes.

    Each faulty row gets one fault.  A duplicated id spoils two rows (both copies are errors), so it
    is drawn half as often to keep the share of invalid rows near ``bad_fraction``.
    """
    n = len(firms["serial"])
    out = {name: column.copy() for name, column in firms.items()}
    out["region_missing"] = np.zeros(n, dtype=bool)
    faulty = rng.permutation(n)[: int(round(n * bad_fraction))]
    kind = rng.choice(6, size=len(faulty), p=[0.25, 0.2, 0.18, 0.1, 0.05, 0.22])
    dup = faulty[kind == 5]
    dup = dup[rng.random(len(dup)) < 0.5]
    _set_null(out, "tax_wan", faulty[kind == 0])
    _set_null(out, "revenue_wan", faulty[kind == 1])
    out["land_mu"][faulty[kind == 2]] = 0.0
    out["land_mu"][faulty[kind == 3]] = -out["land_mu"][faulty[kind == 3]]
    out["region_missing"][faulty[kind == 4]] = True
    out["serial"][dup] = out["serial"][(dup + 1) % n]
    # Optional figures missing: energy (electricity still known), electricity, both, or emissions.
    optional = rng.random(n)
    _set_null(out, "energy_tce", np.flatnonzero(optional < 1.5 * bad_fraction))
    _set_null(out, "electricity_kwh", np.flatnonzero((optional >= 1.0 * bad_fraction) & (optional < 2.0 * bad_fraction)))
    _set_null(out, "emissions_t", np.flatnonzero((optional >= 2.0 * bad_fraction) & (optional < 4.5 * bad_fraction)))
    return out


def _set_null(columns: dict[str, np.ndarray], name: str, rows: np.ndarray) -> None:
    """Mark rows missing with NaN; ``_to_frame`` turns NaN into a proper null."""
    columns[name][rows] = np.nan


def _to_frame(firms: dict[str, np.ndarray], codes: list[str]) -> pl.DataFrame:
    """Assemble the canonical table; strings come from small lookup tables, never per-row Python."""
    serial = pl.Series("serial", firms["serial"] + 1)  # ids count from E00000001
    region = pl.Series(codes, dtype=pl.String).gather(firms["region"])
    region = pl.select(pl.when(pl.Series(firms["region_missing"])).then(None).otherwise(region)).to_series()
    industry = pl.Series(list(INDUSTRIES), dtype=pl.String).gather(firms["industry"])
    columns = {
        "enterprise_id": pl.select(pl.lit("E") + serial.cast(pl.String).str.zfill(8)).to_series(),
        "name": _names(firms["name_parts"], firms["industry"]),
        "region": region,
        "industry": industry,
        "size_class": pl.Series(["below", "above"], dtype=pl.String).gather(firms["above"].astype(np.int8)),
        "land_mu": pl.Series(firms["land_mu"]),
    }
    for name in ("tax_wan", "revenue_wan", "value_added_wan", "energy_tce", "electricity_kwh", "emissions_t",
                 "water_m3", "employees", "rd_wan", "fixed_asset_investment_wan", "floor_area_m2",
                 "years_in_production"):
        columns[name] = pl.Series(firms[name], nan_to_null=True)
    columns["flags"] = _flag_lists(firms["flags"])
    return pl.DataFrame(columns)


def _names(parts: np.ndarray, industry: np.ndarray) -> pl.Series:
    """Company names like 淮安恒华化工有限公司 from random digits of one integer per firm and its industry."""
    place = pl.Series(_NAME_PLACES).gather(parts % len(_NAME_PLACES))
    brand1 = pl.Series(_NAME_BRANDS).gather((parts // 10) % len(_NAME_BRANDS))
    brand2 = pl.Series(_NAME_BRANDS).gather((parts // 140) % len(_NAME_BRANDS))
    trade = pl.Series(_NAME_TRADES).gather(industry)
    return pl.select(pl.concat_str([place, brand1, brand2, trade, pl.lit("有限公司")])).to_series().alias("name")


def _flag_lists(matrix: np.ndarray) -> pl.Series:
    """Turn the boolean flag matrix into a ``list[str]`` column through Arrow offsets, without a loop."""
    rows, which = np.nonzero(matrix)
    offsets = np.zeros(matrix.shape[0] + 1, dtype=np.int32)
    np.cumsum(np.bincount(rows, minlength=matrix.shape[0]), out=offsets[1:])
    names = pa.array(list(FLAGS), type=pa.string()).take(pa.array(which.astype(np.int32)))
    return pl.Series("flags", pa.ListArray.from_arrays(pa.array(offsets), names))
