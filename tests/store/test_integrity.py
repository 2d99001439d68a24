"""Store damage is refused, never served: empty or foreign files, broken pages, an edited or cut audit log."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from mujun.errors import StoreDamaged
from mujun.store import audit, open_database, sqlite_url, tokens
from mujun.store.backup import backup, restore
from mujun.store.db import migrate


def _some_history(db, n: int = 5) -> None:
    with db.write() as s:
        for i in range(n):
            tokens.create(s, role="agency", regions=[f"32010{i}"], name=f"t{i}")


def _tamper(db, statement: str) -> None:
    """What someone with write access to the database can do: lift the guard and change the log."""
    with db.write() as s:
        if db.backend == "sqlite":
            s.execute(text("DROP TRIGGER IF EXISTS audit_log_no_update"))
            s.execute(text("DROP TRIGGER IF EXISTS audit_log_no_delete"))
        else:
            s.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))
        s.execute(text(statement))


@pytest.mark.parametrize("content", [b"", b"not a database at all\n" * 10], ids=["zero-length", "foreign"])
def test_an_existing_file_that_is_not_a_database_is_not_initialised(tmp_path, content):
    (tmp_path / "mujun.db").write_bytes(content)
    with pytest.raises(StoreDamaged, match="not .*initialised|will not be initialised"):
        open_database(sqlite_url(tmp_path))
    assert (tmp_path / "mujun.db").read_bytes() == content


def test_zeroed_pages_fail_the_check_at_open(tmp_path):
    db = open_database(sqlite_url(tmp_path))
    with db.write() as s:
        s.execute(text("CREATE TABLE filler (x BLOB)"))
        for _ in range(400):
            s.execute(text("INSERT INTO filler VALUES (randomblob(1000))"))
    _some_history(db)
    db.close()
    path = tmp_path / "mujun.db"
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 64 * 1024] = bytes(64 * 1024)
    path.write_bytes(bytes(data))
    with pytest.raises(StoreDamaged, match="quick_check"):
        open_database(sqlite_url(tmp_path), check=True)


def test_the_audit_chain_of_a_sound_log_verifies(db):
    _some_history(db)
    with db.read() as s:
        report = audit.verify(s)
        rows = audit.entries(s, regions=None)
    assert (report.entries, report.problems) == (5, [])
    assert report.head == rows[-1].entry_hash
    assert [r.prev_hash for r in rows[1:]] == [r.entry_hash for r in rows[:-1]]


def test_an_edited_audit_entry_is_detected(db):
    _some_history(db)
    _tamper(db, "UPDATE audit_log SET actor = 'someone else' WHERE id = 3")
    with db.read() as s:
        problems = audit.verify(s).problems
    assert problems == ["audit entry 3 (token.create token/3) was changed after it was written"]


def test_a_deleted_audit_entry_is_detected(db):
    _some_history(db)
    _tamper(db, "DELETE FROM audit_log WHERE id = 3")
    with db.read() as s:
        problems = audit.verify(s).problems
    assert len(problems) == 1 and problems[0].startswith("audit entry 4 does not follow entry 2")


def test_a_deleted_tail_is_detected_against_a_head_noted_earlier(db):
    _some_history(db)
    with db.read() as s:
        noted = audit.verify(s).head
    _tamper(db, "DELETE FROM audit_log WHERE id = 5")
    with db.read() as s:
        assert audit.verify(s).problems == []  # the chain alone cannot see a cut tail...
        assert "not in the log" in audit.verify(s, head=noted).problems[0]  # ...the noted head can


def test_the_migration_chains_entries_written_before_it(tmp_path):
    from alembic import command
    from alembic.config import Config

    from mujun.store.db import _MIGRATIONS

    url = sqlite_url(tmp_path)
    engine = create_engine(url)
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
        for i in range(3):
            connection.execute(text("INSERT INTO audit_log (actor, action, target, region, before_hash, after_hash, "
                                    "detail_json, at) VALUES ('old', 'x', :t, '', '', '', '{}', "
                                    "'2024-01-02 03:04:05.000006')"), {"t": f"t{i}"})
    migrate(engine)
    engine.dispose()
    db = open_database(url)
    try:
        _some_history(db, 1)
        with db.read() as s:
            report = audit.verify(s)
        assert (report.entries, report.problems) == (4, [])
    finally:
        db.close()


def test_a_backup_taken_while_open_restores_the_same_store(tmp_path):
    db = open_database(sqlite_url(tmp_path / "live"))
    _some_history(db)
    copy = backup(sqlite_url(tmp_path / "live"), tmp_path / "backup.db")
    _some_history(db, 2)  # written after the backup: not in it
    db.close()
    (tmp_path / "live" / "mujun.db").write_bytes(b"")  # the store is lost
    restored = restore(copy.path, sqlite_url(tmp_path / "live"))
    assert restored.moved_aside is not None and restored.moved_aside.read_bytes() == b""
    db = open_database(sqlite_url(tmp_path / "live"), check=True)
    try:
        with db.read() as s:
            report = audit.verify(s)
        assert (report.entries, report.problems) == (5, [])
    finally:
        db.close()


def test_a_damaged_backup_is_not_restored(tmp_path):
    (tmp_path / "bad.db").write_bytes(b"garbage")
    with pytest.raises(StoreDamaged):
        restore(tmp_path / "bad.db", sqlite_url(tmp_path / "live"))
    assert not (tmp_path / "live" / "mujun.db").exists()


def test_a_postgresql_store_is_backed_up_with_pg_dump(tmp_path):
    from mujun.errors import PreconditionFailed

    with pytest.raises(PreconditionFailed, match="pg_dump --format=custom") as caught:
        backup("postgresql+psycopg://mujun:secret@db.example/mujun", tmp_path / "x.db")
    assert "secret" not in caught.value.message and "postgresql://mujun:***@db.example/mujun" in caught.value.message
