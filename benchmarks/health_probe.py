"""Health probe, run in a process of its own so that the load generator's threads do not delay it.

Calls grpc Health/Check on ADDRESS every INTERVAL seconds (1 s deadline) until its stdin closes,
then prints one JSON object: the latency of every probe in ms and the codes of failed probes.

    python benchmarks/health_probe.py HOST:PORT INTERVAL
"""

from __future__ import annotations

import json
import sys
import threading
import time

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc


def main(address: str, interval: float) -> dict:
    stop = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    latencies: list[float] = []
    failures: list[str] = []
    with grpc.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        stub.Check(health_pb2.HealthCheckRequest(), timeout=10)  # connected before the load starts
        print("ready", flush=True)
        while not stop.wait(interval):
            started = time.perf_counter()
            try:
                stub.Check(health_pb2.HealthCheckRequest(), timeout=1.0)
                latencies.append(1e3 * (time.perf_counter() - started))
            except grpc.RpcError as error:
                failures.append(error.code().name)
    return {"latencies_ms": latencies, "failures": failures}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], float(sys.argv[2]))))
