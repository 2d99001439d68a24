"""The service layer on a real SQLite store: typed, frozen results (never ORM rows) and one pack cache by hash."""

from __future__ import annotations

import dataclasses
import datetime as dt

import polars as pl
import pytest

from mujun.server.metrics import Metrics
from mujun.services import Principal, Services
from mujun.services.packs import PackSpec
from mujun.store import open_database, sqlite_url
from mujun.store.models import Base
from mujun.synth import generate

PACK, YEAR = "js-huaian-2024", 2024
ADMIN = Principal("admin", "admin", None)


@pytest.fixture(scope="module")
def services(tmp_path_factory):
    db = open_database(sqlite_url(tmp_path_factory.mktemp("services")))
    made = Services.create(db, Metrics())
    made.packs.bootstrap_bundled(PACK)
    data, prior = generate(200, 1, 11)
    region = data["region"].drop_nulls()[0]
    made.cycles.run(ADMIN, region, YEAR, None, data.filter(pl.col("region") == region),
                    prior.filter(pl.col("region") == region), None)
    yield made, region, data.filter(pl.col("region") == region)
    db.close()


def _values(result):
    """Every value inside a result, through nested dataclasses, tuples and dicts."""
    if dataclasses.is_dataclass(result):
        for item in dataclasses.fields(result):
            yield from _values(getattr(result, item.name))
    elif isinstance(result, (tuple, list)):
        for item in result:
            yield from _values(item)
    elif isinstance(result, dict):
        for item in result.values():
            yield from _values(item)
    else:
        yield result


def _results(services):
    made, region, data = services
    enterprise = data["enterprise_id"][0]
    return [made.cycles.get(ADMIN, region, YEAR), made.cycles.listing(ADMIN, "", 0, 10, ""),
            made.packs.get(PACK, ""), made.packs.listing(ADMIN), made.packs.history(ADMIN, PACK, ""),
            made.packs.validate("id: x"), made.decisions.get(ADMIN, region, YEAR, enterprise, True),
            made.decisions.listing(ADMIN, region, YEAR, tier="", group="", page_size=5, page_token=""),
            made.audit.log(ADMIN, "", 10, "")]


def test_services_return_frozen_values_and_never_store_rows(services):
    for result in _results(services):
        assert dataclasses.is_dataclass(result), type(result)
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(result, dataclasses.fields(result)[0].name, None)
        assert not any(isinstance(value, Base) for value in _values(result)), type(result)


def test_times_in_results_carry_their_zone(services):
    times = [value for result in _results(services) for value in _values(result) if isinstance(value, dt.datetime)]
    assert times and all(value.tzinfo is not None for value in times)


def test_a_published_pack_is_compiled_once_per_content_hash(services):
    made, _, _ = services
    cache = made.context.cache
    first = made.packs.resolve(ADMIN, PackSpec(pack_id=PACK))
    again = made.packs.resolve(ADMIN, PackSpec(pack_id=PACK, version=first.version))
    assert again is first and cache.get(first.hash) is first
