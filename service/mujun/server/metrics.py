"""Prometheus metrics of one server instance, in its own registry (no global state).

Requests by method and status code, latency histograms, enterprises evaluated, batch sizes and the
pack compile cache, exposed over HTTP when ``metrics_port`` is set.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server

__all__ = ["Metrics"]

_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
_BATCH_BUCKETS = (1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000)


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.requests = Counter("mujun_grpc_requests", "RPCs handled", ["method", "code"], registry=r)
        self.latency = Histogram("mujun_grpc_latency_seconds", "RPC latency", ["method"], buckets=_LATENCY_BUCKETS,
                                 registry=r)
        self.enterprises = Counter("mujun_enterprises_evaluated", "Enterprise records evaluated", registry=r)
        self.batch_rows = Histogram("mujun_batch_rows", "Rows per evaluation", buckets=_BATCH_BUCKETS, registry=r)
        self.pack_cache = Counter("mujun_pack_cache", "Pack compile cache lookups", ["result"], registry=r)

    def serve_http(self, host: str, port: int):
        """Start the /metrics endpoint; returns the HTTP server (its ``server_port`` is the bound port)."""
        server, _thread = start_http_server(port, addr=host, registry=self.registry)
        return server
