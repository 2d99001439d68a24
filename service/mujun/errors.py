"""Errors of mujun, each with a stable code, a location and a message that says what to fix.

Record-level problems (a missing tax value, zero land, a duplicate id) are *not* exceptions: they
become rows with status ``error`` so a county's batch never stops.  Exceptions are for things that
make a whole run impossible::

    MujunError                      code
     ├── PackError                  PACK_INVALID      a pack that cannot be compiled (all problems at once)
     │    └── PackNotFound          PACK_NOT_FOUND    no bundled pack / file with that id or path
     ├── InputError                 INPUT_INVALID     an input table that cannot be used at all
     └── NotFound                   NOT_FOUND         an enterprise id absent from a result

The CLI maps these to exit codes and the gRPC server to status codes, each in one table.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MujunError", "PackError", "PackIssue", "PackNotFound", "InputError", "NotFound"]


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
