"""In-year events against a real server: Events.Post / List / WatchDecisions, `mujun event post` and `mujun watch`.

The servers here evaluate decisions as of a fixed day (``MUJUN_EVENTS_TODAY``), so an effect's 365 days
are judged against a known calendar; a restart with a later day sweeps the effects that ended.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import grpc
import polars as pl
import pytest

from mujun.synth import generate
from mujun_client import Client, RemoteError
from server.serverkit import ROOT, ServerProcess, make_tokens, server_env

YEAR = 2024
REGION = "320102"  # the agency_a token's county
TODAY = "2024-06-30"
SURCHARGE = "electricity_surcharge_yuan_per_kwh"


def _cycle(address: str, token: str, region: str = REGION, *, publish: bool = True) -> dict[str, object]:
    data, prior = generate(80, 1, 23, bad_fraction=0)
    data, prior = (t.with_columns(pl.lit(region).alias("region")) for t in (data, prior))
    with Client(address, token, timeout=60) as admin:
        admin.run_cycle(region, YEAR, data, prior=prior)
        admin.freeze_cycle(region, YEAR)
        if publish:
            admin.publish_cycle(region, YEAR)
        return {d.result.enterprise_id: d for d in admin.list_decisions(region, YEAR, page_size=1000).decisions}


def _start(data_dir: Path, today: str = TODAY, port: int = 0) -> ServerProcess:
    return ServerProcess(data_dir, ["--port", str(port)] if port else [],
                         env={"MUJUN_EVENTS_TODAY": today, "MUJUN_WATCH_POLL_SECONDS": "0.2"}).start()


@pytest.fixture(scope="module")
def events_server(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("events") / "data"
    tokens = make_tokens(data_dir)
    process = _start(data_dir)
    process.tokens = tokens  # type: ignore[attr-defined]
    process.decisions = _cycle(process.address, tokens["admin"])  # type: ignore[attr-defined]
    yield process
    process.stop()


def _ranked(decisions: dict, tier: str) -> list[str]:
    return sorted(e for e, d in decisions.items() if d.result.tier == tier and d.result.rank)


def _cli(*args: str, token: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mujun.cli", *args], capture_output=True, text=True, timeout=timeout,
                          env={**server_env(), "MUJUN_TOKEN": token}, cwd=ROOT)


class _Watcher:
    """`mujun watch` in a subprocess; ``lines`` are the JSON objects it printed."""

    def __init__(self, server: ServerProcess, token: str, *extra: str):
        self.process = subprocess.Popen([sys.executable, "-m", "mujun.cli", "watch", "--server", server.address,
                                         "--region", REGION, *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True, env={**server_env(), "MUJUN_TOKEN": token}, cwd=ROOT)
        self.lines: list[dict] = []
        threading.Thread(target=lambda: self.lines.extend(json.loads(line) for line in self.process.stdout),
                         daemon=True).start()

    def wait_for(self, test, timeout: float = 15.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [line for line in list(self.lines) if test(line)]
            if found:
                return found
            time.sleep(0.05)
        raise AssertionError(f"the watcher printed no such line in {timeout}s: {self.lines[-3:]}")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


def test_a_major_env_penalty_makes_an_a_firm_d_with_the_surcharge_once_and_a_repost_changes_nothing(events_server):
    server, agency = events_server, events_server.tokens["agency_a"]
    firm = _ranked(server.decisions, "A")[0]
    before = server.decisions[firm]
    assert before.result.measures[SURCHARGE].number_value == 0
    watcher = _Watcher(server, agency, "--from", "0")
    try:
        watcher.wait_for(lambda line: line["cause"]["kind"] == "publication")  # replayed from the oldest
        post = ["event", "post", "--server", server.address, "--region", REGION, "--year", str(YEAR),
                "--enterprise", firm, "--type", "env_penalty", "--date", "2024-03-05", "--field", "severity=major",
                "--field", "amount_wan=50", "--event-id", "hb-2024-0001"]
        first = _cli(*post, token=agency)
        assert first.returncode == 0, first.stderr
        assert "applied" in first.stdout and "tier D" in first.stdout
        [change] = watcher.wait_for(lambda line: line["enterprise_id"] == firm and line["version"] == 2)
        assert (change["tier_before"], change["tier_after"]) == ("A", "D")
        assert change["measures_changed"][SURCHARGE] == [0.0, 0.3]
        assert change["cause"]["event_id"] == "hb-2024-0001" and change["cause"]["rules"] == ["major_env_penalty"]
        assert change["cause"]["applied"][0]["until"] == "2025-03-05"

        batch = server.data_dir.parent / "events.jsonl"  # the same event again, from a file
        batch.write_text(json.dumps({"event_id": "hb-2024-0001", "enterprise_id": firm, "type": "env_penalty",
                                     "date": "2024-03-05", "severity": "major", "amount_wan": 50}) + "\n")
        again = _cli("event", "post", "--server", server.address, "--region", REGION, "--year", str(YEAR),
                     "--file", str(batch), token=agency)
        assert again.returncode == 0, again.stderr
        assert "duplicate" in again.stdout and f"cursor {change['cursor']}" in again.stdout
        time.sleep(1.0)  # a second line would come within the poll interval
        assert [line for line in watcher.lines if line["enterprise_id"] == firm and line["version"] > 1] == [change]
    finally:
        watcher.stop()
    with Client(server.address, agency) as client:
        now = client.get_decision(REGION, YEAR, firm, with_history=True)
        assert now.version == 2 and now.result.tier == "D"
        assert now.result.measures[SURCHARGE].number_value == pytest.approx(0.3)
        listed = client.list_events(REGION, YEAR, enterprise_id=firm).events
        assert [(e.event_id, e.type, e.date, dict(e.fields)) for e in listed] == [
            ("hb-2024-0001", "env_penalty", "2024-03-05", {"severity": "major", "amount_wan": "50"})]
    others = {e: d for e, d in server.decisions.items() if e != firm}
    with Client(server.address, agency) as client:
        assert all(d.version == 1 for d in client.iter_decisions(REGION, YEAR) if d.result.enterprise_id in others)


def test_an_appeal_of_a_firm_in_d_by_an_event_keeps_the_event_in_force(events_server):
    server = events_server
    firm = _ranked(server.decisions, "A")[1]
    with Client(server.address, server.tokens["admin"]) as admin:
        posted = admin.post_events(REGION, YEAR, [{"event_id": "ap-1", "enterprise_id": firm, "type": "safety_accident",
                                                   "date": "2024-04-01", "severity": "general"}]).outcomes[0]
        assert (posted.status, posted.tier) == ("applied", "D")
        appealed = admin.appeal(REGION, YEAR, firm, {"tax_wan": 1_000_000.0}, "税务复核")
        assert appealed.result.tier == "D" and appealed.version == 4  # v3 the appeal, v4 its events again
        changes = []
        for change in admin.watch_decisions(REGION, from_cursor=posted.cursor):
            changes.append(change)
            if len(changes) == 2:
                break
    assert [(c.version, json.loads(c.cause_json)["kind"]) for c in changes] == [(3, "appeal"), (4, "event")]


def test_a_batch_keeps_the_valid_events_and_names_every_bad_field(events_server):
    server = events_server
    firm = _ranked(server.decisions, "B")[0]
    with Client(server.address, server.tokens["agency_a"]) as client:
        response = client.post_events(REGION, YEAR, [
            {"event_id": "b-1", "enterprise_id": "E-NOBODY", "type": "env_penalty", "date": "2024-04-01",
             "severity": "major"},
            {"event_id": "b-2", "enterprise_id": firm, "type": "flood", "date": "2024-04-01"},
            {"event_id": "b-3", "enterprise_id": firm, "type": "env_penalty", "date": "2024-04-01", "severity": "huge"},
            {"event_id": "b-4", "enterprise_id": firm, "type": "env_penalty", "date": "2023-12-31",
             "severity": "major"},
            {"event_id": "b-5", "enterprise_id": firm, "type": "certification", "date": "2024-04-02",
             "kind": "高新技术企业"},
        ])
    by_id = {o.event_id: o for o in response.outcomes}
    assert [by_id[f"b-{i}"].status for i in range(1, 6)] == ["rejected"] * 4 + ["unchanged"]
    assert all(by_id[f"b-{i}"].code == "INVALID_ARGUMENT" for i in range(1, 5))
    fields = {o.event_id: [v.field for v in o.violations] for o in response.outcomes}
    assert fields["b-1"] == ["events[0].enterprise_id"] and fields["b-2"] == ["events[1].type"]
    assert fields["b-3"] == ["events[2].severity"] and fields["b-4"] == ["events[3].date"]
    assert (response.applied, response.rejected) == (0, 4)
    with Client(server.address, server.tokens["agency_a"]) as client:
        assert [e.event_id for e in client.list_events(REGION, YEAR, enterprise_id=firm).events] == ["b-5"]


def test_out_of_order_posts_end_in_the_same_decisions_as_in_order(events_server):
    """The same county twice (same data, same firm): events in date order to one, in another order to the other."""
    server, twin = events_server, "320104"
    _cycle(server.address, server.tokens["admin"], twin)
    firm = _ranked(server.decisions, "B")[1]
    stream = [("safety_accident", "2024-05-20", {"severity": "general"}),
              ("env_penalty", "2024-02-10", {"severity": "major"}),
              ("env_penalty", "2024-04-01", {"severity": "general"})]
    with Client(server.address, server.tokens["admin"]) as client:
        for region, events in ((REGION, sorted(stream, key=lambda e: e[1])), (twin, list(stream))):
            for kind, date, fields in events:
                outcome = client.post_events(region, YEAR, [{"event_id": f"{region}-{date}", "enterprise_id": firm,
                                                             "type": kind, "date": date, **fields}]).outcomes[0]
                assert outcome.status in ("applied", "unchanged"), outcome
        ends = [client.get_decision(region, YEAR, firm, with_history=True) for region in (REGION, twin)]
    assert ends[0].result.tier == ends[1].result.tier == "D"
    assert ends[0].result.score == ends[1].result.score
    assert dict(ends[0].result.measures) == dict(ends[1].result.measures)
    assert ends[0].result.measures[SURCHARGE].number_value == pytest.approx(0.3)
    assert ends[0].version == ends[1].version == 2  # the first event posted made it D; the others changed nothing


def test_a_watcher_resuming_from_its_last_cursor_gets_every_change_it_missed_once(events_server):
    server = events_server
    firms = _ranked(server.decisions, "C")[:4]
    with Client(server.address, server.tokens["agency_a"]) as client:
        first = client.post_events(REGION, YEAR, [{"event_id": f"r-{firms[0]}", "enterprise_id": firms[0],
                                                   "type": "safety_accident", "date": "2024-03-01",
                                                   "severity": "serious"}]).outcomes[0]
        seen = []
        for change in client.watch_decisions(REGION, from_cursor=first.cursor - 1):
            seen.append(change)
            break  # the watcher goes away after one change
        assert [c.enterprise_id for c in seen] == [firms[0]]
        missed = client.post_events(REGION, YEAR, [{"event_id": f"r-{f}", "enterprise_id": f, "type": "safety_accident",
                                                    "date": "2024-03-02", "severity": "general"} for f in firms[1:]])
        cursors = [o.cursor for o in missed.outcomes]
        assert all(o.status == "applied" for o in missed.outcomes) and cursors == sorted(cursors)
        resumed = []
        for change in client.watch_decisions(REGION, from_cursor=seen[-1].cursor):
            resumed.append(change)
            if len(resumed) == len(firms) - 1:
                break
    assert [(c.cursor, c.enterprise_id) for c in resumed] == list(zip(cursors, firms[1:], strict=True))


def test_watch_filters_by_tier_and_measure_and_scopes_the_region(events_server):
    server = events_server
    with Client(server.address, server.tokens["agency_a"]) as client:
        got = []
        for change in client.watch_decisions(REGION, from_cursor=0, tiers=("D",), measures=(SURCHARGE,)):
            got.append(change)
            if len(got) == 2:
                break
        assert all("D" in (c.tier_before, c.tier_after) and SURCHARGE in {m.name for m in c.measures_changed}
                   for c in got)
        assert [c.cursor for c in got] == sorted({c.cursor for c in got})
    with Client(server.address, server.tokens["agency_b"]) as other:
        with pytest.raises(RemoteError) as caught:
            next(iter(other.watch_decisions(REGION, from_cursor=0)))
        assert caught.value.code == grpc.StatusCode.PERMISSION_DENIED
        with pytest.raises(RemoteError) as caught:
            other.post_events(REGION, YEAR, [])
        assert caught.value.code == grpc.StatusCode.PERMISSION_DENIED
    with Client(server.address, server.tokens["editor"]) as editor:
        with pytest.raises(RemoteError) as caught:
            editor.list_events(REGION, YEAR)
        assert caught.value.code == grpc.StatusCode.PERMISSION_DENIED


def test_a_draft_cycle_takes_no_events(events_server):
    server = events_server
    data, _ = generate(20, 1, 5, bad_fraction=0)
    with Client(server.address, server.tokens["admin"]) as admin:
        admin.run_cycle("320199", YEAR, data.with_columns(pl.lit("320199").alias("region")))
        with pytest.raises(RemoteError) as caught:
            admin.post_events("320199", YEAR, [{"event_id": "x", "enterprise_id": "E00000001", "type": "env_penalty",
                                                "date": "2024-03-01", "severity": "major"}])
    assert caught.value.code == grpc.StatusCode.FAILED_PRECONDITION


def test_a_cursor_older_than_the_retention_is_out_of_range_with_the_oldest_cursor(events_server):
    server = events_server
    with sqlite3.connect(server.data_dir / "mujun.db") as db:  # what the retention sweep does to old rows
        db.execute("DELETE FROM decision_changes WHERE cursor <= 5")
    with Client(server.address, server.tokens["agency_a"]) as client:
        with pytest.raises(RemoteError) as caught:
            next(iter(client.watch_decisions(REGION, from_cursor=2)))
        assert caught.value.code == grpc.StatusCode.OUT_OF_RANGE
        assert caught.value.metadata["oldest_cursor"] == "6"
        assert next(iter(client.watch_decisions(REGION, from_cursor=0))).cursor == 6  # 0: from the oldest kept
        assert next(iter(client.watch_decisions(REGION, from_cursor=5))).cursor == 6  # nothing missed since 5


def test_an_effect_expires_after_its_window_and_kill_9_loses_no_event_and_no_change(tmp_path):
    data_dir = tmp_path / "data"
    tokens = make_tokens(data_dir)
    server = _start(data_dir)
    try:
        decisions = _cycle(server.address, tokens["admin"])
        firms = _ranked(decisions, "A") + _ranked(decisions, "B")
        with Client(server.address, tokens["agency_a"]) as client:
            expiring = client.post_events(REGION, YEAR, [{"event_id": "x-1", "enterprise_id": firms[0],
                                                          "type": "env_penalty", "date": "2024-01-10",
                                                          "severity": "major"}]).outcomes[0]
            assert (expiring.status, expiring.tier) == ("applied", "D")
        acknowledged: list[str] = []
        errors: list[Exception] = []

        def post_batches() -> None:
            with Client(server.address, tokens["agency_a"], retries=0) as client:
                try:
                    for batch in range(40):
                        rows = [{"event_id": f"k-{batch}-{i}", "enterprise_id": firms[1 + (batch * 5 + i) % (len(firms) - 1)],
                                 "type": "safety_accident", "date": f"2024-0{1 + i % 6}-1{batch % 10}",
                                 "severity": "general"} for i in range(5)]
                        response = client.post_events(REGION, YEAR, rows)
                        acknowledged.extend(o.event_id for o in response.outcomes if o.status != "rejected")
                except RemoteError as error:
                    errors.append(error)

        poster = threading.Thread(target=post_batches)
        poster.start()
        deadline = time.monotonic() + 20
        while len(acknowledged) < 20 and time.monotonic() < deadline and poster.is_alive():
            time.sleep(0.01)
        server.kill()  # SIGKILL while batches are being posted
        poster.join(30)
        assert errors and errors[0].code == grpc.StatusCode.UNAVAILABLE  # the kill cut a post short
        assert 20 <= len(acknowledged) < 200
    finally:
        server.kill()

    with sqlite3.connect(data_dir / "mujun.db") as db:
        stored = {row[0] for row in db.execute("SELECT event_id FROM enterprise_events")}
        versions = set(db.execute("SELECT d.enterprise_id, d.version FROM decisions d WHERE d.version > 1"))
        changes = set(db.execute("SELECT enterprise_id, version FROM decision_changes WHERE version > 1"))
        published = db.execute("SELECT COUNT(*) FROM decision_changes WHERE version = 1").fetchone()[0]
    assert set(acknowledged) <= stored  # every event the server acknowledged is stored
    assert versions == changes  # every decision version has its outbox row, and every outbox row its version
    assert published == len(decisions)

    later = _start(data_dir, today="2025-02-01")  # the restart's sweep: 2024-01-10 + 365 days has passed
    try:
        with Client(later.address, tokens["agency_a"]) as client:
            now = client.get_decision(REGION, YEAR, firms[0])
            assert now.result.tier == decisions[firms[0]].result.tier == "A" and now.version == 3
            changes = []
            for change in client.watch_decisions(REGION, from_cursor=expiring.cursor):
                if change.enterprise_id == firms[0]:
                    changes.append(change)
                    break
            [expired] = changes
            assert (expired.tier_before, expired.tier_after) == ("D", "A")
            cause = json.loads(expired.cause_json)
            assert cause["kind"] == "expiry" and cause["applied"] == []
            assert [(e["rule"], e["until"], e["state"]) for e in cause["ended"]] == [
                ("major_env_penalty", "2025-01-09", "expired")]
    finally:
        later.stop()
