"""Helpers of the server tests: a real ``mujun serve`` process on 127.0.0.1, tokens, constants.

Servers start through the CLI (so ``mujun serve`` is tested too), bind a free port on loopback,
and are stopped by their own process id. Every wait is bounded.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

from mujun.store import open_database, sqlite_url, tokens  # noqa: E402

REGION_A, REGION_B = "320102", "320103"
#: Small limits for the shared server (set through MUJUN_* environment, as an operator would).
SHARED_LIMITS = {"MUJUN_MAX_MESSAGE_BYTES": str(4 * 1024 * 1024), "MUJUN_MAX_RECORDS_PER_REQUEST": "1000",
                 "MUJUN_MAX_BATCH_ROWS": "100000", "MUJUN_MAX_DECODED_BYTES": str(64 * 1024 * 1024),
                 "MUJUN_MAX_DECODED_BATCH_BYTES": str(16 * 1024 * 1024),
                 "MUJUN_MAX_EXPLAIN_RECORDS": "100"}
_READY = re.compile(r"mujun serving on (\S+):(\d+)(?:.*metrics on http://\S+:(\d+)/metrics)?")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MUJUN_")}
    paths = [str(ROOT / "service"), str(ROOT / "clients" / "python"), env.get("PYTHONPATH", "")]
    env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    return env


@dataclass
class ServerProcess:
    """``mujun serve`` in a subprocess; ``address`` is HOST:PORT once ready."""

    data_dir: Path
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    port: int = 0
    process: subprocess.Popen | None = None
    address: str = ""
    metrics_port: int | None = None
    log: Path | None = None
    output: list[str] = field(default_factory=list)  # what the server printed on stdout

    def start(self, timeout: float = 60.0) -> ServerProcess:
        self.log = self.data_dir.parent / f"server-{self.data_dir.name}-{time.monotonic_ns()}.log"
        command = [sys.executable, "-m", "mujun.cli", "serve", "--data-dir", str(self.data_dir),
                   "--port", str(self.port), "--log-level", "WARNING", *self.args]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=self.log.open("w"), text=True,
                                        env={**server_env(), **self.env}, cwd=ROOT)
        deadline = time.monotonic() + timeout
        lines = self.output = []
        threading.Thread(target=lambda: lines.extend(self.process.stdout), daemon=True).start()
        while time.monotonic() < deadline:
            match = _READY.search("".join(lines))
            if match:
                self.address = f"{match.group(1)}:{match.group(2)}"
                self.metrics_port = int(match.group(3)) if match.group(3) else None
                return self
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}: {self.log.read_text()[-3000:]}")
            time.sleep(0.05)
        self.kill()
        raise TimeoutError(f"server not ready in {timeout}s: {self.log.read_text()[-3000:]}")

    @property
    def token(self) -> str:
        """The admin token the server wrote into its new data directory (``admin.token``)."""
        return (self.data_dir / "admin.token").read_text().strip()

    def stop(self, timeout: float = 30.0) -> int:
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else 0
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)


def make_tokens(data_dir: Path) -> dict[str, str]:
    """Tokens for every role; the agency and operator tokens are limited to one county."""
    db = open_database(sqlite_url(data_dir))
    wanted = {"admin": ("admin", []), "editor": ("editor", []), "auditor": ("auditor", []),
              "operator_a": ("operator", [REGION_A]), "agency_a": ("agency", [REGION_A]),
              "agency_b": ("agency", [REGION_B])}
    made = {}
    try:
        with db.write() as session:
            for key, (role, regions) in wanted.items():
                made[key], _ = tokens.create(session, role=role, regions=regions, name=key)
    finally:
        db.close()
    return made
