"""The canonical enterprise record: field names, types, units and their usual Chinese headers and values.

Packs may introduce more fields through ``inputs``; these are the ones every bureau's data has.
Units are declared here once per field, each with its factor to the field's canonical unit, so a
header such as ``税收(元)`` is read and converted (÷ 10,000) instead of refused or silently misread.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

__all__ = ["Field", "CANONICAL_FIELDS", "ID_FIELD", "TIER_FIELD", "BOOLEAN_VALUES", "FLAG_VALUES",
           "normalise_header", "normalise_unit", "normalise_value", "split_unit", "describe_factor"]

ID_FIELD = "enterprise_id"
TIER_FIELD = "tier"

# Each table maps a unit (as written in headers, normalised by ``normalise_unit``) to the factor that
# brings a value in that unit to the field's canonical unit (the entry with factor 1).
_MONEY_WAN = {"万元": 1, "元": 1e-4, "千元": 0.1, "百万元": 100, "亿元": 1e4}
_LAND_MU = {"亩": 1, "平方米": 15 / 10_000, "m2": 15 / 10_000, "公顷": 15, "hm2": 15}  # 1 亩 = 10,000/15 m²
_ENERGY_TCE = {"吨标煤": 1, "吨标准煤": 1, "tce": 1, "千克标煤": 1e-3, "千克标准煤": 1e-3, "kgce": 1e-3,
               "万吨标煤": 1e4, "万吨标准煤": 1e4}
_ELECTRICITY_KWH = {"千瓦时": 1, "kwh": 1, "度": 1, "万千瓦时": 1e4, "万度": 1e4, "兆瓦时": 1e3, "mwh": 1e3,
                    "亿千瓦时": 1e8}
_TONNES = {"吨": 1, "t": 1, "千克": 1e-3, "kg": 1e-3}
_WATER_M3 = {"立方米": 1, "m3": 1, "吨": 1, "万立方米": 1e4, "万吨": 1e4}
_PEOPLE = {"人": 1}
_FLOOR_M2 = {"平方米": 1, "m2": 1, "万平方米": 1e4}
_YEARS = {"年": 1}

#: Written forms of yes/no for fields whose allowed values are ``yes`` and ``no``.
BOOLEAN_VALUES = {"是": "yes", "否": "no", "有": "yes", "无": "no", "y": "yes", "n": "no", "true": "yes",
                  "false": "no"}
#: Chinese names of the flags the bundled packs read (``has_flag('env_violation')``).
FLAG_VALUES = {"重大环境污染事故": "env_violation", "环境违法": "env_violation", "环境污染事故": "env_violation",
               "重大安全生产事故": "safety_accident", "安全生产事故": "safety_accident", "安全事故": "safety_accident",
               "生态红线": "ecological_redline", "位于生态红线": "ecological_redline",
               "重点产业": "priority_industry", "优先发展产业": "priority_industry"}


@dataclass(frozen=True)
class Field:
    name: str
    type: str  # number | string | flags
    unit: str | None
    label: str
    aliases: tuple[str, ...] = ()
    units: dict[str, float] = field(default_factory=dict)
    values: dict[str, str] = field(default_factory=dict)  # written form -> the value rules compare with


CANONICAL_FIELDS: dict[str, Field] = {
    f.name: f
    for f in (
        Field("enterprise_id", "string", None, "统一社会信用代码", ("企业代码", "统一社会信用代码", "企业编号", "信用代码")),
        Field("name", "string", None, "企业名称", ("企业名称", "单位名称")),
        Field("region", "string", None, "县(市、区)代码", ("区县代码", "县区", "行政区划代码")),
        Field("industry", "string", None, "行业代码", ("行业代码", "所属行业")),
        Field("size_class", "string", None, "规上/规下", ("规模类型", "企业规模"),
              values={"规上": "above", "规模以上": "above", "规上企业": "above", "规下": "below",
                      "规模以下": "below", "规下企业": "below"}),
        Field("land_mu", "number", "亩", "用地面积", ("用地面积", "占地面积"), _LAND_MU),
        Field("tax_wan", "number", "万元", "税收", ("税收", "实缴税金", "税收实际贡献"), _MONEY_WAN),
        Field("revenue_wan", "number", "万元", "销售收入", ("销售收入", "营业收入", "主营业务收入"), _MONEY_WAN),
        Field("value_added_wan", "number", "万元", "工业增加值", ("工业增加值", "增加值"), _MONEY_WAN),
        Field("energy_tce", "number", "tce", "综合能耗", ("综合能耗", "能耗"), _ENERGY_TCE),
        Field("electricity_kwh", "number", "kWh", "用电量", ("用电量", "用电"), _ELECTRICITY_KWH),
        Field("emissions_t", "number", "t", "主要污染物排放当量", ("排放当量", "污染物排放量"), _TONNES),
        Field("water_m3", "number", "m³", "用水量", ("用水量",), _WATER_M3),
        Field("employees", "number", "人", "年平均职工人数", ("职工人数", "从业人员"), _PEOPLE),
        Field("rd_wan", "number", "万元", "研发经费", ("研发经费", "R&D经费"), _MONEY_WAN),
        Field("fixed_asset_investment_wan", "number", "万元", "固定资产投资", ("固定资产投资",), _MONEY_WAN),
        Field("floor_area_m2", "number", "m²", "建筑面积", ("建筑面积",), _FLOOR_M2),
        Field("years_in_production", "number", "年", "投产年限", ("投产年限",), _YEARS),
        Field("flags", "flags", None, "标记", ("标记",), values=FLAG_VALUES),
        Field("tier", "string", None, "评价等级", ("评价等级", "等级")),
    )
}

_UNIT = re.compile(r"^(?P<stem>.*?)[(\[【](?P<unit>[^()\[\]【】]*)[)\]】]$")


def normalise_header(text: str) -> str:
    """NFKC (full-width and half-width agree), no whitespace anywhere, case folded.

    >>> normalise_header(" 税收（万元） ")
    '税收(万元)'
    """
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(text))).casefold()


def normalise_unit(text: str) -> str:
    return normalise_header(text).replace("²", "2").replace("³", "3")


def normalise_value(text: str) -> str:
    return unicodedata.normalize("NFKC", str(text)).strip().casefold()


def split_unit(header: str) -> tuple[str, str | None]:
    """A normalised header's stem and trailing bracketed unit, if any.

    >>> split_unit(normalise_header("用电量[万千瓦时]"))
    ('用电量', '万千瓦时')
    """
    match = _UNIT.match(header)
    if match is None or not match["stem"]:
        return header, None
    return match["stem"], normalise_unit(match["unit"])


def describe_factor(factor: float) -> str:
    """How a conversion reads to a person: ``÷ 10,000``, ``× 1,000``.

    >>> describe_factor(1e-4), describe_factor(15 / 10_000)
    ('÷ 10,000', '÷ 666.67')
    """
    if factor >= 1:
        return f"× {factor:,.6g}"
    return f"÷ {1 / factor:,.5g}"
