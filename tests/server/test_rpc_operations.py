"""Operating the server: health, reflection, metrics, config, TLS, crashes, shutdown, load (retries: test_client_retries)."""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request

import grpc
import polars as pl
import pytest
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

from mujun.server.config import ConfigError, load_config
from mujun.synth import generate
from mujun_client import AsyncClient, Client, RemoteError
from server.serverkit import ROOT, ServerProcess, server_env

SERVICES = {"mujun.v1.RuleEngine", "mujun.v1.Packs", "mujun.v1.Cycles", "grpc.health.v1.Health"}


def test_reflection_lists_the_services(server):
    with grpc.insecure_channel(server.address) as channel:
        assert SERVICES <= set(ProtoReflectionDescriptorDatabase(channel).get_services())


def test_reflection_v1_answers_like_v1alpha(server):
    """Tools that ask grpc.reflection.v1 first (grpcurl, Postman) see the same services."""
    from grpc_reflection.v1alpha import reflection_pb2

    with grpc.insecure_channel(server.address) as channel:
        call = channel.stream_stream("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
                                     request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
                                     response_deserializer=reflection_pb2.ServerReflectionResponse.FromString)
        responses = list(call(iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=10))
    names = {service.name for service in responses[0].list_services_response.service}
    assert SERVICES | {"grpc.reflection.v1.ServerReflection"} <= names


def test_metrics_count_requests_by_method_and_status(client_as, server):
    client_as("editor").list_packs()
    with pytest.raises(RemoteError):
        client_as(None).list_packs()
    text = urllib.request.urlopen(f"http://127.0.0.1:{server.metrics_port}/metrics", timeout=10).read().decode()
    assert 'mujun_grpc_requests_total{code="OK",method="/mujun.v1.Packs/List"}' in text
    assert 'mujun_grpc_requests_total{code="UNAUTHENTICATED",method="/mujun.v1.Packs/List"}' in text
    assert "mujun_grpc_latency_seconds_bucket" in text and "mujun_pack_cache_total" in text


def test_binding_beyond_loopback_needs_tls():
    with pytest.raises(ConfigError, match="needs TLS"):
        load_config(env={}, host="0.0.0.0")


def test_binding_beyond_loopback_with_tls_is_accepted(tls_files):
    config = load_config(env={}, host="0.0.0.0", tls_cert=str(tls_files["cert"]), tls_key=str(tls_files["key"]))
    assert (config.host, config.tls_cert) == ("0.0.0.0", str(tls_files["cert"]))


def test_settings_come_from_file_then_environment_then_flags(tmp_path):
    file = tmp_path / "mujun.toml"
    file.write_text('port = 7000\nworkers = 3\ndata_dir = "from-file"\n')
    config = load_config(file, env={"MUJUN_PORT": "7001", "MUJUN_WORKERS": "5"}, port=7002)
    assert (config.port, config.workers, config.data_dir) == (7002, 5, "from-file")


