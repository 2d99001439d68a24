"""mujun_wire.arrow: tables as chunked, optionally compressed Arrow IPC streams, decoded as they were sent."""

from __future__ import annotations

import io

import pyarrow as pa
import pytest

from mujun_wire import arrow as wire


def _table(rows: int, tier: str) -> pa.Table:
    return pa.table({"enterprise_id": [f"E{i}" for i in range(rows)], "tier": [tier] * rows,
                     "score": [float(i) for i in range(rows)]})


def _read(chunks) -> pa.Table:
    """As the client reads a response: decoded while the chunks arrive."""
    return wire.decoded(pa.ipc.open_stream(io.BufferedReader(wire.ChunkReader(iter(chunks)))).read_all())


@pytest.mark.parametrize("compression", [None, "lz4", "zstd"])
def test_a_table_in_parts_with_different_dictionaries_arrives_as_one_plain_table(compression):
    parts = [_table(5, "A"), _table(3, "B"), _table(4, "C")]
    chunks = list(wire.table_to_chunks(iter(parts), 64, compression))
    assert len(chunks) > 1  # pieces of at most 64 bytes
    received = _read(chunks)
    assert received.column("tier").to_pylist() == ["A"] * 5 + ["B"] * 3 + ["C"] * 4
    assert received.equals(pa.concat_tables(parts).cast(received.schema))


def test_a_large_table_is_sent_in_batches_of_batch_rows():
    table = _table(wire.BATCH_ROWS + 10, "A")
    stream = b"".join(wire.table_to_chunks(table, 1 << 20, "lz4"))
    batches = list(pa.ipc.open_stream(stream))
    assert [b.num_rows for b in batches] == [wire.BATCH_ROWS, 10]
    assert _read([stream]).column("enterprise_id").to_pylist() == table.column("enterprise_id").to_pylist()


@pytest.mark.parametrize(("given", "codec"), [(None, None), (0, None), (1, None), (2, "lz4"), (3, "zstd"),
                                              ("none", None), ("LZ4", "lz4"), ("zstd", "zstd")])
def test_compression_values_and_names_map_to_pyarrow_codecs(given, codec):
    assert wire.codec(given) == codec


@pytest.mark.parametrize("given", [4, -1, "gzip", "snappy"])
def test_an_unknown_compression_is_refused(given):
    with pytest.raises(ValueError):
        wire.codec(given)


@pytest.mark.parametrize(("target", "loopback"), [("127.0.0.1:50051", True), ("localhost:50051", True),
                                                  ("[::1]:50051", True), ("unix:/run/mujun.sock", True),
                                                  ("dns:///localhost:50051", True), ("10.0.0.5:50051", False),
                                                  ("mujun.example.gov.cn:443", False)])
def test_auto_compression_is_none_on_loopback_and_lz4_across_a_network(target, loopback):
    from mujun_client import Client

    with Client(target, "t") as client:
        assert client._codec("auto") == ("none" if loopback else "lz4")
        assert client._codec("zstd") == "zstd"  # an explicit choice is kept
