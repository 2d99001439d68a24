"""Page tokens of the listings: opaque base64 of a row id or an enterprise id, checked on the way back."""

from __future__ import annotations

import base64
from typing import Any

from mujun.errors import RequestInvalid
from mujun.services.principal import Principal

__all__ = ["clamp_page_size", "decode_token", "encode_token", "id_page", "id_token"]


def clamp_page_size(requested: int) -> int:
    """The page size asked for, 100 when unset, within 1..1000."""
    return min(max(requested or 100, 1), 1000)


def encode_token(position: str) -> str:
    return base64.urlsafe_b64encode(position.encode()).decode()


def decode_token(token: str) -> str:
    if not token:
        return ""
    try:
        return base64.b64decode(token.encode(), altchars=b"-_", validate=True).decode()  # validate: no junk skipped
    except (ValueError, UnicodeDecodeError) as exc:
        raise RequestInvalid("page_token is not one this server issued",
                             [("page_token", "pass next_page_token back unchanged")]) from exc


def id_page(principal: Principal, region: str, size: int, token: str) -> tuple[list[str] | None, int, int]:
    """(regions to read, page size, id after which the page starts) for a listing paged by row id."""
    if region:
        principal.require_region(region)
    regions = [region] if region else principal.visible
    position = decode_token(token) or "0"
    if not (position.isascii() and position.isdigit() and len(position) <= 18):  # a row id
        raise RequestInvalid("page_token is not one this server issued",
                             [("page_token", "pass next_page_token back unchanged")])
    return regions, clamp_page_size(size), int(position)


def id_token(rows: list[Any], size: int) -> str:
    """The next page's token when ``rows`` (read with ``size + 1``) holds more than a page."""
    return encode_token(str(rows[size - 1].id)) if len(rows) > size else ""