def test_serve_refuses_a_public_bind_without_tls(tmp_path):
    done = subprocess.run([sys.executable, "-m", "mujun.cli", "serve", "--data-dir", str(tmp_path), "--host", "0.0.0.0",
                           "--port", "0"], env=server_env(), cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "needs TLS" in done.stderr


# -- TLS -----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tls_files(tmp_path_factory):
    """A throw-away CA and a server certificate for 127.0.0.1 and localhost, signed by it."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    folder = tmp_path_factory.mktemp("tls")
    now = dt.datetime.now(dt.timezone.utc)

    def name(common: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(name("mujun test CA")).issuer_name(name("mujun test CA"))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(name("localhost")).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    files = {"ca": folder / "ca.pem", "cert": folder / "server.pem", "key": folder / "server.key"}
    files["ca"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files["cert"].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files["key"].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
    return files


def test_tls_handshake_with_a_test_ca(tmp_path, tls_files):
    process = ServerProcess(tmp_path / "data", ["--tls-cert", str(tls_files["cert"]), "--tls-key", str(tls_files["key"])])
    process.start()
    try:
        with Client(process.address, process.token, tls_ca=tls_files["ca"], timeout=20) as client:
            assert client.health() == "SERVING"
            assert client.list_packs().packs
        with Client(process.address, timeout=3, retries=0) as plaintext:
            with pytest.raises(RemoteError) as caught:
                plaintext.health()
            assert caught.value.code == grpc.StatusCode.UNAVAILABLE
    finally:
        process.stop()


# -- crashes, shutdown, retries, load ------------------------------------------------------------

def _region(data: pl.DataFrame, n: int) -> pl.DataFrame:
    """``n`` enterprises of one county (ids made unique), from a larger synthetic table."""
    return data.head(n).with_columns(pl.lit("320102").alias("region"),
                                     pl.format("K{}", pl.int_range(pl.len())).alias("enterprise_id"))


def test_kill_9_during_a_cycle_run_loses_nothing_and_leaves_no_half_written_run(tmp_path):
    data_dir = tmp_path / "data"
    first, _ = generate(2_000, 1, 1)
    second, _ = generate(150_000, 1, 2)
    process = ServerProcess(data_dir).start()
    try:
        with Client(process.address, process.token, timeout=120) as client:
            committed = client.run_cycle("320102", 2024, _region(first, 2_000))
        states: list[str] = []
        errors: list[Exception] = []

        def run_second() -> None:
            try:
                with Client(process.address, process.token, timeout=120, retries=0) as client:
                    client.run_cycle("320102", 2024, _region(second, 150_000))
            except RemoteError as error:
                errors.append(error)

        runner = threading.Thread(target=run_second, daemon=True)
        runner.start()
        with Client(process.address, process.token, timeout=10) as watcher:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and (not states or states[-1] != "running"):
                states.append(watcher.get_cycle("320102", 2024).state)
                time.sleep(0.01)
        assert states[-1] == "running", "the second run never started"
        process.kill()
        runner.join(30)
        assert errors and errors[0].code == grpc.StatusCode.UNAVAILABLE
    finally:
        process.kill()
    with sqlite3.connect(data_dir / "mujun.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    restarted = ServerProcess(data_dir).start()
    try:
        with Client(restarted.address, restarted.token, timeout=30) as client:
            cycle = client.get_cycle("320102", 2024)
            assert (cycle.state, cycle.run_number, cycle.enterprises) == ("draft", 1, committed.enterprises)
            assert len(list(client.iter_decisions("320102", 2024, page_size=1000))) == committed.enterprises
            assert client.run_cycle("320102", 2024, _region(first, 500)).run_number == 2
    finally:
        restarted.stop()


def test_sigterm_drains_an_in_flight_batch_before_exiting(tmp_path):
    from mujun_client import _messages

    data, _ = generate(100_000, 2, 3)
    process = ServerProcess(tmp_path / "data").start()
    sending = threading.Event()
    outcome: dict[str, object] = {}

    def requests():
        for index, request in enumerate(_messages.batch_requests(_messages.pack_ref("js-huaian-2024"), data, None,
                                                                 None, 256 * 1024)):
            if index == 2:
                sending.set()  # the header and a first chunk are on their way: the call is in flight
            yield request

    def score() -> None:
        with Client(process.address, process.token, timeout=60, retries=0) as client:
            responses = client.engine.EvaluateBatch(requests(), timeout=60, metadata=client.metadata)
            outcome["rows"] = _messages.read_results(responses, [False])[0].num_rows

    worker = threading.Thread(target=score)
    worker.start()
    assert sending.wait(30)
    time.sleep(0.2)
    try:
        assert process.stop(timeout=60) == 0
    finally:
        process.kill()
    worker.join(60)
    assert outcome.get("rows") == 100_000


def test_a_thousand_concurrent_unary_calls_all_succeed(server, tokens_for):
    record = [{"enterprise_id": "C1", "region": "320102", "land_mu": 10, "tax_wan": 50, "revenue_wan": 900}]

    async def hammer() -> list[str]:
        async with AsyncClient(server.address, tokens_for["admin"], timeout=60) as client:
            responses = await asyncio.gather(*(client.evaluate(record, "js-huaian-2024") for _ in range(1000)))
        return [r.results[0].status for r in responses]

    rss_before = _rss_mb(server.process.pid)
    assert asyncio.run(hammer()) == ["ok"] * 1000
    assert _rss_mb(server.process.pid) - rss_before < 300, "memory grew by more than 300 MB over 1000 calls"


def _rss_mb(pid: int) -> float:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0
