"""Assembling the server: store, services, interceptor, servicers, health, reflection, TLS, metrics, lanes.

``create_server(config)`` returns a started server and its bound port (``port=0`` picks a free one,
as tests do). ``serve(config)`` runs until SIGTERM/SIGINT and then drains in-flight calls for up to
``grace_seconds`` before closing the store.

Calls run in lanes, each on its own threads: Health checks; long-lived streams (Health Watch,
reflection); uploads (EvaluateBatch, Cycles.Run; see :mod:`mujun.server.upload`); every other call.
A flood of one kind therefore never leaves Health, or another kind, without a thread.
"""

from __future__ import annotations

import ctypes
import logging
import signal
import sys
import threading
from concurrent import futures
from pathlib import Path

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection, reflection_pb2

from mujun_wire.v1 import cycles_pb2, cycles_pb2_grpc, packs_pb2, packs_pb2_grpc, rule_engine_pb2, rule_engine_pb2_grpc
from mujun_wire.v1 import events_pb2, events_pb2_grpc
from mujun.server.auth import Authenticator
from mujun.server.config import ServerConfig
from mujun.server.cycles import CyclesServicer
from mujun.server.events import EventsServicer
from mujun.server.interceptors import ServiceInterceptor
from mujun.server.metrics import Metrics
from mujun.server.packs import PacksServicer
from mujun.server.rule_engine import RuleEngineServicer
from mujun.server.upload import Uploads
from mujun.services import Services
from mujun.services.principal import Principal
from mujun.store import Database, open_database, sqlite_url

__all__ = ["MujunServer", "create_server", "serve"]

log = logging.getLogger("mujun.server")

SERVICE_NAMES = tuple(d.services_by_name[name].full_name for d, name in (
    (rule_engine_pb2.DESCRIPTOR, "RuleEngine"), (packs_pb2.DESCRIPTOR, "Packs"), (cycles_pb2.DESCRIPTOR, "Cycles"),
    (events_pb2.DESCRIPTOR, "Events")))


UPLOAD_METHODS = ("/mujun.v1.RuleEngine/EvaluateBatch", "/mujun.v1.Cycles/Run")


class _Lanes(grpc.ServerInterceptor):
    """Puts each call on its lane's thread pool (grpc's per-handler ``experimental_thread_pool``)."""

    def __init__(self, lanes: dict[str, futures.ThreadPoolExecutor]):
        self._lanes = lanes  # method or method prefix → pool; other calls use the server's pool

    def intercept_service(self, continuation, details: grpc.HandlerCallDetails):
        handler = continuation(details)
        pool = next((p for prefix, p in self._lanes.items() if details.method.startswith(prefix)), None)
        if handler is None or pool is None:
            return handler
        for kind in ("unary_unary", "unary_stream", "stream_unary", "stream_stream"):
            behavior = getattr(handler, kind)
            if behavior is not None:
                return handler._replace(**{kind: _on(pool, behavior)})
        return handler


def _on(pool: futures.ThreadPoolExecutor, behavior):
    def run(request, context):
        return behavior(request, context)

    run.experimental_thread_pool = pool
    return run


class _Sweeper:
    """Writes the versions of effects that ended (or began) by the calendar, and prunes the outbox: once at
    start, then every ``events_sweep_seconds`` (:meth:`mujun.services.events.EventService.sweep`)."""

    _SYSTEM = Principal(actor="system/events-sweep", role="admin", regions=None)

    def __init__(self, services: Services, config: ServerConfig):
        self._events = services.events
        self._config = config
        self._stopped = threading.Event()
        try:
            self.once()
        except Exception:  # noqa: BLE001 - the server still starts; the next sweep tries again
            log.exception("events sweep at start failed")
        self._thread = threading.Thread(target=self._run, name="mujun-events-sweep", daemon=True)
        self._thread.start()

    def once(self) -> None:
        written = self._events.sweep(self._SYSTEM)
        pruned = self._events.prune(self._config.outbox_retention_days)
        if written or pruned:
            log.info("events sweep: %d decision version(s) for effects that ended or began; %d outbox row(s) "
                     "past retention dropped", written, pruned)

    def _run(self) -> None:
        while not self._stopped.wait(self._config.events_sweep_seconds):
            try:
                self.once()
            except Exception:  # noqa: BLE001 - a failed sweep is logged and tried again next time
                log.exception("events sweep failed")

    def stop(self) -> None:
        self._stopped.set()


