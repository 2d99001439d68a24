"""The audit log as the API shows it: entries of the regions the caller may see, a page at a time."""

from __future__ import annotations

from mujun.services._paging import id_page, id_token
from mujun.services.context import Context
from mujun.services.principal import Principal
from mujun.services.results import AuditEntry, Page
from mujun.store import audit

__all__ = ["AuditService"]


class AuditService:
    def __init__(self, context: Context):
        self._db = context.db

    def log(self, principal: Principal, region: str, page_size: int, page_token: str) -> Page[AuditEntry]:
        regions, size, after_id = id_page(principal, region, page_size, page_token)
        with self._db.read() as session:
            rows = audit.entries(session, regions=regions, after_id=after_id, limit=size + 1)
            return Page(tuple(AuditEntry.of(r) for r in rows[:size]), id_token(rows, size))
