"""mujun_wire — the mujun.v1 contract as Python: generated stubs, Arrow IPC chunking, the record codec.

Shared by the server (``mujun``) and the client (``mujun_client``) so that neither imports the other.
``mujun_wire.v1`` holds the protobuf and gRPC modules generated from ``proto/mujun/v1`` by the build
(``clients/python/hatch_build.py``), never committed.
"""

__all__ = ["arrow", "records"]
