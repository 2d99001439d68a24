"""Who is calling and what they may do: tokens from metadata, one table of roles per method, regions.

Tokens travel as ``authorization: Bearer <token>`` metadata. Every call but health checking and
reflection needs one, whatever the address: a call without a token never acts as anybody, so a local
process, a port forward or a reverse proxy gains nothing by dropping it. The first server on a new store
writes an admin token to ``<data-dir>/admin.token`` (mode 0600), where the CLI on the same machine finds
it (:func:`ensure_admin_token`). The role table below is the only place that grants methods; region
scoping is checked by the services on every read and write through :meth:`Principal.require_region`.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from pathlib import Path

from mujun.errors import PermissionDenied, Unauthenticated
from mujun.server.config import ConfigError
from mujun.services.principal import Principal
from mujun.store import Database, tokens

__all__ = ["Principal", "Authenticator", "METHOD_ROLES", "PUBLIC_PREFIXES", "ADMIN_TOKEN_FILE", "ensure_admin_token"]

#: The admin token of a new store, in its data directory (``mujun_client.find_token`` reads the same name).
ADMIN_TOKEN_FILE = "admin.token"

_ALL = frozenset({"agency", "editor", "operator", "auditor", "admin"})
_READ_DECISIONS = frozenset({"agency", "operator", "auditor", "admin"})

#: Method → roles allowed to call it. Methods not listed are refused.
METHOD_ROLES: dict[str, frozenset[str]] = {
    "/mujun.v1.RuleEngine/Evaluate": frozenset({"agency", "editor", "operator", "admin"}),
    "/mujun.v1.RuleEngine/EvaluateBatch": frozenset({"agency", "editor", "operator", "admin"}),
    "/mujun.v1.RuleEngine/Explain": frozenset({"agency", "editor", "operator", "admin"}),
    "/mujun.v1.Packs/List": _ALL,
    "/mujun.v1.Packs/Get": _ALL,
    "/mujun.v1.Packs/Validate": _ALL,
    "/mujun.v1.Packs/History": _ALL,
    "/mujun.v1.Packs/Publish": frozenset({"editor", "admin"}),
    "/mujun.v1.Packs/Activate": frozenset({"editor", "admin"}),
    # a simulation reads a cycle's stored records: the editors who draft packs and the operators who run cycles
    "/mujun.v1.Packs/Simulate": frozenset({"editor", "operator", "admin"}),
    "/mujun.v1.Packs/Diff": _ALL,  # two published versions, which every role may Get
    "/mujun.v1.Cycles/Run": frozenset({"operator", "admin"}),
    "/mujun.v1.Cycles/RunRecords": frozenset({"operator", "admin"}),
    "/mujun.v1.Cycles/Freeze": frozenset({"operator", "admin"}),
    "/mujun.v1.Cycles/Publish": frozenset({"operator", "admin"}),
    "/mujun.v1.Cycles/Appeal": frozenset({"operator", "admin"}),
    "/mujun.v1.Cycles/Get": _READ_DECISIONS,
    "/mujun.v1.Cycles/List": _READ_DECISIONS,
    "/mujun.v1.Cycles/GetDecision": _READ_DECISIONS,
    "/mujun.v1.Cycles/ListDecisions": _READ_DECISIONS,
    "/mujun.v1.Cycles/ExportDecisions": _READ_DECISIONS,
    "/mujun.v1.Cycles/AuditLog": frozenset({"auditor", "admin"}),
}

#: Health checking and reflection answer without a token (load balancers and grpcurl need them).
PUBLIC_PREFIXES = ("/grpc.health.v1.", "/grpc.reflection.")


def ensure_admin_token(db: Database, data_dir: str | os.PathLike[str]) -> tuple[Path, str] | None:
    """On a store without tokens, create an admin token and write it to ``<data_dir>/admin.token`` (0600).

    Returns ``(path, secret)`` when it made one, None otherwise (a store with tokens is left alone; more
    admin tokens come from ``mujun token create --role admin``). The file is written inside the token's
    transaction, so a token is never stored without its file.
    """
    folder = Path(data_dir).expanduser()
    with db.write() as session:
        if tokens.listing(session):
            return None
        secret, _ = tokens.create(session, role="admin", regions=[], name="local admin (admin.token)", actor="system")
        path = folder / ADMIN_TOKEN_FILE
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=".admin.token.")  # mode 0600
            with os.fdopen(descriptor, "w") as file:
                file.write(secret + "\n")
            os.replace(temporary, path)
        except OSError as exc:
            raise ConfigError(f"cannot write the admin token to {path}: {exc}; give a writable --data-dir",
                              location=str(path)) from exc
    return path, secret


class Authenticator:
    """Resolves bearer tokens (cached briefly) and checks the method table."""

    def __init__(self, db: Database, *, cache_seconds: float):
        self._db = db
        self._ttl = cache_seconds
        self._cache: dict[str, tuple[float, Principal | None]] = {}
        self._lock = threading.Lock()

    def authenticate(self, method: str, metadata: tuple[tuple[str, str | bytes], ...]) -> Principal:
        secret = _bearer(metadata)
        if secret is None:
            raise Unauthenticated("this server requires a token: send metadata 'authorization: Bearer <token>'. "
                                  "On the server's machine the admin token is in <data-dir>/admin.token; create "
                                  "others with `mujun token create --role ROLE`")
        principal = self._resolve(secret)
        if principal is None:
            raise Unauthenticated("the token is unknown or revoked")
        allowed = METHOD_ROLES.get(method)
        if allowed is None or principal.role not in allowed:
            raise PermissionDenied(f"role {principal.role} may not call {method.rsplit('/', 1)[-1]}"
                                   + (f"; allowed roles: {', '.join(sorted(allowed))}" if allowed else ""))
        return principal

    def _resolve(self, secret: str) -> Principal | None:
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(secret)
            if hit is not None and hit[0] > now:
                return hit[1]
        with self._db.read() as session:
            row = tokens.resolve(session, secret)
            principal = None if row is None else Principal(
                actor=f"token/{row.id}:{row.name}", role=row.role,
                regions=None if row.role == "admin" or row.regions_json == "[]" else frozenset(json.loads(row.regions_json)))
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[secret] = (now + self._ttl, principal)
        return principal


def _bearer(metadata: tuple[tuple[str, str | bytes], ...]) -> str | None:
    for key, value in metadata or ():
        if key.lower() == "authorization":
            text = value.decode() if isinstance(value, bytes) else value
            scheme, _, secret = text.partition(" ")
            return secret.strip() if scheme.lower() == "bearer" and secret.strip() else ""
    return None
