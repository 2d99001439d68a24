"""The gRPC service (a stage after the engine): mujun.v1.RuleEngine, Packs and Cycles over the store.

``create_server(config) -> (server, port)`` builds a started server; everything else is private.
The generated protobuf modules live in ``mujun_wire.v1``; the build generates them (hatch_build.py).
"""

from __future__ import annotations

from typing import Any

__all__ = ["ServerConfig", "create_server"]


def __getattr__(name: str) -> Any:
    # Lazy: importing mujun.server (for ServerConfig) must not load grpc and the stubs.
    if name == "create_server":
        from mujun.server.app import create_server
        return create_server
    if name == "ServerConfig":
        from mujun.server.config import ServerConfig
        return ServerConfig
    raise AttributeError(name)
