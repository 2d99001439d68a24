"""API tokens: created once (the secret is shown only then), stored as sha256, resolved per call.

Tokens are 256-bit random secrets, so a plain sha256 is enough to make a stolen database useless
for calling the service (no password-style stretching needed).
"""

from __future__ import annotations

import hashlib
import json
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from mujun.errors import NotFound
from mujun.store import audit
from mujun.store.models import TokenRow, utcnow

__all__ = ["ROLES", "create", "resolve", "revoke", "listing", "hash_token"]

#: agency: evaluate and read decisions of its regions; editor: packs; operator: cycles;
#: auditor: read the audit log; admin: everything.
ROLES = ("agency", "editor", "operator", "auditor", "admin")

_PREFIX = "mj_"


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create(session: Session, *, role: str, regions: list[str], name: str = "", actor: str = "cli") -> tuple[str, TokenRow]:
    """Store a new token and return ``(secret, row)``; the secret cannot be recovered later."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
    secret = _PREFIX + secrets.token_urlsafe(32)
    row = TokenRow(name=name or f"{role}:{','.join(regions) or '*'}", role=role,
                   regions_json=json.dumps(sorted(regions)), token_hash=hash_token(secret))
    session.add(row)
    session.flush()
    audit.record(session, actor=actor, action="token.create", target=f"token/{row.id}",
                 region=regions[0] if len(regions) == 1 else "", after=row.token_hash[:16],
                 detail={"role": role, "regions": regions, "name": row.name})
    return secret, row


def resolve(session: Session, secret: str) -> TokenRow | None:
    """The live token with this secret, or None (unknown or revoked)."""
    row = session.scalar(select(TokenRow).where(TokenRow.token_hash == hash_token(secret)))
    return row if row is not None and row.revoked_at is None else None


def listing(session: Session) -> list[TokenRow]:
    return list(session.scalars(select(TokenRow).order_by(TokenRow.id)))


def revoke(session: Session, token_id: int, *, actor: str = "cli") -> TokenRow:
    """Stop a token from working (servers notice within their token cache time, 10 s by default)."""
    row = session.get(TokenRow, token_id)
    if row is None:
        raise NotFound(f"there is no token {token_id}; `mujun token list` shows them", location=f"token/{token_id}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit.record(session, actor=actor, action="token.revoke", target=f"token/{row.id}",
                     before=row.token_hash[:16], detail={"role": row.role, "name": row.name})
    return row
