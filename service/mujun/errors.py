"""Errors of mujun, each with a stable code, a location and a message that says what to fix.

Record-level problems (a missing tax value, zero land, a duplicate id) are *not* exceptions: they
become rows with status ``error`` so a county's batch never stops.  Exceptions are for things that
make a whole run or call impossible::

    MujunError                      code
     ├── PackError                  PACK_INVALID         a pack that cannot be compiled (all problems at once)
     ├── PackNotFound               PACK_NOT_FOUND       no bundled pack / file with that id or path
     ├── InputError                 INPUT_INVALID        an input table that cannot be used at all
     ├── NotFound                   NOT_FOUND            an enterprise id, cycle or pack that does not exist
     ├── PreconditionFailed         PRECONDITION_FAILED  the object is in the wrong state (publish an unfrozen cycle)
     ├── AlreadyExists              ALREADY_EXISTS       an immutable object with that name and other content exists
     ├── Unauthenticated            UNAUTHENTICATED      no valid token where one is required
     ├── PermissionDenied           PERMISSION_DENIED    the token's role or regions do not allow the action
     ├── LimitExceeded              LIMIT_EXCEEDED       a record, batch or message over the configured limit
     ├── RequestInvalid             REQUEST_INVALID      a request breaking the API rules (with field violations)
     ├── StoreDamaged               STORE_DAMAGED        the store's file is no database, or fails its check
     ├── StoreBusy                  STORE_BUSY           another server holds the store's exclusive lease (SQLite)
     └── StoreUnavailable           STORE_UNAVAILABLE    the database cannot be reached or opened

The library raises the first four; the services and the store raise the others. The CLI maps these
to exit codes and the gRPC server to status codes (``mujun.server.interceptors``), each in one table.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MujunError", "PackError", "PackIssue", "PackNotFound", "InputError", "NotFound", "PreconditionFailed",
           "AlreadyExists", "Unauthenticated", "PermissionDenied", "LimitExceeded", "RequestInvalid", "StoreDamaged",
           "StoreBusy", "StoreUnavailable", "OutOfRange"]


@dataclass(frozen=True)
class PackIssue:
    """One problem in a pack: where (a YAML path such as ``items.tax.weight``, and the line and column
    of the pack text when known) and what to do."""

    path: str
    message: str
    line: int | None = None  # 1-based, as editors count
    column: int | None = None

    def __str__(self) -> str:
        at = f" (line {self.line}, column {self.column})" if self.line is not None else ""
        return f"{self.path or '<pack>'}{at}: {self.message}"


class MujunError(Exception):
    """Base of every mujun error; ``code`` is stable and safe to show to callers."""

    code = "MUJUN_ERROR"

    def __init__(self, message: str, *, location: str | None = None):
        super().__init__(message)
        self.message = message
        self.location = location

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message


class PackError(MujunError):
    """A pack is malformed; ``issues`` lists every problem found, each with its YAML path."""

    code = "PACK_INVALID"

    def __init__(self, issues: list[PackIssue] | PackIssue, *, source: str | None = None):
        self.issues = [issues] if isinstance(issues, PackIssue) else list(issues)
        self.source = source
        head = f"pack {source} is invalid" if source else "pack is invalid"
        body = "\n".join(f"  - {issue}" for issue in self.issues)
        super().__init__(f"{head} ({len(self.issues)} problem(s)):\n{body}", location=None)


class PackNotFound(MujunError):
    code = "PACK_NOT_FOUND"


class InputError(MujunError):
    code = "INPUT_INVALID"


class NotFound(MujunError):
    code = "NOT_FOUND"


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


class OutOfRange(MujunError):
    """A position older than what is retained (a stream cursor before the oldest kept change)."""

    code = "OUT_OF_RANGE"

    def __init__(self, message: str, *, oldest_cursor: int, location: str | None = None):
        super().__init__(message, location=location)
        self.oldest_cursor = oldest_cursor
