"""The command line: score, explain, pack list/show/validate/test — output, summaries and exit codes."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

import mujun
from mujun.cli import app
from mujun.synth import generate
from conftest import FIXTURES, RULES

runner = CliRunner()


@pytest.fixture(scope="module")
def county(tmp_path_factory) -> tuple[Path, Path, pl.DataFrame]:
    folder = tmp_path_factory.mktemp("county")
    current, prior = generate(2000, regions=3, seed=7)
    mujun.write_table(current, folder / "current.parquet")
    mujun.write_table(prior, folder / "prior.parquet")
    return folder / "current.parquet", folder / "prior.parquet", current


def test_score_writes_every_row_and_prints_a_tier_summary(county, tmp_path: Path) -> None:
    current, prior, frame = county
    out = tmp_path / "result.csv"
    run = runner.invoke(app, ["score", "--pack", "js-huaian-2024", "--input", str(current), "--prior", str(prior),
                              "--output", str(out)])
    assert run.exit_code == 0, run.output
    assert "firms per group and tier" in run.output and "all" in run.output
    written = pl.read_csv(out, infer_schema_length=0)
    assert written.height == frame.height
    assert written["enterprise_id"].to_list() == frame["enterprise_id"].cast(pl.String).to_list()
    assert (written["status"] == "error").any(), "generated data carries bad records; they must be reported"


def test_strict_exits_3_when_a_record_failed(county, tmp_path: Path) -> None:
    current, _, _ = county
    run = runner.invoke(app, ["score", "-p", "js-huaian-2024", "-i", str(current), "-o", str(tmp_path / "r.parquet"),
                              "--strict"])
    assert run.exit_code == 3


def test_set_overrides_a_parameter(county, tmp_path: Path) -> None:
    current, prior, _ = county
    out = tmp_path / "r.parquet"
    run = runner.invoke(app, ["score", "-p", "js-huaian-2024", "-i", str(current), "--prior", str(prior), "-o", str(out),
                              "--set", "d_surcharge_yuan_per_kwh=0.1"])
    assert run.exit_code == 0, run.output
    rates = pl.read_parquet(out).filter(pl.col("tier") == "D")["measure.electricity_surcharge_yuan_per_kwh"]
    assert rates.len() > 0 and set(rates.to_list()) == {0.1}


@pytest.mark.parametrize("args,message", [
    (["-p", "no-such-pack"], "PACK_NOT_FOUND"),
    (["-p", str(FIXTURES / "bad_packs" / "unknown_key.yaml")], "items.tax.wieght"),
    (["-p", "js-huaian-2024", "--set", "nonsense"], "--set expects name=value"),
])
def test_unusable_pack_or_input_exits_2_with_a_clear_message(county, tmp_path: Path, args, message) -> None:
    current, _, _ = county
    run = runner.invoke(app, ["score", "-i", str(current), "-o", str(tmp_path / "r.csv"), *args])
    assert run.exit_code == 2
    assert message in run.output


def test_input_without_a_required_column_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "thin.csv"
    path.write_text("enterprise_id,region\nA,320803\n", encoding="utf-8")
    run = runner.invoke(app, ["score", "-p", "js-huaian-2024", "-i", str(path), "-o", str(tmp_path / "r.csv")])
    assert run.exit_code == 2 and "no column for" in run.output
    assert not (tmp_path / "r.csv").exists()


def test_explain_prints_the_trace(county) -> None:
    current, prior, frame = county
    ident = frame["enterprise_id"][0]
    run = runner.invoke(app, ["explain", "-p", "js-huaian-2024", "-i", str(current), "--prior", str(prior), "--id", ident])
    assert run.exit_code == 0, run.output
    assert ident in run.output and "js-huaian-2024" in run.output


def test_pack_commands(tmp_path: Path) -> None:
    listed = runner.invoke(app, ["pack", "list"])
    assert listed.exit_code == 0 and "js-huaian" in listed.output
    assert runner.invoke(app, ["pack", "show", "zj-huangyan-2022"]).exit_code == 0
    assert runner.invoke(app, ["pack", "validate", str(RULES / "zj-huangyan-2022" / "pack.yaml")]).exit_code == 0
    invalid = runner.invoke(app, ["pack", "validate", str(FIXTURES / "bad_packs" / "quota_sum.yaml")])
    assert invalid.exit_code == 2 and "must add up to 100" in invalid.output
    tested = runner.invoke(app, ["pack", "test", "js-huaian-2024"])
    assert tested.exit_code == 0 and "2 passed, 0 failed" in tested.output  # two golden-case files


def test_stdin_and_stdout_with_dash(tmp_path: Path) -> None:
    text = "统一社会信用代码,行政区划代码,用地面积(亩),税收(万元),营业收入\nA,1,10,50,900\nB,1,20,30,700\n"
    run = runner.invoke(app, ["score", "-p", "js-huaian-2024", "-i", "-", "--input-format", "csv", "-o", "-",
                              "--output-format", "csv"], input=text.encode("utf-8"))
    assert run.exit_code == 0, run.output
    lines = run.stdout.splitlines()
    assert lines[0].startswith("enterprise_id,status") and [line.split(",")[0] for line in lines[1:3]] == ["A", "B"]
    assert "firms per group and tier" not in run.stdout  # the summary goes to stderr when the table is on stdout


def test_dash_without_a_format_is_exit_2(tmp_path: Path) -> None:
    run = runner.invoke(app, ["score", "-p", "js-huaian-2024", "-i", "-", "-o", str(tmp_path / "o.csv")], input=b"")
    assert run.exit_code == 2 and "--input-format" in run.output


def test_a_missing_output_folder_is_exit_2(county, tmp_path: Path) -> None:
    current, _, _ = county
    run = runner.invoke(app, ["score", "-p", "js-huaian-2024", "-i", str(current), "-o", str(tmp_path / "nope" / "o.csv")])
    assert run.exit_code == 2 and "does not exist" in run.output and not (tmp_path / "nope").exists()


def test_round_changes_the_written_scores_only(county, tmp_path: Path) -> None:
    current, prior, _ = county
    args = ["score", "-p", "js-huaian-2024", "-i", str(current), "--prior", str(prior)]
    assert runner.invoke(app, [*args, "-o", str(tmp_path / "full.csv")]).exit_code == 0
    run = runner.invoke(app, [*args, "-o", str(tmp_path / "shown.csv"), "--round"])
    assert run.exit_code == 0 and "display only" in run.output
    full, shown = pl.read_csv(tmp_path / "full.csv"), pl.read_csv(tmp_path / "shown.csv")
    assert shown["tier"].equals(full["tier"]) and shown["rank"].equals(full["rank"])
    assert shown["score"].equals(full["score"].round(2, mode="half_away_from_zero"))
    assert not shown["score"].equals(full["score"])


def test_pack_schema_validates_every_bundled_pack_and_flags_a_typo() -> None:
    import json

    import jsonschema
    import yaml

    run = runner.invoke(app, ["pack", "schema"])
    assert run.exit_code == 0
    validator = jsonschema.Draft202012Validator(json.loads(run.stdout))
    for path in sorted(RULES.glob("*/pack.yaml")):
        document = json.loads(json.dumps(yaml.safe_load(path.read_text(encoding="utf-8")), default=str))
        assert not list(validator.iter_errors(document)), path
    typo = {"id": "x", "version": "1", "title": "t", "source": "s", "items": {"tax": {"wieght": 1}}}
    messages = [m.message for e in validator.iter_errors(typo) for m in (e, *e.context)]
    assert any("'wieght' was unexpected" in m for m in messages), messages


@pytest.fixture()
def two_parks(tmp_path: Path) -> Path:
    """The firms of wx-parks-2023's golden case: 园区A passes, 园区B fails three checks."""
    import yaml

    case = yaml.safe_load((RULES / "wx-parks-2023" / "cases" / "two_parks.yaml").read_text("utf-8"))
    path = tmp_path / "firms.csv"
    pl.DataFrame(case["input"]).write_csv(path)
    return path


