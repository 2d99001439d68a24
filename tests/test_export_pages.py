"""The export's read-ahead: pages come in order, errors reach the caller, and a caller who stops taking
pages stops the reader (which then closes its store session)."""

from __future__ import annotations

import threading

import pyarrow as pa
import pytest

from mujun.services.export import _read_ahead


def _pages(count: int, closed: threading.Event, fail_at: int | None = None):
    def produce():
        try:
            for number in range(count):
                if number == fail_at:
                    raise RuntimeError(f"page {number} is damaged")
                yield pa.table({"page": [number]})
        finally:
            closed.set()
    return produce


def test_pages_arrive_in_order_and_the_reader_closes():
    closed = threading.Event()
    assert [t.column("page")[0].as_py() for t in _read_ahead(_pages(7, closed))] == list(range(7))
    assert closed.wait(5)


def test_an_error_while_reading_reaches_the_caller():
    closed = threading.Event()
    with pytest.raises(RuntimeError, match="page 3 is damaged"):
        list(_read_ahead(_pages(7, closed, fail_at=3)))
    assert closed.wait(5)


def test_a_caller_who_stops_taking_pages_stops_the_reader():
    closed = threading.Event()
    pages = _read_ahead(_pages(10_000, closed))
    next(pages)
    pages.close()
    assert closed.wait(5)  # the reader left its loop and closed what it read from
