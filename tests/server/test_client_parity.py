"""The sync and the asyncio client pass the same tests: every call, through each of them."""

from __future__ import annotations

import asyncio
import json
import inspect
from pathlib import Path

import grpc
import polars as pl
import pyarrow as pa
import pytest

import mujun
from mujun.synth import generate
from mujun_client import AsyncClient, Client, RemoteError
from server.serverkit import ServerProcess, make_tokens

PACK = "js-huaian-2024"
REGION_BY_CLIENT = {"sync": "320104", "async": "320105"}
YEAR = 2024


def _public(cls: type) -> set[str]:
    return {name for name, _ in inspect.getmembers(cls, callable) if not name.startswith("_")}


def test_the_async_client_has_every_call_of_the_sync_client():
    assert _public(Client) == _public(AsyncClient)


class _Blocking:
    """An AsyncClient driven from a test: each awaitable runs to completion on the client's own loop."""

    def __init__(self, address: str, token: str):
        self._loop = asyncio.new_event_loop()
        self._client = self._loop.run_until_complete(self._open(address, token))

    @staticmethod
    async def _open(address: str, token: str) -> AsyncClient:
        return AsyncClient(address, token, timeout=60)

    def __getattr__(self, name: str):
        method = getattr(self._client, name)

        def call(*args, **kwargs):
            result = method(*args, **kwargs)
            if inspect.isasyncgen(result):
                return iter(self._loop.run_until_complete(_collect(result)))
            return self._loop.run_until_complete(result)

        return call

    def close(self) -> None:
        self._loop.run_until_complete(self._client.close())
        self._loop.close()


async def _collect(generator) -> list:
    return [item async for item in generator]


@pytest.fixture(scope="module")
def parity_server(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("parity") / "data"
    tokens = make_tokens(data_dir)
    process = ServerProcess(data_dir).start()
    process.tokens = tokens  # type: ignore[attr-defined]
    yield process
    process.stop()


@pytest.fixture(params=["sync", "async"])
def api(request, parity_server):
    token = parity_server.tokens["admin"]
    client = Client(parity_server.address, token, timeout=60) if request.param == "sync" \
        else _Blocking(parity_server.address, token)
    client.region = REGION_BY_CLIENT[request.param]  # type: ignore[attr-defined]
    yield client
    client.close()


def _firms(region: str, n: int = 40) -> pl.DataFrame:
    return generate(n, 1, 3, bad_fraction=0)[0].with_columns(pl.lit(region).alias("region"))


def test_health_and_pack_listing(api):
    assert api.health() == "SERVING"
    assert PACK in {p.pack_id for p in api.list_packs().packs}
    assert api.get_pack(PACK).pack_id == PACK
    assert any(h.pack_id == PACK for h in api.pack_history(PACK).versions)


def test_validate_publish_and_activate(api):
    text = (Path(mujun.__file__).parents[2] / "rules" / "zj-yiwu" / "pack.yaml").read_text()
    assert api.validate_pack(text).valid
    published = api.publish_pack(text)
    assert api.publish_pack(text).hash == published.hash  # identical content: the stored version
    activation = api.activate_pack(api.region, published.pack_id, published.version, "2030-01-01")
    assert activation.region == api.region


def test_evaluate_explain_and_batch_agree_with_the_engine(api):
    firms = _firms(api.region, 30)
    local = mujun.load_pack(PACK).evaluate(firms).table
    response = api.evaluate(firms, PACK)
    assert [r.tier or None for r in response.results] == local["tier"].to_list()
    explained = api.explain(firms, firms["enterprise_id"][0], PACK)
    assert explained.result.enterprise_id == firms["enterprise_id"][0] and explained.trace.fields
    table, summary = api.evaluate_batch(firms.to_arrow(), PACK)
    assert isinstance(table, pa.Table) and pl.from_arrow(table).equals(local) and summary.rows == firms.height


def test_a_cycle_from_run_to_appeal(api):
    region, firms = api.region, _firms(api.region)
    assert api.run_cycle(region, YEAR, firms).enterprises == firms.height
    assert api.freeze_cycle(region, YEAR).state == "frozen"
    assert api.publish_cycle(region, YEAR).state == "published"
    assert api.get_cycle(region, YEAR).state == "published"
    decisions = list(api.iter_decisions(region, YEAR))
    assert len(decisions) == firms.height
    assert len(api.list_decisions(region, YEAR, page_size=7).decisions) == 7
    firm = next(d.result.enterprise_id for d in decisions if d.result.status == "ok")
    appealed = api.appeal(region, YEAR, firm, {"tax_wan": 1_000_000.0}, "tax bureau corrected the filing")
    assert appealed.version == api.get_decision(region, YEAR, firm).version == 2
    assert any(entry.action.startswith("cycle.") for entry in api.audit_log(region).entries)


def test_errors_carry_the_status_code(api):
    with pytest.raises(RemoteError) as caught:
        api.get_pack("no-such-pack")
    assert caught.value.code == grpc.StatusCode.NOT_FOUND


def test_cycles_are_listed_by_region_and_year_page_by_page(api):
    regions = {"320104": ["320191", "320192"], "320105": ["320193", "320194"]}[api.region]  # only this test's
    for region in regions:
        api.run_cycle(region, YEAR, _firms(region, 10))
    everything = api.list_cycles()
    assert {(c.region, c.year) for c in everything.cycles} >= {(r, YEAR) for r in regions}
    only = api.list_cycles(regions[1], YEAR).cycles
    assert [(c.region, c.state, c.enterprises, c.pack_id) for c in only] == [(regions[1], "draft", 10, PACK)]
    assert api.list_cycles(regions[1], YEAR - 1).cycles == []
    first = api.list_cycles(page_size=1)
    assert len(first.cycles) == 1 and first.next_page_token
    rest = api.list_cycles(page_size=1000, page_token=first.next_page_token)
    assert [c.region for c in [*first.cycles, *rest.cycles]] == [c.region for c in everything.cycles]
    assert not rest.next_page_token


def test_simulate_on_a_cycle_and_diff_two_versions(api):
    region = {"320104": "320195", "320105": "320196"}[api.region]  # a cycle of this test's own
    api.run_cycle(region, YEAR, _firms(region, 30))
    answer = api.simulate(region, YEAR, overrides={"weight_tax": 50}, html=True)
    report = json.loads(answer.report_json)
    assert report["baseline"]["id"] == PACK and report["candidate"]["overrides"] == {"weight_tax": 50}
    assert report["data"]["records"] == 30 and "data-key" in answer.html
    lines = api.diff_packs("zj-huangyan-2021", other_pack_id="zj-huangyan-2022")
    assert "亩均税收除数 26.01 → 24.097 万元/亩" in lines
