"""The canonical enterprise record: field names, types, units and their usual Chinese headers.

Packs may introduce more fields through ``inputs``; these are the ones every bureau's data has.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Field", "CANONICAL_FIELDS", "ID_FIELD", "TIER_FIELD"]

ID_FIELD = "enterprise_id"
TIER_FIELD = "tier"


@dataclass(frozen=True)
class Field:
    name: str
    type: str  # number | string | flags
    unit: str | None
    label: str
    aliases: tuple[str, ...] = ()


CANONICAL_FIELDS: dict[str, Field] = {
    f.name: f
    for f in (
        Field("enterprise_id", "string", None, "统一社会信用代码", ("企业代码", "统一社会信用代码", "企业编号")),
        Field("name", "string", None, "企业名称", ("企业名称",)),
        Field("region", "string", None, "县(市、区)代码", ("区县代码", "县区", "行政区划代码")),
        Field("industry", "string", None, "行业代码", ("行业代码", "所属行业")),
        Field("size_class", "string", None, "规上/规下", ("规模类型",)),
        Field("land_mu", "number", "亩", "用地面积", ("用地面积(亩)", "用地面积（亩）", "用地面积")),
        Field("tax_wan", "number", "万元", "税收", ("税收", "实缴税金", "税收实际贡献(万元)")),
        Field("revenue_wan", "number", "万元", "销售收入", ("销售收入", "营业收入", "主营业务收入(万元)")),
        Field("value_added_wan", "number", "万元", "工业增加值", ("工业增加值", "增加值")),
        Field("energy_tce", "number", "tce", "综合能耗", ("综合能耗", "能耗(吨标准煤)")),
        Field("electricity_kwh", "number", "kWh", "用电量", ("用电量", "用电量(千瓦时)")),
        Field("emissions_t", "number", "t", "主要污染物排放当量", ("排放当量", "污染物排放量(吨)")),
        Field("water_m3", "number", "m³", "用水量", ("用水量",)),
        Field("employees", "number", "人", "年平均职工人数", ("职工人数", "从业人员")),
        Field("rd_wan", "number", "万元", "研发经费", ("研发经费", "R&D经费")),
        Field("fixed_asset_investment_wan", "number", "万元", "固定资产投资", ("固定资产投资",)),
        Field("floor_area_m2", "number", "m²", "建筑面积", ("建筑面积",)),
        Field("years_in_production", "number", "年", "投产年限", ("投产年限",)),
        Field("flags", "flags", None, "标记", ("标记",)),
        Field("tier", "string", None, "评价等级", ("评价等级", "等级")),
    )
}