class MujunServer:
    """A running server with the resources it owns; ``stop`` drains calls, then closes the store."""

    def __init__(self, server: grpc.Server, db: Database, health_servicer: health.HealthServicer,
                 metrics_http: object | None, metrics: Metrics, services: Services,
                 pools: tuple[futures.ThreadPoolExecutor, ...] = (), uploads: Uploads | None = None,
                 sweeper: _Sweeper | None = None):
        self.grpc = server
        self._sweeper = sweeper
        self.db = db
        self.metrics = metrics
        self.metrics_http = metrics_http
        self.services = services
        self._health = health_servicer
        self._pools = pools
        self._uploads = uploads

    @property
    def metrics_port(self) -> int | None:
        return getattr(self.metrics_http, "server_port", None)

    def stop(self, grace: float | None) -> None:
        self._health.enter_graceful_shutdown()
        if self._sweeper is not None:
            self._sweeper.stop()
        self.grpc.stop(grace).wait()
        for pool in self._pools:
            pool.shutdown(wait=False, cancel_futures=True)
        if self._uploads is not None:
            self._uploads.close()
        if self.metrics_http is not None:
            self.metrics_http.shutdown()
        self.db.close()

    def wait_for_termination(self, timeout: float | None = None) -> bool:
        return self.grpc.wait_for_termination(timeout)


def _credentials(config: ServerConfig) -> grpc.ServerCredentials | None:
    if not config.tls_cert:
        return None
    return grpc.ssl_server_credentials([(Path(config.tls_key).read_bytes(), Path(config.tls_cert).read_bytes())])


def create_server(config: ServerConfig) -> tuple[MujunServer, int]:
    config = config.validated()
    db = open_database(config.database_url or sqlite_url(config.data_dir), check=True, lease=True)
    metrics = Metrics()
    today = config.events_today
    services = Services.create(db, metrics, today=(lambda: today) if today is not None else None)
    recovered = services.cycles.recover()
    if recovered:
        log.warning("cycles interrupted by a crash are back to draft: %s", ", ".join(recovered))
    if config.bootstrap_packs:
        published, activated = services.packs.bootstrap_bundled(config.default_pack)
        if published:
            log.info("published the %d bundled packs; activated %s; the others wait for Packs.Activate",
                     len(published), ", ".join(activated))
    limit = config.max_message_bytes
    uploads = Uploads(config)
    unary = futures.ThreadPoolExecutor(max_workers=config.workers, thread_name_prefix="mujun-rpc")
    health_pool = futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="mujun-health")
    # Health Watch and reflection streams hold a thread while they are open: on the unary pool a few
    # idle ones would stop every unary call; on their own they only wait for each other.
    streams = futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="mujun-stream")
    watches = futures.ThreadPoolExecutor(max_workers=config.watch_workers, thread_name_prefix="mujun-watch")
    lanes = {f"/{health.SERVICE_NAME}/Check": health_pool, f"/{health.SERVICE_NAME}/Watch": streams,
             f"/{reflection.SERVICE_NAME}/": streams, "/mujun.v1.Events/WatchDecisions": watches, **{method: uploads.handlers for method in UPLOAD_METHODS}}
    server = grpc.server(
        unary,
        interceptors=[_Lanes(lanes),
                      ServiceInterceptor(Authenticator(db, cache_seconds=config.token_cache_seconds), metrics)],
        options=[("grpc.max_receive_message_length", limit), ("grpc.max_send_message_length", limit),
                 # A fixed window per stream instead of BDP probing, which grows it to tens of MB:
                 # uploads waiting for a work slot would fill that with data nobody reads yet. 4 MiB
                 # still carries 200 MB/s over a 20 ms round trip.
                 ("grpc.so_reuseport", 0), ("grpc.http2.bdp_probe", 0),
                 ("grpc.http2.lookahead_bytes", 4 * 1024 * 1024)],
    )
    rule_engine_pb2_grpc.add_RuleEngineServicer_to_server(RuleEngineServicer(services, config, uploads), server)
    packs_pb2_grpc.add_PacksServicer_to_server(PacksServicer(services), server)
    cycles_pb2_grpc.add_CyclesServicer_to_server(CyclesServicer(services, uploads, config), server)
    events_pb2_grpc.add_EventsServicer_to_server(EventsServicer(services, poll_seconds=config.watch_poll_seconds),
                                                 server)
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    for name in ("", *SERVICE_NAMES):
        health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    _enable_reflection(server)
    address = f"[{config.host}]:{config.port}" if ":" in config.host else f"{config.host}:{config.port}"
    credentials = _credentials(config)
    port = server.add_secure_port(address, credentials) if credentials else server.add_insecure_port(address)
    if port == 0:
        for pool in (unary, health_pool, streams, watches):
            pool.shutdown(wait=False)
        uploads.close()
        db.close()
        raise OSError(f"cannot bind {address}")
    metrics_http = metrics.serve_http(config.host, config.metrics_port) if config.metrics_port >= 0 else None
    sweeper = _Sweeper(services, config)
    server.start()
    return MujunServer(server, db, health_servicer, metrics_http, metrics, services,
                       (unary, health_pool, streams, watches), uploads, sweeper), port


