"""Malformed packs are rejected with the YAML path of the bad field and a message an editor understands.

Each fixture in tests/fixtures/bad_packs/ starts with ``# expect: PATH | MESSAGE PART``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import mujun
from mujun.errors import PackError
from conftest import FIXTURES

BAD = sorted((FIXTURES / "bad_packs").glob("*.yaml"))


def _expectation(path: Path) -> tuple[str, str]:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    where, _, message = first.removeprefix("# expect:").partition("|")
    return where.strip(), message.strip()


@pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
def test_bad_pack_is_rejected_with_its_path(path: Path) -> None:
    where, message = _expectation(path)
    with pytest.raises(PackError) as caught:
        mujun.load_pack(path)
    assert any(issue.path.startswith(where) and message in issue.message for issue in caught.value.issues), \
        caught.value.issues


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    pack = tmp_path / "two.yaml"
    pack.write_text("id: two\nversion: '1'\ntitle: t\nsource: s\n"
                    "indicators: {a: nope / land_mu, b: tax_wan / zilch}\n", encoding="utf-8")
    with pytest.raises(PackError) as caught:
        mujun.load_pack(pack)
    assert [i.path for i in caught.value.issues] == ["indicators.a", "indicators.b"]


def test_unknown_parameter_override_names_the_parameter() -> None:
    with pytest.raises(PackError) as caught:
        mujun.load_pack("js-huaian-2024").with_parameters({"d_surcharge": "0.2"})
    assert caught.value.issues[0].path == "parameters.d_surcharge"


def test_non_numeric_parameter_override_is_rejected() -> None:
    with pytest.raises(PackError, match="expected a number"):
        mujun.load_pack("js-huaian-2024").with_parameters({"d_surcharge_yuan_per_kwh": "lots"})


def test_override_changes_the_hash_and_the_result() -> None:
    pack = mujun.load_pack("js-huaian-2024")
    cheaper = pack.with_parameters({"d_surcharge_yuan_per_kwh": "0.1", "land_tax_reduction_pct.A": "80"})
    assert cheaper.hash != pack.hash
    assert cheaper.parameters["d_surcharge_yuan_per_kwh"] == 0.1
    assert cheaper.parameters["land_tax_reduction_pct"]["A"] == 80


def test_hash_ignores_layout_but_not_content(tmp_path: Path) -> None:
    original = mujun.load_pack("zj-huangyan-2021")
    reformatted = tmp_path / "pack.yaml"
    reformatted.write_text("# a comment\n" + original.text.replace("  ", "  "), encoding="utf-8")
    assert mujun.load_pack(reformatted).hash == original.hash
    assert mujun.load_pack("zj-huangyan-2022").hash != original.hash


def test_extends_overrides_only_the_value_of_a_parameter() -> None:
    pack = mujun.load_pack("zj-huangyan-2022")
    param = pack.model.parameters["div_tax_per_mu"]
    assert param.value == 24.097 and param.unit == "万元/亩"
