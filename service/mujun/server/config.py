"""Server configuration: defaults, then a TOML/JSON file, then ``MUJUN_*`` environment, then flags.

Secure by default: the server binds 127.0.0.1. Any other address needs TLS certificate files and
requires tokens on every call; on loopback, calls without a token act as the local administrator
unless ``require_tokens`` is set.
"""

from __future__ import annotations

import ipaddress
import json
import os
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from mujun.errors import MujunError

__all__ = ["ServerConfig", "ConfigError", "load_config", "is_loopback"]

MiB = 1024 * 1024


class ConfigError(MujunError):
    code = "CONFIG_INVALID"


@dataclass(frozen=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 50051
    data_dir: str = "data"
    database_url: str = ""          # default: SQLite in data_dir
    tls_cert: str = ""              # PEM certificate chain
    tls_key: str = ""               # PEM private key
    require_tokens: bool = False    # forced on for non-loopback binds
    metrics_port: int = -1          # -1: no metrics endpoint; 0: any free port
    workers: int = 4                # unary calls at once: more threads only contend for the GIL
    max_message_bytes: int = 16 * MiB
    max_records_per_request: int = 10_000
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

    def validated(self) -> ServerConfig:
        """Refuse configurations that would expose the service unprotected."""
        if bool(self.tls_cert) != bool(self.tls_key):
            raise ConfigError("give both tls_cert and tls_key (PEM files), or neither")
        for name in ("tls_cert", "tls_key"):
            value = getattr(self, name)
            if value and not Path(value).is_file():
                raise ConfigError(f"{name} {value!r} is not a readable file")
        if not is_loopback(self.host):
            if not self.tls_cert:
                raise ConfigError(f"binding {self.host} (not loopback) needs TLS: set tls_cert and tls_key "
                                  "(MUJUN_TLS_CERT / MUJUN_TLS_KEY or --tls-cert / --tls-key)")
            return replace(self, require_tokens=True)
        return self


def is_loopback(host: str) -> bool:
    if host in ("localhost", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _coerce(name: str, value: Any) -> Any:
    kind = {f.name: f.type for f in fields(ServerConfig)}[name]
    try:
        if kind == "bool":
            return value if isinstance(value, bool) else str(value).strip().lower() in ("1", "true", "yes", "on")
        if kind == "int":
            return int(value)
        if kind == "float":
            return float(value)
        return str(value)
    except ValueError as exc:
        raise ConfigError(f"{name}: {value!r} is not a valid {kind}") from exc


def load_config(file: str | os.PathLike[str] | None = None, env: dict[str, str] | None = None,
                **flags: Any) -> ServerConfig:
    """Merge the sources (later wins); ``None`` flags are ignored. Unknown keys are errors."""
    names = {f.name for f in fields(ServerConfig)}
    merged: dict[str, Any] = {}
    if file:
        path = Path(file)
        try:
            data = tomllib.loads(path.read_text()) if path.suffix == ".toml" else json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read config file {path}: {exc}") from exc
        unknown = set(data) - names
        if unknown:
            raise ConfigError(f"config file {path}: unknown keys {sorted(unknown)}; known: {sorted(names)}")
        merged.update(data)
    for key, value in (os.environ if env is None else env).items():
        if key.startswith("MUJUN_") and key[6:].lower() in names:
            merged[key[6:].lower()] = value
    merged.update({k: v for k, v in flags.items() if v is not None})
    unknown = set(merged) - names
    if unknown:
        raise ConfigError(f"unknown settings {sorted(unknown)}")
    return ServerConfig(**{k: _coerce(k, v) for k, v in merged.items()}).validated()
