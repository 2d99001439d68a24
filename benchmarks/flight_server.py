"""A tiny Arrow Flight server doing what EvaluateBatch does, for the bulk benchmark's comparison.

``python benchmarks/flight_server.py`` binds 127.0.0.1 on a free port and prints ``port N``. One
DoExchange: the client writes the enterprises' table, the server scores it with js-huaian-2024
(compiled once, as mujun's server caches its packs) and writes the result table back, compressed as
the descriptor's command asks (``none``, ``lz4``, ``zstd``). No tokens, no limits, no checks of the
stream: the transport alone, the most favourable case for Flight.
"""

from __future__ import annotations

import sys

import polars as pl
import pyarrow as pa
import pyarrow.flight as flight

import mujun

PACK = "js-huaian-2024"


class EvaluateFlight(flight.FlightServerBase):
    def __init__(self) -> None:
        super().__init__("grpc://127.0.0.1:0")
        self._pack = mujun.load_pack(PACK)

    def do_exchange(self, context, descriptor, reader, writer):  # noqa: ANN001 - pyarrow.flight's signature
        compression = descriptor.command.decode()
        data = pl.from_arrow(reader.read_all())
        result = self._pack.evaluate(data).table.to_arrow()
        options = pa.ipc.IpcWriteOptions(compression=None if compression == "none" else compression)
        writer.begin(result.schema, options=options)
        for batch in result.to_batches(max_chunksize=65_536):
            writer.write_batch(batch)


def main() -> None:
    server = EvaluateFlight()
    print(f"port {server.port}", flush=True)
    server.serve()


if __name__ == "__main__":
    sys.exit(main())