_M_ARENA_MAX = -8  # glibc mallopt parameter


def _tune_process() -> None:
    """Settings of a whole server process (never of a process that merely imports mujun).

    Busy unary threads hand the GIL over every 5 ms by default and a Health check needs it a few
    times on its way through; 1 ms keeps Health fast under load. glibc gives every thread that
    allocates a malloc arena of its own and keeps freed memory there; uploads allocate on many
    threads, so without a cap RSS grows with the number of uploads instead of staying bounded by the
    work slots (both measured in benchmarks/test_bench_load.py).
    """
    sys.setswitchinterval(0.001)
    try:
        ctypes.CDLL("libc.so.6").mallopt(_M_ARENA_MAX, 2)
    except (OSError, AttributeError):  # not glibc: nothing to cap
        pass


#: grpcurl, Postman and recent grpc tools ask v1 first; grpcio-reflection only ships v1alpha.
REFLECTION_V1 = "grpc.reflection.v1.ServerReflection"


def _enable_reflection(server: grpc.Server) -> None:
    """Serve reflection as v1alpha and as v1: the two protocols are the same messages on the wire."""
    names = (*SERVICE_NAMES, health.SERVICE_NAME, reflection.SERVICE_NAME, REFLECTION_V1)
    reflection.enable_server_reflection(names, server)
    servicer = reflection.ReflectionServicer(names)
    method = grpc.stream_stream_rpc_method_handler(
        servicer.ServerReflectionInfo,
        request_deserializer=reflection_pb2.ServerReflectionRequest.FromString,
        response_serializer=reflection_pb2.ServerReflectionResponse.SerializeToString)
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(REFLECTION_V1, {"ServerReflectionInfo": method}),))


def serve(config: ServerConfig, *, on_ready=None) -> None:
    """Run until SIGTERM or SIGINT, then shut down gracefully."""
    _tune_process()
    server, port = create_server(config)
    stopping = threading.Event()

    def _stop(signum: int, _frame: object) -> None:
        log.info("signal %s: draining calls for up to %.0f s", signum, config.grace_seconds)
        stopping.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    if on_ready is not None:
        on_ready(server, port)
    # Wake up regularly: a signal delivered to one of grpc's threads only runs its Python handler
    # when the main thread next executes bytecode, which a plain wait() would postpone forever.
    while not stopping.wait(0.2):
        pass
    server.stop(config.grace_seconds)
