"""Finding the admin token of a server on this machine, for tools that run beside it.

A new store's first server writes its admin token to ``<data-dir>/admin.token`` with mode 0600 (the
server's ``mujun.server.auth.ADMIN_TOKEN_FILE``). Reading that file is as much access as the operating
system gives the caller to the store itself, so nothing is granted that was not already held.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["find_token", "TOKEN_FILE"]

TOKEN_FILE = "admin.token"


def find_token(data_dir: str | os.PathLike[str] | None = None) -> str | None:
    """``MUJUN_TOKEN``, else the token in ``data_dir`` (default ``MUJUN_DATA_DIR`` or ``data``), else None."""
    given = os.environ.get("MUJUN_TOKEN", "").strip()
    if given:
        return given
    folder = Path(data_dir if data_dir is not None else os.environ.get("MUJUN_DATA_DIR") or "data").expanduser()
    try:
        return (folder / TOKEN_FILE).read_text(encoding="utf-8").strip() or None
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        return None
