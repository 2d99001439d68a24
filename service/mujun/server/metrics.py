"""Prometheus metrics of one server instance, in its own registry (no global state).

The standard gRPC server metrics under the names dashboards expect (``grpc_server_started_total``,
``grpc_server_handled_total``, ``grpc_server_handling_seconds``, as py-grpc-prometheus and go-grpc-prometheus
name them), the process metrics (CPU, memory, file descriptors, GC), and mujun's own: requests by
method and status code, latency, enterprises evaluated, batch sizes and the pack compile cache.
Exposed over HTTP when ``metrics_port`` is set.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import (GC_COLLECTOR, PLATFORM_COLLECTOR, CollectorRegistry, Counter, Histogram,
                               ProcessCollector, start_http_server)

__all__ = ["Metrics"]

_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
_BATCH_BUCKETS = (1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000)


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        ProcessCollector(registry=r)
        for collector in (GC_COLLECTOR, PLATFORM_COLLECTOR):
            r.register(collector)
        grpc_labels = ["grpc_type", "grpc_service", "grpc_method"]
        self.grpc_started = Counter("grpc_server_started", "RPCs started on the server", grpc_labels, registry=r)
        self.grpc_handled = Counter("grpc_server_handled", "RPCs completed on the server, by status code",
                                    [*grpc_labels, "grpc_code"], registry=r)
        self.grpc_handling = Histogram("grpc_server_handling_seconds", "RPC handling time until the status is sent",
                                       grpc_labels, buckets=_LATENCY_BUCKETS, registry=r)
        self.requests = Counter("mujun_grpc_requests", "RPCs handled", ["method", "code"], registry=r)
        self.latency = Histogram("mujun_grpc_latency_seconds", "RPC latency", ["method"], buckets=_LATENCY_BUCKETS,
                                 registry=r)
        self.enterprises = Counter("mujun_enterprises_evaluated", "Enterprise records evaluated", registry=r)
        self.batch_rows = Histogram("mujun_batch_rows", "Rows per evaluation", buckets=_BATCH_BUCKETS, registry=r)
        self.pack_cache = Counter("mujun_pack_cache", "Pack compile cache lookups", ["result"], registry=r)

    def observe_call(self, method: str, grpc_type: str, code: str, seconds: float) -> None:
        """One finished call, under mujun's names and the standard gRPC names."""
        service, _, name = method.lstrip("/").rpartition("/")
        self.requests.labels(method, code).inc()
        self.latency.labels(method).observe(seconds)
        self.grpc_handled.labels(grpc_type, service, name, code).inc()
        self.grpc_handling.labels(grpc_type, service, name).observe(seconds)

    def serve_http(self, host: str, port: int):
        """Start the /metrics endpoint; returns the HTTP server (its ``server_port`` is the bound port)."""
        server, _thread = start_http_server(port, addr=host, registry=self.registry)
        return server
