"""The store tests run on SQLite (embedded default) and on a real PostgreSQL server when one can start.

PostgreSQL: ``MUJUN_TEST_POSTGRES_URL`` points at a server to use; otherwise the Debian server
binaries (``apt-get install postgresql-15``) are used to start a throw-away cluster on 127.0.0.1 for
the session (as the ``postgres`` user when the tests run as root). Without either, or without the
psycopg driver, only the PostgreSQL variants are skipped, each saying why.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid

import pytest

from mujun.store import open_database, sqlite_url


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_cluster():
    """(admin URL, stop function) of a fresh cluster, or a skip reason as a string."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "the psycopg driver is not installed (pip install 'psycopg[binary]')"
    binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not binaries:
        return "no PostgreSQL server binaries (apt-get install postgresql-15) and MUJUN_TEST_POSTGRES_URL unset"
    bindir = os.path.dirname(binaries[-1])
    prefix: list[str] = []
    folder = tempfile.mkdtemp(prefix="mujun-pg-")
    if os.geteuid() == 0:
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no 'postgres' user to run the server as"
        os.chown(folder, user.pw_uid, user.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]
    port = _free_port()
    data = os.path.join(folder, "data")
    run = lambda *args: subprocess.run([*prefix, *args], check=True, capture_output=True, timeout=120)  # noqa: E731
    try:
        run(f"{bindir}/initdb", "-D", data, "-A", "trust", "-U", "mujun", "--no-sync")
        run(f"{bindir}/pg_ctl", "-D", data, "-w", "-t", "60", "-l", os.path.join(folder, "log"),
            "-o", f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off", "start")
    except (subprocess.SubprocessError, OSError) as exc:
        shutil.rmtree(folder, ignore_errors=True)
        return f"could not start a PostgreSQL cluster: {exc}"

    def stop() -> None:
        subprocess.run([*prefix, f"{bindir}/pg_ctl", "-D", data, "-m", "fast", "-w", "stop"], capture_output=True,
                       timeout=60)
        shutil.rmtree(folder, ignore_errors=True)

    return f"postgresql+psycopg://mujun@127.0.0.1:{port}/postgres", stop


@pytest.fixture(scope="session")
def postgres_admin_url():
    given = os.environ.get("MUJUN_TEST_POSTGRES_URL")
    if given:
        yield given
        return
    started = _start_cluster()
    if isinstance(started, str):
        pytest.skip(started)
    url, stop = started
    yield url
    stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path):
    """A migrated, empty store on each backend (a fresh database per test on PostgreSQL)."""
    if request.param == "sqlite":
        database = open_database(sqlite_url(tmp_path))
    else:
        from sqlalchemy import create_engine, text

        admin_url = request.getfixturevalue("postgres_admin_url")
        name = f"mujun_{uuid.uuid4().hex[:12]}"
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name}"))
        admin.dispose()
        database = open_database(admin_url.rsplit("/", 1)[0] + f"/{name}")
    database.backend = request.param  # type: ignore[attr-defined]
    yield database
    database.close()
