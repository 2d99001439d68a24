"""The pipeline: compile passes and evaluation stages follow the one stage list; the plan is typed and frozen."""

from __future__ import annotations

import dataclasses

import pytest

import mujun
from mujun.engine import compile as compiler
from mujun.engine import evaluate, pipeline, schema
from mujun.engine.nodes import ExprItem, MinmaxItem, RatioItem, StepsItem


def _stage_order(names):
    return [n for n in names if n in pipeline.STAGES]


def test_compile_passes_and_evaluation_stages_follow_the_one_stage_list():
    passes = [name for name, _ in compiler.PASSES]
    stages = [name for name, _ in evaluate.STAGES]
    order = list(pipeline.STAGES)
    assert passes[:2] == ["parameters", "fields"] and passes[-1] == "inputs"
    assert _stage_order(passes) == [n for n in order if n in passes] == passes[2:-1]
    assert stages == [n for n in order if n in stages]


def test_an_unknown_stage_name_is_refused():
    with pytest.raises(ValueError, match="not a pipeline stage: event"):
        pipeline.in_order({"event": print})


def test_the_plan_is_frozen_and_its_items_are_typed_per_method():
    plan = mujun.load_pack("js-huaian-2024").plan
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.items = ()  # type: ignore[misc]
    assert [i.name for i in plan.items] == list(plan.pack.items)
    kinds = {RatioItem: "ratio", MinmaxItem: "minmax", StepsItem: "steps", ExprItem: "expr"}
    assert [kinds[type(i)] for i in plan.items] == [i.method for i in plan.pack.items.values()]
    ratio = next(i for i in plan.items if isinstance(i, RatioItem))
    assert ratio.benchmark.source_path == f"items.{ratio.name}.benchmark"
    assert [i.name for i in plan.indicators] == list(plan.pack.indicators)


def test_internal_columns_carry_the_reserved_prefix_and_published_ones_do_not():
    assert schema.stat_col("tax") == "__bm.tax.stat" and schema.applied_col("a") == "__item.a.applied"
    assert schema.is_fact(schema.zero_col("x")) and not schema.is_fact(schema.ROW)
    assert not schema.item_col("a").startswith(schema.INTERNAL)
