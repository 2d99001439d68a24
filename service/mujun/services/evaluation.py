"""Evaluation on request (RuleEngine): the caller's records scored by a published or a region's pack."""

from __future__ import annotations

import polars as pl

import mujun
from mujun.errors import InputError, PermissionDenied
from mujun.services.context import Context
from mujun.services.packs import PackService, PackSpec
from mujun.services.principal import Principal

__all__ = ["EvaluationService", "check_region_column"]


class EvaluationService:
    def __init__(self, context: Context, packs: PackService):
        self._context = context
        self._packs = packs

    def evaluate(self, principal: Principal, spec: PackSpec, data: pl.DataFrame | dict[str, pl.DataFrame],
                 prior: pl.DataFrame | None = None, history: pl.DataFrame | None = None, cycle: int | None = None,
                 prefer: tuple[str, ...] = ()) -> mujun.Result:
        """``data``: one table, or several bureaus' tables by name, joined as ``pack.evaluate`` does."""
        several = isinstance(data, dict)
        for table in data.values() if several else (data,):  # of several tables, one gives the region
            _require_data_regions(principal, table, with_region=not several)
        pack = self._packs.resolve(principal, spec)
        result = pack.evaluate(data, prior=prior, history=history, cycle=cycle, prefer=prefer)
        if several and principal.regions is not None:  # a region under a bureau's own header
            _require_data_regions(principal, result.explain_table().select(list(pack.plan.inputs)))
        self._context.counted(result.table.height)
        return result


def _require_data_regions(principal: Principal, data: pl.DataFrame, *, with_region: bool = True) -> None:
    """Every region of the records is the caller's; ``with_region``: the records must carry one."""
    check_region_column(data)
    if principal.regions is None or ("region" not in data.columns and not with_region):
        return
    if "region" not in data.columns:
        raise PermissionDenied("the records carry no region; a region-scoped token may only evaluate records "
                               "of its own regions")
    for region in data["region"].cast(pl.String).drop_nulls().unique().sort().to_list():
        principal.require_region(region)


def check_region_column(data: pl.DataFrame, what: str = "data") -> None:
    """A region is one county code per record; a list or struct there cannot be scoped or grouped."""
    kind = data.schema.get("region")
    if kind is not None and kind.is_nested():
        raise InputError(f"the region column holds {kind} values; give one county code (text) per record",
                         location=f"{what}.region")
