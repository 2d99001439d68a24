"""What an operator reads: one structured access line per call, standard gRPC and process metrics."""

from __future__ import annotations

import json
import urllib.request

import grpc
import pytest

from mujun_wire.v1 import packs_pb2, packs_pb2_grpc
from server.serverkit import ServerProcess, make_tokens


@pytest.fixture(scope="module")
def logged_server(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("observed") / "data"
    tokens = make_tokens(data_dir)
    process = ServerProcess(data_dir, ["--metrics-port", "0", "--log-level", "INFO"]).start()
    process.tokens = tokens  # type: ignore[attr-defined]
    yield process
    process.stop()


def _list_packs(server, token: str | None, request_id: str) -> grpc.StatusCode:
    metadata = [("x-request-id", request_id)] + ([("authorization", f"Bearer {token}")] if token else [])
    with grpc.insecure_channel(server.address) as channel:
        try:
            packs_pb2_grpc.PacksStub(channel).List(packs_pb2.ListPacksRequest(), metadata=metadata, timeout=30)
            return grpc.StatusCode.OK
        except grpc.RpcError as error:
            return error.code()


def _access_lines(server) -> list[dict]:
    lines = [json.loads(line) for line in server.log.read_text().splitlines() if line.startswith("{")]
    return [entry for entry in lines if entry["logger"] == "mujun.access"]


def test_every_call_gets_one_access_line_with_its_fields(logged_server):
    assert _list_packs(logged_server, logged_server.tokens["editor"], "req-ok-1") == grpc.StatusCode.OK
    assert _list_packs(logged_server, "mj_not_a_token", "req-bad-1") == grpc.StatusCode.UNAUTHENTICATED
    lines = {entry["request_id"]: entry for entry in _access_lines(logged_server)}
    ok, refused = lines["req-ok-1"], lines["req-bad-1"]
    assert (ok["method"], ok["code"], ok["role"]) == ("/mujun.v1.Packs/List", "OK", "editor")
    assert ok["principal"].endswith(":editor")  # the token id and its name, never the secret
    assert ok["duration_ms"] > 0 and ok["peer"].startswith("ipv4:127.0.0.1")
    assert ok["ts"].endswith("+00:00") and "T" in ok["ts"]
    assert refused["code"] == "UNAUTHENTICATED" and refused["principal"] is None and refused["reason"]
    assert sum(1 for entry in _access_lines(logged_server) if entry["request_id"] == "req-ok-1") == 1


def test_metrics_have_the_standard_grpc_names_and_process_metrics(logged_server):
    _list_packs(logged_server, logged_server.tokens["editor"], "req-metrics")
    text = urllib.request.urlopen(f"http://127.0.0.1:{logged_server.metrics_port}/metrics", timeout=10).read().decode()
    assert 'grpc_server_started_total{grpc_method="List",grpc_service="mujun.v1.Packs",grpc_type="UNARY"}' in text
    assert ('grpc_server_handled_total{grpc_code="OK",grpc_method="List",grpc_service="mujun.v1.Packs",'
            'grpc_type="UNARY"}') in text
    assert "grpc_server_handling_seconds_bucket" in text
    assert "process_resident_memory_bytes" in text and "python_gc_objects_collected_total" in text
