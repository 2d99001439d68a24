"""No caller can hold the server with uploads: silent or trickling streams are cut off, uploads are
capped overall and per caller (RESOURCE_EXHAUSTED), and Health and unary calls answer meanwhile."""

from __future__ import annotations

import struct
import threading
import time
from collections.abc import Iterator

import grpc
import polars as pl
import pyarrow as pa
import pytest

from mujun_wire.v1 import common_pb2, rule_engine_pb2
from mujun_client import Client
from mujun_client import _messages as m
from mujun_wire import arrow as wire
from server.serverkit import ServerProcess, make_tokens

PACK = "js-huaian-2024"
RECORD = [{"enterprise_id": "E1", "region": "320102", "land_mu": 10, "tax_wan": 50, "revenue_wan": 900}]
LIMITS = {"MUJUN_MAX_UPLOADS": "4", "MUJUN_MAX_UPLOADS_PER_CALLER": "2", "MUJUN_UPLOAD_IDLE_SECONDS": "1.5",
          "MUJUN_MAX_UPLOAD_MESSAGES": "300", "MUJUN_WORKERS": "4", "MUJUN_UPLOAD_WORKERS": "1"}


@pytest.fixture(scope="module")
def guarded(tmp_path_factory) -> Iterator[ServerProcess]:
    """A server with small upload caps and a short idle cut-off."""
    data_dir = tmp_path_factory.mktemp("guarded") / "data"
    made = make_tokens(data_dir)
    process = ServerProcess(data_dir, ["--require-tokens"], env=LIMITS)
    process.tokens = made  # type: ignore[attr-defined]
    process.start()
    yield process
    process.stop()


def _header() -> rule_engine_pb2.EvaluateBatchRequest:
    return rule_engine_pb2.EvaluateBatchRequest(header=rule_engine_pb2.BatchHeader(pack=common_pb2.PackRef(pack_id=PACK)))


def _held(release: threading.Event, beat: float | None) -> Iterator[rule_engine_pb2.EvaluateBatchRequest]:
    """A header, then nothing (``beat`` None) or an empty message every ``beat`` s, until ``release``."""
    yield _header()
    while not release.wait(beat if beat is not None else 30):
        yield rule_engine_pb2.EvaluateBatchRequest()