def test_score_with_parks_writes_the_park_table_beside_the_output(two_parks: Path, tmp_path: Path) -> None:
    run = runner.invoke(app, ["score", "-p", "wx-parks-2023", "-i", str(two_parks), "-o", str(tmp_path / "out.csv")])
    assert run.exit_code == 0, run.output
    parks = pl.read_csv(tmp_path / "out.parks.csv", infer_schema_length=0)
    assert parks["park"].to_list() == ["园区A", "园区B"]
    assert parks["members"].to_list() == ["W1;W2;W3", "W4;W5"]
    assert parks["decision"].to_list() == ["达到2025年目标", "未达到2025年目标"]
    assert "parks — 2" in run.output and "未达到2025年目标" in run.output


def test_parks_output_names_the_park_file_and_is_refused_for_a_pack_without_parks(two_parks: Path, tmp_path: Path) -> None:
    target = tmp_path / "parks.parquet"
    run = runner.invoke(app, ["score", "-p", "wx-parks-2023", "-i", str(two_parks), "-o", str(tmp_path / "out.csv"),
                              "--parks-output", str(target)])
    assert run.exit_code == 0, run.output
    assert pl.read_parquet(target)["firms"].to_list() == [3, 2]
    assert not (tmp_path / "out.parks.csv").exists()
    refused = runner.invoke(app, ["score", "-p", "js-huaian-2024", "-i", str(two_parks), "-o", str(tmp_path / "h.csv"),
                                  "--parks-output", str(target)])
    assert refused.exit_code == 2 and "no parks section" in refused.output


def test_explain_park_lists_its_firms_and_checks_in_the_packs_language(two_parks: Path) -> None:
    run = runner.invoke(app, ["explain", "-p", "wx-parks-2023", "-i", str(two_parks), "--park", "园区B"])
    assert run.exit_code == 0, run.output
    assert "由 2 家参评企业汇总" in run.output
    assert "W4（" in run.output and "W5（" in run.output and "W1" not in run.output
    assert "Σ税收 50 万元" in run.output and "全市 Σ税收 200 万元" in run.output
    assert "园区亩均税收 1.25 万元/亩 ≥ 2.2 万元/亩？不通过" in run.output
    assert "结论：未达到2025年目标" in run.output
    english = runner.invoke(app, ["explain", "-p", "wx-parks-2023", "-i", str(two_parks), "--park", "园区A", "--lang", "en"])
    assert english.exit_code == 0, english.output
    assert "built from 3 rated firms" in english.output and "passes" in english.output and "通过" not in english.output


def test_explain_of_an_unknown_park_names_the_parks_there_are(two_parks: Path) -> None:
    run = runner.invoke(app, ["explain", "-p", "wx-parks-2023", "-i", str(two_parks), "--park", "园区C"])
    assert run.exit_code != 0 and "园区C" in run.output and "园区A" in run.output
