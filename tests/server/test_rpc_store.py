"""The server and its store: one server per SQLite store, damage refused at start, backups that restore."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import threading
import time

import polars as pl
import pytest

from mujun.synth import generate
from mujun_client import Client, RemoteError
from server.serverkit import ROOT, ServerProcess, server_env

REGION, YEAR = "320102", 2024


def _serve(data_dir) -> subprocess.CompletedProcess:
    """``mujun serve`` in its own process, for the refusals that must end it (exit code and message)."""
    return subprocess.run([sys.executable, "-m", "mujun.cli", "serve", "--data-dir", str(data_dir), "--port", "0"],
                          env=server_env(), cwd=ROOT, capture_output=True, text=True, timeout=60)


def _mujun(*args: str):  # noqa: ANN202 - click's Result
    """The store commands run in this process (they open the store directly; no server is involved)."""
    from typer.testing import CliRunner

    from mujun.cli import app

    return CliRunner().invoke(app, list(args))


def _county(n: int, seed: int) -> pl.DataFrame:
    data, _ = generate(n, 1, seed)
    return data.with_columns(pl.lit(REGION).alias("region"), pl.format("K{}", pl.int_range(pl.len())).alias("enterprise_id"))


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """A stopped server's data dir holding a run cycle, and a backup taken while that server was serving."""
    folder = tmp_path_factory.mktemp("stored")
    process = ServerProcess(folder / "data").start()
    try:
        with Client(process.address, process.token, timeout=60) as client:
            cycle = client.run_cycle(REGION, YEAR, _county(2_000, 1))
        taken = _mujun("store", "backup", "--data-dir", str(folder / "data"), str(folder / "backup.db"))
        assert taken.exit_code == 0, taken.output
    finally:
        process.stop()
    return folder, cycle


def _copy(stored, tmp_path):
    folder, _ = stored
    shutil.copytree(folder / "data", tmp_path / "data", ignore=shutil.ignore_patterns("*.lock"))
    return tmp_path / "data"


def test_a_second_server_on_the_same_sqlite_store_exits_2_and_the_first_keeps_its_run(tmp_path):
    first = ServerProcess(tmp_path / "data").start()
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            with Client(first.address, first.token, timeout=120, retries=0) as client:
                outcome["cycle"] = client.run_cycle(REGION, YEAR, _county(20_000, 2))
        except RemoteError as error:
            outcome["error"] = error

    runner = threading.Thread(target=run)
    try:
        runner.start()
        with Client(first.address, first.token, timeout=10) as watcher:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not outcome:
                try:
                    if watcher.get_cycle(REGION, YEAR).state == "running":
                        break
                except RemoteError:
                    pass  # not created yet
                time.sleep(0.01)
        second = _serve(tmp_path / "data")
        assert second.returncode == 2 and "STORE_BUSY" in second.stderr and "admits one server" in second.stderr
        runner.join(120)
        assert "error" not in outcome, outcome.get("error")
        assert (outcome["cycle"].state, outcome["cycle"].run_number) == ("draft", 1)
    finally:
        first.stop()


def test_serve_refuses_a_zero_length_store_and_leaves_the_file_alone(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "mujun.db").write_bytes(b"")
    done = _serve(tmp_path / "data")
    assert done.returncode == 2 and "STORE_DAMAGED" in done.stderr and "empty" in done.stderr
    assert (tmp_path / "data" / "mujun.db").read_bytes() == b""


def _zero_the_middle(path, size: int = 64 * 1024) -> None:
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle:middle + size] = bytes(size)
    path.write_bytes(bytes(data))


def test_serve_and_store_check_refuse_a_store_with_zeroed_pages(stored, tmp_path):
    data_dir = _copy(stored, tmp_path)
    _zero_the_middle(data_dir / "mujun.db")
    served = _serve(data_dir)
    assert served.returncode == 2 and "STORE_DAMAGED" in served.stderr and "quick_check" in served.stderr
    checked = _mujun("store", "check", "--data-dir", str(data_dir))
    assert checked.exit_code == 2 and "STORE_DAMAGED" in checked.output


def test_store_check_passes_a_sound_store(stored, tmp_path):
    done = _mujun("store", "check", "--data-dir", str(_copy(stored, tmp_path)))
    assert done.exit_code == 0 and "sound" in done.output and "2,000 decisions" in done.output


def test_a_backup_taken_while_serving_restores_the_cycle_and_its_audit_log(stored, tmp_path):
    folder, cycle = stored
    data_dir = _copy(stored, tmp_path)
    _zero_the_middle(data_dir / "mujun.db")
    restored = _mujun("store", "restore", "--data-dir", str(data_dir), str(folder / "backup.db"))
    assert restored.exit_code == 0, restored.output
    assert _mujun("audit", "verify", "--data-dir", str(data_dir)).exit_code == 0
    process = ServerProcess(data_dir).start()
    try:
        with Client(process.address, process.token, timeout=60) as client:
            again = client.get_cycle(REGION, YEAR)
            assert (again.state, again.run_number, again.enterprises) == ("draft", 1, cycle.enterprises)
            assert len(list(client.iter_decisions(REGION, YEAR, page_size=1000))) == cycle.enterprises
    finally:
        process.stop()


def test_audit_verify_names_an_edited_entry(stored, tmp_path):
    data_dir = _copy(stored, tmp_path)  # its chain verifies: see the restore test
    with sqlite3.connect(data_dir / "mujun.db") as db:
        db.execute("DROP TRIGGER audit_log_no_update")
        entry = db.execute("SELECT id FROM audit_log WHERE action = 'cycle.run'").fetchone()[0]
        db.execute("UPDATE audit_log SET detail_json = '{\"run\": 1, \"enterprises\": 1999}' WHERE id = ?", (entry,))
    done = _mujun("audit", "verify", "--data-dir", str(data_dir))
    assert done.exit_code == 1 and f"audit entry {entry} (cycle.run cycles/{REGION}/{YEAR}) was changed" in done.output


def test_store_backup_of_a_postgresql_store_prints_pg_dump_advice(tmp_path):
    done = _mujun("store", "backup", "--database-url", "postgresql+psycopg://mujun@127.0.0.1:1/mujun",
                  str(tmp_path / "b.db"))
    assert done.exit_code == 2 and "pg_dump --format=custom" in done.output
