"""One enterprise as a ``mujun.v1.Record`` (the protobuf record path), for client and server."""

from __future__ import annotations

from typing import Any

from mujun_wire.v1 import common_pb2

__all__ = ["STRING_FIELDS", "NUMBER_FIELDS", "record_message"]

#: Canonical record fields with their own protobuf fields; any other field travels as an extra.
STRING_FIELDS = ("enterprise_id", "name", "region", "industry", "size_class")
NUMBER_FIELDS = ("land_mu", "tax_wan", "revenue_wan", "value_added_wan", "energy_tce", "electricity_kwh", "emissions_t",
                 "water_m3", "employees", "rd_wan", "fixed_asset_investment_wan", "floor_area_m2", "years_in_production")


def record_message(row: dict[str, Any]) -> common_pb2.Record:
    """One enterprise as a ``mujun.v1.Record``; missing values are left unset."""
    message = common_pb2.Record()
    for key, value in row.items():
        if value is None:
            continue
        if key in STRING_FIELDS:
            setattr(message, key, str(value))
        elif key in NUMBER_FIELDS:
            setattr(message, key, float(value))
        elif key == "flags":
            message.flags.extend([value] if isinstance(value, str) else [str(v) for v in value])
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            message.extra_numbers[key] = float(value)
        else:
            message.extra_strings[key] = str(value)
    return message
