"""Server configuration (pydantic-settings): flags > ``MUJUN_*`` environment > TOML/JSON file > defaults.

Strict: a value of the wrong type (``MUJUN_BOOTSTRAP_PACKS=ture``), an unknown key in the file and
an unknown ``MUJUN_*`` variable are startup errors, so a misspelt setting never falls back to a
default in silence. Secure by default: the server binds 127.0.0.1; any other address needs TLS
certificate files, or ``plaintext_behind_proxy`` for a TLS-terminating proxy or mesh in front of it;
every call needs a token on every address (see :mod:`mujun.server.auth`).
"""

from __future__ import annotations

import datetime as dt

import ipaddress
import json
import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from mujun.errors import MujunError

__all__ = ["ServerConfig", "ConfigError", "load_config", "is_loopback", "mask_url"]

MiB = 1024 * 1024

#: ``MUJUN_*`` variables read by other parts of mujun (the CLI, the client, tests, benchmarks),
#: which the server accepts in its environment without treating them as settings.
OTHER_VARIABLES = frozenset({"MUJUN_CONFIG", "MUJUN_LOG_LEVEL", "MUJUN_RULES_DIR", "MUJUN_SERVER", "MUJUN_TOKEN",
                             "MUJUN_TLS_CA", "MUJUN_HYPOTHESIS_PROFILE"})
OTHER_PREFIXES = ("MUJUN_BENCH_", "MUJUN_TEST_")


class ConfigError(MujunError):
    code = "CONFIG_INVALID"


class ServerConfig(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MUJUN_", extra="forbid", frozen=True, validate_default=True)

    host: str = "127.0.0.1"
    port: int = 50051
    data_dir: str = "data"
    database_url: str = ""          # default: SQLite in data_dir
    tls_cert: str = ""              # PEM certificate chain
    tls_key: str = ""               # PEM private key
    plaintext_behind_proxy: bool = False  # bind beyond loopback without TLS: a proxy terminates it
    metrics_port: int = -1          # -1: no metrics endpoint; 0: any free port
    workers: int = 4                # unary calls at once: more threads only contend for the GIL
    max_message_bytes: int = 16 * MiB
    max_records_per_request: int = 10_000
    max_explain_records: int = 1_000  # Evaluate(explain=true): a trace per record is ~100x a result
    max_record_bytes: int = 64 * 1024
    max_batch_rows: int = 5_000_000
    max_batch_bytes: int = 2048 * MiB
    grace_seconds: float = 10.0
    bootstrap_packs: bool = True    # publish and activate the bundled packs into an empty store
    default_pack: str = "js-huaian-2024"  # bootstrap: the bundled pack for regions without their own
    token_cache_seconds: float = 10.0
    # Uploads (EvaluateBatch, Cycles.Run) run on their own threads, so unary calls and Health always
    # have theirs; beyond these caps a new upload is RESOURCE_EXHAUSTED at once.
    max_uploads: int = 64                   # uploads in progress at once, all callers
    max_uploads_per_caller: int = 16        # … per token (principal)
    upload_workers: int = 2                 # uploads decoded, evaluated and answered at once; the rest wait
    upload_queue_seconds: float = 120.0     # longest wait for one of those slots
    upload_idle_seconds: float = 30.0       # a stream silent this long is cut off
    upload_max_seconds: float = 1800.0      # longest an upload may take to arrive
    max_upload_messages: int = 20_000       # messages per upload (send chunks of about 1 MiB)
    max_decoded_bytes: int = 2048 * MiB     # decoded Arrow bytes per upload (compression included)
    max_decoded_batch_bytes: int = 512 * MiB  # decoded bytes per Arrow record batch
    # In-year events (Events): the day decisions are evaluated on (empty: today; a date for tests and
    # replays), how often effects that ended are swept into new versions, how long the outbox keeps changes.
    events_today: dt.date | None = None
    events_sweep_seconds: float = 3600.0
    outbox_retention_days: int = 400
    watch_workers: int = 32                 # WatchDecisions streams open at once (each holds a thread)
    watch_poll_seconds: float = 1.0         # a watcher re-reads the outbox this often when no commit woke it

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
                                   file_secret_settings: PydanticBaseSettingsSource) -> tuple:
        # Flags arrive as init arguments, the file and the environment are merged by load_config.
        return (init_settings,)

    def validated(self) -> ServerConfig:
        """Refuse configurations that would expose the service unprotected."""
        if bool(self.tls_cert) != bool(self.tls_key):
            raise ConfigError("give both tls_cert and tls_key (PEM files), or neither")
        for name in ("tls_cert", "tls_key"):
            value = getattr(self, name)
            if value and not Path(value).is_file():
                raise ConfigError(f"{name} {value!r} is not a readable file")
        if not is_loopback(self.host) and not self.tls_cert and not self.plaintext_behind_proxy:
            raise ConfigError(f"binding {self.host} (not loopback) needs TLS: set tls_cert and tls_key "
                              "(MUJUN_TLS_CERT / MUJUN_TLS_KEY or --tls-cert / --tls-key), or, behind a proxy or "
                              "mesh that terminates TLS, --plaintext-behind-proxy")
        return self


def mask_url(url: str) -> str:
    """``postgresql://user:secret@host/db`` → ``postgresql://user:***@host/db``: never print a password."""
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not sep or not at or ":" not in credentials:
        return url
    return f"{scheme}://{credentials.split(':', 1)[0]}:***@{host}"


def is_loopback(host: str) -> bool:
    if host in ("localhost", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _read_file(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text()) if path.suffix == ".toml" else json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from exc
    unknown = set(data) - set(ServerConfig.model_fields)
    if unknown:
        raise ConfigError(f"config file {path}: unknown keys {sorted(unknown)}; known: {sorted(ServerConfig.model_fields)}")
    return data


def _read_environment(env: dict[str, str]) -> dict[str, str]:
    settings, unknown = {}, []
    for key, value in env.items():
        if not key.startswith("MUJUN_") or key in OTHER_VARIABLES or key.startswith(OTHER_PREFIXES):
            continue
        name = key[len("MUJUN_"):].lower()
        if name in ServerConfig.model_fields:
            settings[name] = value
        else:
            unknown.append(key)
    if unknown:
        known = ", ".join(f"MUJUN_{name.upper()}" for name in ServerConfig.model_fields)
        raise ConfigError(f"unknown environment variables {sorted(unknown)}; the settings are {known}")
    return settings


def load_config(file: str | os.PathLike[str] | None = None, env: dict[str, str] | None = None,
                **flags: Any) -> ServerConfig:
    """Merge the sources (flags > env > file > defaults); ``None`` flags are ignored. Unknown keys are errors."""
    merged: dict[str, Any] = _read_file(Path(file)) if file else {}
    merged.update(_read_environment(dict(os.environ) if env is None else env))
    merged.update({k: v for k, v in flags.items() if v is not None})
    unknown = set(merged) - set(ServerConfig.model_fields)
    if unknown:
        raise ConfigError(f"unknown settings {sorted(unknown)}")
    try:
        return ServerConfig(**merged).validated()
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']} (got {e['input']!r})" for e in exc.errors())
        raise ConfigError(f"invalid settings: {problems}") from None
