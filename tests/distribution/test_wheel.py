"""The wheel is what an operator installs: built from this tree, installed into a clean venv, it serves."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import time
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from distribution.distkit import ROOT, clean_env, new_venv, run

READY = re.compile(r"mujun serving on ([\w.:\[\]-]+):(\d+)")


@pytest.fixture(scope="module")
def installed(tmp_path_factory, wheels) -> Path:
    """A fresh venv with both wheels built from this tree, as an operator installs the service."""
    work = tmp_path_factory.mktemp("server-venv")
    new_venv(work / "venv", wheels["client"], wheels["server"])
    return work


@pytest.mark.timeout(900)
def test_the_wheel_carries_the_generated_stubs_and_the_bundled_packs(installed):
    probe = subprocess.run([installed / "venv" / "bin" / "python", "-c", "import grpc_tools"], env=clean_env(),
                           capture_output=True, text=True, cwd=installed, timeout=60)
    assert probe.returncode != 0, "grpcio-tools is a build requirement, not a runtime dependency"
    run(installed / "venv" / "bin" / "python", "-c", "import mujun_wire.v1.rule_engine_pb2_grpc",
         cwd=installed, timeout=60)
    assert "mujun 0.1.0" in run(installed / "venv" / "bin" / "mujun", "--version", cwd=installed, timeout=60)
    assert "passed" in run(installed / "venv" / "bin" / "mujun", "pack", "test", cwd=installed, timeout=300)


@pytest.mark.timeout(900)
def test_mujun_serve_from_the_wheel_answers_health(installed):
    _serves([installed / "venv" / "bin" / "mujun", "serve", "--data-dir", installed / "data", "--port", "0",
             "--metrics-port", "-1", "--log-level", "WARNING"], cwd=installed)


@pytest.mark.timeout(900)
def test_the_systemd_units_exec_start_serves(installed):
    """deploy/mujun.service as systemd would run it, with the venv and state directory of this test."""
    unit = (ROOT / "deploy" / "mujun.service").read_text()
    command = shlex.split(re.search(r"^ExecStart=(.+)$", unit, re.MULTILINE).group(1))
    replaced = {"/opt/mujun/bin/mujun": str(installed / "venv" / "bin" / "mujun"),
                "/var/lib/mujun": str(installed / "state"), "50051": "0", "9464": "-1"}
    _serves([replaced.get(part, part) for part in command], cwd=installed)


@pytest.mark.timeout(900)
def test_the_images_entrypoint_serves_as_a_non_root_user(installed):
    """deploy/Dockerfile's runtime stage: a non-root USER, and its ENTRYPOINT runs from the installed wheel
    (bound to loopback here; in the image it binds 0.0.0.0 behind a TLS-terminating proxy)."""
    runtime = (ROOT / "deploy" / "Dockerfile").read_text().rsplit("\nFROM ", 1)[1]
    assert re.search(r"^USER (\w+)$", runtime, re.MULTILINE).group(1) not in ("root", "0")
    command = json.loads(re.search(r"^ENTRYPOINT (\[.+\])$", runtime, re.MULTILINE).group(1))
    replaced = {"/opt/mujun/bin/mujun": str(installed / "venv" / "bin" / "mujun"),
                "/var/lib/mujun": str(installed / "image-data"), "0.0.0.0": "127.0.0.1", "50051": "0", "9464": "-1"}
    _serves([replaced.get(part, part) for part in command], cwd=installed)


def _serves(command: list, cwd: Path) -> None:
    """Start ``command``, wait for the ready line, check Health, stop it with SIGTERM (exit 0)."""
    server = subprocess.Popen([str(c) for c in command], cwd=cwd, env=clean_env(), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    try:
        address = _wait_ready(server, timeout=120)
        with grpc.insecure_channel(address) as channel:
            reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service="mujun.v1.RuleEngine"),
                                                              timeout=10)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
    finally:
        server.terminate()
        assert server.wait(30) == 0


def _wait_ready(server: subprocess.Popen, timeout: float) -> str:
    deadline, seen = time.monotonic() + timeout, []
    while time.monotonic() < deadline:
        line = server.stdout.readline()
        if not line and server.poll() is not None:
            raise AssertionError(f"mujun serve exited {server.returncode}: {''.join(seen)[-3000:]}")
        seen.append(line)
        match = READY.search(line)
        if match:
            return f"{match.group(1)}:{match.group(2)}"
    raise AssertionError(f"not ready in {timeout}s: {''.join(seen)[-3000:]}")
