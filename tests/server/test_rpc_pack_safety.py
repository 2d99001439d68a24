"""A real server facing hostile packs and requests: no server file read, every input a clear error.

``extends`` names a bundled or published pack id, never a path; packs that cannot be scored are
refused at Validate and Publish with their YAML path; malformed tables and page tokens are
INVALID_ARGUMENT; explain is bounded up front; a decision's trace comes from the run's records.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import grpc
import polars as pl
import pyarrow as pa
import pytest
from google.protobuf.json_format import MessageToDict

import mujun
from mujun_client import RemoteError
from server.conftest import YEAR
from server.serverkit import REGION_A, SHARED_LIMITS

PACK = "js-huaian-2024"
HEAD = 'id: hostile\nversion: "1"\ntitle: t\nsource: s\n'


def _refused(call) -> RemoteError:
    with pytest.raises(RemoteError) as caught:
        call()
    return caught.value


@pytest.mark.parametrize("where", ["/etc/hostname", "/no/such/file.yaml", "../../../etc/passwd"])
def test_validate_never_reads_a_path_named_by_extends(client_as, where):
    response = client_as("editor").validate_pack(HEAD + f"extends: {where}\n")
    assert not response.valid
    assert [(i.path, i.message) for i in response.issues] == [
        ("extends", f"no bundled or published pack named {where!r}; 'extends' names a pack id, never a file")]


def test_a_server_yaml_file_named_by_extends_reveals_nothing(client_as, tmp_path: Path):
    secret = tmp_path / "secret.yaml"
    secret.write_text("api_secret_key: s3cr3t-value\nid: leaked\n", encoding="utf-8")
    editor = client_as("editor")
    response = editor.validate_pack(HEAD + f"extends: {secret}\n")
    assert not response.valid and "api_secret_key" not in str(response) and "s3cr3t" not in str(response)
    error = _refused(lambda: editor.publish_pack(HEAD.replace("1", "2", 1) + f"extends: {secret}\n"))
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT and "api_secret_key" not in error.message


def test_extends_may_name_a_published_pack(client_as):
    editor = client_as("editor")
    parent = mujun.load_pack(PACK).text.replace(f"id: {PACK}", "id: safety-parent", 1)
    editor.publish_pack(parent)
    child = editor.publish_pack("extends: safety-parent\nid: safety-child\nversion: '1'\n")
    assert child.pack_id == "safety-child"
    assert editor.validate_pack("extends: js-huaian-2024\nid: safety-other\nversion: '1'\n").valid


#: packs that validated and then scored wrongly or failed every Evaluate, and inputs that were INTERNAL
BAD_PACKS = {
    "nan_parameter": (HEAD + "parameters:\n  p: .nan\n", "parameters.p.value", "finite"),
    "inf_threshold": (HEAD + "tiers: {method: thresholds, thresholds: [{tier: A, min: .inf}, {tier: B}]}\n",
                      "tiers.thresholds.0.min", "finite"),
    "round_negative_digits": (HEAD + "indicators:\n  a: round(tax_wan, -5)\n", "indicators.a", "digits from 0 to 15"),
    "round_1e300_digits": (HEAD + "indicators:\n  a: round(tax_wan, 1e300)\n", "indicators.a", "digits from 0 to 15"),
    "unhashable_key": (HEAD + "? [a, b]: 1\n", "line 5", "a key must be a name"),
    "sum_of_1000_terms": (HEAD + "parameters: {a: 1}\nindicators:\n  s: " + "+".join(["a"] * 1000) + "\n",
                          "indicators.s", "nests more than 64"),
    "expression_of_1_mb": (HEAD + "indicators:\n  s: " + "a+" * 500_000 + "a\n", "", "limit is 262,144"),
    "10k_unary_minus": (HEAD + "indicators:\n  s: " + "-" * 10_000 + "tax_wan\n", "indicators.s", "limit is 2,000"),
    "integer_of_400_digits": (HEAD + "indicators:\n  s: tax_wan + " + "9" * 400 + "\n", "indicators.s", "finite"),
    "yaml_integer_of_5000_digits": (HEAD + "parameters:\n  p: " + "9" * 5000 + "\n", "line 6", "unreadable"),
    "3000_indicators": (HEAD + "indicators:\n" + "".join(f"  i{k}: tax_wan\n" for k in range(3000)),
                        "indicators", "at most 500"),
}


@pytest.mark.parametrize("name", BAD_PACKS)
def test_a_bad_pack_is_invalid_with_its_location_at_validate_and_publish(client_as, name):
    text, where, message = BAD_PACKS[name]
    editor = client_as("editor")
    response = editor.validate_pack(text)
    assert not response.valid
    assert any(i.path.startswith(where) and message in i.message for i in response.issues), response.issues
    error = _refused(lambda: editor.publish_pack(text))
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT and error.reason == "PACK_INVALID"


def _county_rows(n: int) -> dict[str, list]:
    return {"enterprise_id": [f"E{i}" for i in range(n)], "land_mu": [10.0] * n, "tax_wan": [50.0] * n,
            "revenue_wan": [900.0] * n}


def test_a_region_column_of_lists_is_invalid_argument(client_as):
    table = pa.table({**_county_rows(2), "region": pa.array([[REGION_A], [REGION_A, "x"]])})
    for who in ("admin", "agency_a"):
        error = _refused(lambda: client_as(who).evaluate_batch(table, PACK))
        assert error.code == grpc.StatusCode.INVALID_ARGUMENT and "region" in error.message, (who, error)


def test_duplicate_column_names_are_invalid_argument(client_as):
    rows = _county_rows(2)
    table = pa.table([*map(pa.array, rows.values()), pa.array([REGION_A] * 2), pa.array([REGION_A] * 2)],
                     names=[*rows, "region", "region"])
    error = _refused(lambda: client_as("admin").evaluate_batch(table, PACK))
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT and "region" in error.message


@pytest.mark.parametrize("token", [base64.urlsafe_b64encode(b"abc").decode(), "!!!",
                                   base64.urlsafe_b64encode(b"9" * 5000).decode(),
                                   base64.urlsafe_b64encode("²".encode()).decode()])
def test_a_bad_audit_page_token_is_invalid_argument(client_as, token):
    error = _refused(lambda: client_as("auditor").audit_log(page_token=token))
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT and ("page_token", "pass next_page_token back unchanged") \
        in error.violations


def test_evaluate_with_explain_over_the_limit_is_refused_up_front(client_as, enterprises):
    limit = int(SHARED_LIMITS["MUJUN_MAX_EXPLAIN_RECORDS"])
    admin = client_as("admin")
    error = _refused(lambda: admin.evaluate(enterprises[0].head(limit + 1), PACK, explain=True))
    assert error.code == grpc.StatusCode.RESOURCE_EXHAUSTED and f"at most {limit}" in error.message
    assert len(admin.evaluate(enterprises[0].head(limit), PACK, explain=True).traces) == limit
    assert len(admin.evaluate(enterprises[0].head(limit + 1), PACK).results) == limit + 1


def test_a_decisions_trace_is_the_trace_of_its_run(published_cycle, client_as, enterprises):
    _, mine = published_cycle
    local = mujun.load_pack(PACK).evaluate(mine, prior=enterprises[1].filter(pl.col("region") == REGION_A))
    agency = client_as("agency_a")
    first: dict[str, str] = {}  # status → a decision of the run (appealed ones were scored against a changed cohort)
    for decision in agency.iter_decisions(REGION_A, YEAR):
        if decision.version == 1 and decision.result.enterprise_id:
            first.setdefault(decision.result.status, decision.result.enterprise_id)
    assert set(first) == {"ok", "unrated", "error"}
    for enterprise in first.values():
        trace = agency.get_decision(REGION_A, YEAR, enterprise, with_trace=True).trace
        assert MessageToDict(trace) == _floats(json.loads(json.dumps(local.explain(enterprise), default=str)))


def _floats(value):
    """A trace as a Struct returns it: every number a float."""
    if isinstance(value, dict):
        return {k: _floats(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_floats(v) for v in value]
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value
