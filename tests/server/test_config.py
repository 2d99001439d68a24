"""Server settings: strict types, no unknown names, one precedence, credentials never printed."""

from __future__ import annotations

import subprocess
import sys

import pytest

from mujun.server.config import ConfigError, load_config, mask_url
from server.serverkit import server_env


def test_a_misspelt_boolean_is_an_error_not_false():
    with pytest.raises(ConfigError, match="bootstrap_packs.*'ture'"):
        load_config(env={"MUJUN_BOOTSTRAP_PACKS": "ture"})


def test_an_unknown_mujun_variable_is_a_startup_error():
    with pytest.raises(ConfigError, match="MUJUN_WORKRS"):
        load_config(env={"MUJUN_WORKRS": "3"})


def test_variables_of_the_cli_and_the_client_are_not_server_settings():
    config = load_config(env={"MUJUN_TOKEN": "mj_x", "MUJUN_SERVER": "h:1", "MUJUN_LOG_LEVEL": "INFO"})
    assert config.port == 50051


def test_flags_win_over_environment_over_file_over_defaults(tmp_path):
    file = tmp_path / "mujun.toml"
    file.write_text('port = 7000\nworkers = 3\ndata_dir = "from-file"\ngrace_seconds = 4.0\n')
    config = load_config(file, env={"MUJUN_PORT": "7001", "MUJUN_WORKERS": "5"}, port=7002)
    assert (config.port, config.workers, config.data_dir, config.grace_seconds, config.metrics_port) == \
        (7002, 5, "from-file", 4.0, -1)


def test_plaintext_behind_a_proxy_may_bind_beyond_loopback():
    config = load_config(env={}, host="0.0.0.0", plaintext_behind_proxy=True)
    assert config.host == "0.0.0.0" and not config.tls_cert  # tokens are required on every address anyway


@pytest.mark.parametrize(("url", "shown"), [
    ("postgresql+psycopg://mujun:s3cret@db:5432/mujun", "postgresql+psycopg://mujun:***@db:5432/mujun"),
    ("postgresql://u:p@ss:word@h/db", "postgresql://u:***@h/db"),
    ("sqlite:////var/lib/mujun/mujun.db", "sqlite:////var/lib/mujun/mujun.db"),
    ("", ""),
])
def test_passwords_in_database_urls_are_masked(url, shown):
    assert mask_url(url) == shown


def test_an_unreachable_database_is_one_line_naming_host_and_port_without_the_password(tmp_path):
    done = subprocess.run([sys.executable, "-m", "mujun.cli", "serve", "--port", "0", "--database-url",
                           "postgresql+psycopg://mujun:s3cret@127.0.0.1:1/mujun"], env=server_env(), cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "127.0.0.1" in done.stderr and "port 1" in done.stderr and "STORE_UNAVAILABLE" in done.stderr
    assert "s3cret" not in done.stderr + done.stdout and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
