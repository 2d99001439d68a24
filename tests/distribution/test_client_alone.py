"""mujun-client installs alone (grpcio, protobuf, pyarrow; no Polars, no SQLAlchemy, no mujun) and talks to a server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from distribution.distkit import new_venv, run
from server.serverkit import ServerProcess, make_tokens

# The agency's side: what an integrator writes with nothing but mujun-client installed.
AGENCY_SCRIPT = r"""
import asyncio, json, sys
import pyarrow as pa
from mujun_client import AsyncClient, Client, RemoteError

address, token = sys.argv[1], sys.argv[2]
firm = {"enterprise_id": "E1", "region": "320102", "land_mu": 10.0, "tax_wan": 50.0, "revenue_wan": 900.0}
table = pa.Table.from_pylist([firm, {**firm, "enterprise_id": "E2", "tax_wan": 5.0}])
with Client(address, token) as client:
    health = client.health()
    one = client.evaluate([firm], "js-huaian-2024").results[0]
    batch, summary = client.evaluate_batch(table, "js-huaian-2024")
    try:
        client.get_pack("no-such-pack")
        refused = ""
    except RemoteError as error:
        refused = error.code.name

async def both():
    async with AsyncClient(address, token) as client:
        return await client.health(), (await client.list_packs()).packs[0].pack_id

print(json.dumps({"health": health, "status": one.status, "batch_rows": batch.num_rows,
                  "batch_type": type(batch).__name__, "summary_rows": summary.rows, "refused": refused,
                  "async": asyncio.run(both())}))
"""


@pytest.fixture(scope="module")
def client_venv(tmp_path_factory, wheels) -> Path:
    return new_venv(tmp_path_factory.mktemp("client-venv") / "venv", wheels["client"])


@pytest.mark.timeout(900)
def test_the_client_wheel_brings_no_server_dependencies(client_venv):
    probe = "import importlib.util as u; print([m for m in ('polars', 'sqlalchemy', 'mujun', 'grpc_tools') if u.find_spec(m)])"
    assert run(client_venv / "bin" / "python", "-c", probe, cwd=client_venv.parent, timeout=60).strip() == "[]"


@pytest.mark.timeout(900)
def test_the_client_alone_scores_and_reads_errors_from_a_server(client_venv, tmp_path):
    data_dir = tmp_path / "data"
    token = make_tokens(data_dir)["admin"]
    server = ServerProcess(data_dir).start()
    try:
        script = tmp_path / "agency.py"
        script.write_text(AGENCY_SCRIPT)
        out = json.loads(run(client_venv / "bin" / "python", script, server.address, token, cwd=tmp_path, timeout=120))
    finally:
        server.stop()
    assert out == {"health": "SERVING", "status": "ok", "batch_rows": 2, "batch_type": "Table", "summary_rows": 2,
                   "refused": "NOT_FOUND", "async": ["SERVING", out["async"][1]]}
    assert out["async"][1]
