"""Errors of the store and the services built on it, in the same tree as :mod:`mujun.errors`::

    MujunError
     ├── PreconditionFailed   PRECONDITION_FAILED  the object is in the wrong state (publish an unfrozen cycle)
     ├── AlreadyExists        ALREADY_EXISTS       an immutable object with that name and other content exists
     ├── Unauthenticated      UNAUTHENTICATED      no valid token where one is required
     ├── PermissionDenied     PERMISSION_DENIED    the token's role or regions do not allow the action
     ├── LimitExceeded        LIMIT_EXCEEDED       a record, batch or message over the configured limit
     ├── RequestInvalid       REQUEST_INVALID      a request breaking the API rules (with field violations)
     ├── StoreDamaged         STORE_DAMAGED        the store's file is not a database, or fails its integrity check
     ├── StoreBusy            STORE_BUSY           another server holds the store's exclusive lease (SQLite)
     └── StoreUnavailable     STORE_UNAVAILABLE    the database cannot be reached or opened

Not-found cases reuse :class:`mujun.errors.NotFound`. The gRPC server maps each code to a status in
one table (``mujun.server.interceptors``).
"""

from __future__ import annotations

from mujun.errors import MujunError

__all__ = ["PreconditionFailed", "AlreadyExists", "Unauthenticated", "PermissionDenied", "LimitExceeded",
           "RequestInvalid", "StoreDamaged", "StoreBusy", "StoreUnavailable"]


class PreconditionFailed(MujunError):
    code = "PRECONDITION_FAILED"


class AlreadyExists(MujunError):
    code = "ALREADY_EXISTS"


class Unauthenticated(MujunError):
    code = "UNAUTHENTICATED"


class PermissionDenied(MujunError):
    code = "PERMISSION_DENIED"


class LimitExceeded(MujunError):
    code = "LIMIT_EXCEEDED"


class RequestInvalid(MujunError):
    """A request that breaks the API's rules (an empty enterprise id, a malformed message).

    ``violations`` lists ``(field, message)`` pairs such as ``("records[3].enterprise_id", "is empty")``.
    """

    code = "REQUEST_INVALID"

    def __init__(self, message: str, violations: list[tuple[str, str]] | None = None):
        super().__init__(message)
        self.violations = list(violations or [])


class StoreDamaged(MujunError):
    """The store cannot be trusted: serving it would pass damage on as if it were data."""

    code = "STORE_DAMAGED"


class StoreBusy(MujunError):
    """Another server owns the store; two servers on one SQLite file would reset each other's runs."""

    code = "STORE_BUSY"


class StoreUnavailable(MujunError):
    code = "STORE_UNAVAILABLE"