class _Uploads:
    """Upload streams held open in background threads; ``codes`` collects how each ended."""

    def __init__(self, address: str):
        self.address = address
        self.release = threading.Event()
        self.codes: list[grpc.StatusCode] = []
        self._threads: list[threading.Thread] = []
        self._clients: list[Client] = []

    def open(self, token: str, count: int, beat: float | None = 0.3) -> None:
        client = Client(self.address, token, timeout=30)
        self._clients.append(client)
        for _ in range(count):
            thread = threading.Thread(target=self._one, args=(client, beat), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _one(self, client: Client, beat: float | None) -> None:
        try:
            list(client.engine.EvaluateBatch(_held(self.release, beat), timeout=20, metadata=client.metadata))
            self.codes.append(grpc.StatusCode.OK)
        except grpc.RpcError as error:
            self.codes.append(error.code())

    def wait_for(self, count: int, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.codes) < count and time.monotonic() < deadline:
            time.sleep(0.05)

    def close(self) -> None:
        self.release.set()
        for thread in self._threads:
            thread.join(25)
        for client in self._clients:
            client.close()


@pytest.fixture
def uploads(guarded):
    held = _Uploads(guarded.address)
    yield held
    held.close()


def test_a_stream_that_goes_silent_is_cut_off(guarded, uploads):
    started = time.monotonic()
    uploads.open(guarded.tokens["admin"], 1, beat=None)
    uploads.wait_for(1)
    assert uploads.codes == [grpc.StatusCode.RESOURCE_EXHAUSTED]
    assert time.monotonic() - started < 8


def test_uploads_beyond_the_caps_are_refused_at_once_while_health_and_evaluate_answer(guarded, uploads):
    tokens = guarded.tokens
    uploads.open(tokens["admin"], 8)       # 2 admitted (the limit per caller), 6 refused
    uploads.open(tokens["operator_a"], 8)  # 2 more reach the overall limit of 4, 6 refused
    uploads.wait_for(12, timeout=5)
    with Client(guarded.address, tokens["editor"], timeout=5, retries=0) as other:
        for _ in range(4):
            assert other.health(timeout=1) == "SERVING"
        assert other.evaluate(RECORD, PACK, timeout=5).results[0].status == "ok"
        with pytest.raises(grpc.RpcError) as caught:
            list(other.engine.EvaluateBatch(iter([_header()]), timeout=5, metadata=other.metadata))
        assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and "4 uploads" in caught.value.details()
    assert uploads.codes == [grpc.StatusCode.RESOURCE_EXHAUSTED] * 12  # the four admitted streams are still open


def test_a_flood_of_tiny_messages_is_refused_at_the_message_limit(guarded):
    stream = b"".join(wire.table_to_chunks(pl.DataFrame(RECORD * 20).to_arrow(), 1 << 20))
    assert len(stream) > 400
    with Client(guarded.address, guarded.tokens["admin"], timeout=10, retries=0) as client:
        # A valid stream, one byte per message.
        requests = [_header()] + [rule_engine_pb2.EvaluateBatchRequest(data_chunk=stream[i:i + 1])
                                  for i in range(len(stream))]
        started = time.monotonic()
        with pytest.raises(grpc.RpcError) as caught:
            list(client.engine.EvaluateBatch(iter(requests), timeout=10, metadata=client.metadata))
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and "300 messages" in caught.value.details()
    assert time.monotonic() - started < 5


def test_a_caller_who_stops_reading_its_answer_is_cancelled_and_frees_the_slot(guarded):
    # 200k results (about 36 MB of Arrow): more than the transport buffers while nobody reads.
    firms = pl.DataFrame(RECORD * 200_000).with_columns(enterprise_id=pl.format("E{}", pl.int_range(pl.len())))
    requests = list(m.batch_requests(common_pb2.PackRef(pack_id=PACK), firms, None, None, 1 << 20))
    requests[0].header.response_chunk_bytes = 64 * 1024
    with Client(guarded.address, guarded.tokens["admin"], timeout=30, retries=0) as slow, \
            Client(guarded.address, guarded.tokens["editor"], timeout=30, retries=0) as other:
        answer = slow.engine.EvaluateBatch(iter(requests), timeout=30, metadata=slow.metadata)
        next(answer)  # the answer has started; now stop reading it
        time.sleep(3)  # longer than the idle limit: the server cancels the call and frees its one work slot
        table, _summary = other.evaluate_batch(firms.head(10), PACK, timeout=10)
        assert table.num_rows == 10
        with pytest.raises(grpc.RpcError) as caught:
            list(answer)
    assert caught.value.code() == grpc.StatusCode.CANCELLED


def test_idle_health_watch_and_reflection_streams_leave_unary_calls_their_threads(guarded):
    from grpc_health.v1 import health_pb2, health_pb2_grpc
    from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

    release = threading.Event()

    def idle_reflection():
        release.wait(20)
        yield reflection_pb2.ServerReflectionRequest(list_services="")

    with grpc.insecure_channel(guarded.address) as channel:
        watches = [health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest(), timeout=20)
                   for _ in range(8)]
        reflections = [reflection_pb2_grpc.ServerReflectionStub(channel).ServerReflectionInfo(idle_reflection(),
                                                                                             timeout=20)
                       for _ in range(8)]
        try:
            time.sleep(0.5)  # the streams are open and, on main, hold every worker thread
            with Client(guarded.address, guarded.tokens["editor"], timeout=5, retries=0) as other:
                assert other.evaluate(RECORD, PACK, timeout=5).results[0].status == "ok"
                assert other.health(timeout=1) == "SERVING"
        finally:
            release.set()
            for call in watches + reflections:
                call.cancel()


def test_a_stream_with_corrupt_string_offsets_is_invalid_and_the_server_lives_on(guarded):
    firms = pl.DataFrame(RECORD * 3).with_columns(enterprise_id=pl.Series(["E1", "E2", "E3"])).to_arrow()
    firms = firms.cast(firms.schema.set(0, pa.field("enterprise_id", pa.string())))
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, firms.schema) as writer:
        writer.write_table(firms)
    stream = sink.getvalue().to_pybytes()
    offsets = struct.pack("<4i", 0, 2, 4, 6)
    assert stream.count(offsets) == 1
    corrupt = stream.replace(offsets, struct.pack("<4i", 0, 2, 4, 1 << 30))  # the last id ends 1 GiB out
    with Client(guarded.address, guarded.tokens["admin"], timeout=10, retries=0) as client:
        requests = [_header(), rule_engine_pb2.EvaluateBatchRequest(data_chunk=corrupt)]
        with pytest.raises(grpc.RpcError) as caught:
            list(client.engine.EvaluateBatch(iter(requests), timeout=10, metadata=client.metadata))
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert client.health(timeout=5) == "SERVING"
