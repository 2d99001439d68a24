"""The client's retries: unary calls by gRPC's own retry policy (UNAVAILABLE is retried, an appeal or
activation never); uploads sent again from the start while nothing came back."""

from __future__ import annotations

from concurrent import futures

import grpc
import pytest
from grpc_health.v1 import health_pb2

from mujun_client import Client, RemoteError
from mujun_wire.v1 import cycles_pb2, packs_pb2, rule_engine_pb2


class _FlakyServer:
    """Answers UNAVAILABLE to the first ``failures`` attempts of each method, then OK; counts attempts."""

    def __init__(self, failures: int):
        self.failures = failures
        self.attempts: dict[str, int] = {}
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        handlers = {
            "grpc.health.v1.Health": {"Check": (health_pb2.HealthCheckRequest, health_pb2.HealthCheckResponse(
                status=health_pb2.HealthCheckResponse.SERVING))},
            "mujun.v1.Packs": {"Activate": (packs_pb2.ActivatePackRequest, packs_pb2.Activation(region="320102"))},
        }
        for service, methods in handlers.items():
            self.server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(service, {
                name: grpc.unary_unary_rpc_method_handler(self._answer(f"{service}/{name}", reply),
                                                          request_deserializer=request.FromString,
                                                          response_serializer=type(reply).SerializeToString)
                for name, (request, reply) in methods.items()}),))
        self.uploads: list[int] = []  # messages received per Cycles.Run attempt
        self.server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("mujun.v1.Cycles", {
            "Run": grpc.stream_unary_rpc_method_handler(self._run, request_deserializer=cycles_pb2.RunCycleRequest.FromString,
                                                        response_serializer=cycles_pb2.Cycle.SerializeToString)}),
            grpc.method_handlers_generic_handler("mujun.v1.RuleEngine", {
                "EvaluateBatch": grpc.stream_stream_rpc_method_handler(
                    self._batch, request_deserializer=rule_engine_pb2.EvaluateBatchRequest.FromString,
                    response_serializer=rule_engine_pb2.EvaluateBatchResponse.SerializeToString)})))
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.server.start()

    def _answer(self, method: str, reply):
        def handle(_request, context):
            self.attempts[method] = self.attempts.get(method, 0) + 1
            if self.attempts[method] <= self.failures:
                context.abort(grpc.StatusCode.UNAVAILABLE, "starting up")
            return reply
        return handle


    def _run(self, requests, context):
        self.uploads.append(sum(1 for _ in requests))
        if len(self.uploads) <= self.failures:
            context.abort(grpc.StatusCode.UNAVAILABLE, "starting up")
        return cycles_pb2.Cycle(region="320102", year=2024, enterprises=2)

    def _batch(self, requests, context):
        self.attempts["EvaluateBatch"] = self.attempts.get("EvaluateBatch", 0) + 1
        for _ in requests:
            pass
        yield rule_engine_pb2.EvaluateBatchResponse(result_chunk=b"half a table")
        context.abort(grpc.StatusCode.UNAVAILABLE, "went away mid-answer")


@pytest.fixture
def flaky():
    server = _FlakyServer(failures=2)
    yield server
    server.server.stop(0)


def test_unavailable_is_retried_by_the_channel(flaky):
    with Client(f"127.0.0.1:{flaky.port}", timeout=20, retries=4, backoff=0.05) as client:
        assert client.health() == "SERVING"
    assert flaky.attempts["grpc.health.v1.Health/Check"] == 3


def test_an_activation_is_never_repeated(flaky):
    with Client(f"127.0.0.1:{flaky.port}", timeout=20, retries=4, backoff=0.05) as client:
        with pytest.raises(RemoteError) as caught:
            client.activate_pack("320102", "js-huaian-2024")
    assert caught.value.code == grpc.StatusCode.UNAVAILABLE
    assert flaky.attempts["mujun.v1.Packs/Activate"] == 1


def test_retries_zero_turns_retrying_off(flaky):
    with Client(f"127.0.0.1:{flaky.port}", timeout=20, retries=0) as client:
        with pytest.raises(RemoteError):
            client.health()
    assert flaky.attempts["grpc.health.v1.Health/Check"] == 1


FIRMS = [{"enterprise_id": "E1", "region": "320102", "land_mu": 10.0}, {"enterprise_id": "E2", "region": "320102"}]


def test_an_upload_is_sent_again_whole_while_the_server_is_unavailable(flaky):
    with Client(f"127.0.0.1:{flaky.port}", timeout=20, retries=4, backoff=0.05) as client:
        assert client.run_cycle("320102", 2024, FIRMS).enterprises == 2
    assert len(flaky.uploads) == 3 and len(set(flaky.uploads)) == 1  # each attempt carried the whole upload


def test_a_batch_whose_answer_had_begun_is_not_sent_again(flaky):
    with Client(f"127.0.0.1:{flaky.port}", timeout=20, retries=4, backoff=0.05) as client:
        with pytest.raises(RemoteError) as caught:
            client.evaluate_batch(FIRMS, "js-huaian-2024")
    assert caught.value.code == grpc.StatusCode.UNAVAILABLE and flaky.attempts["EvaluateBatch"] == 1
