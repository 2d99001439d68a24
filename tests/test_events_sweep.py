"""The events sweep re-derives every firm with events; one that fails is logged and the others still go."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging

from mujun.services import events as events_service
from mujun.services.events import EventService


class _Db:
    @contextlib.contextmanager
    def read(self):
        yield None


def test_a_firm_that_cannot_be_re_derived_does_not_hold_back_the_others(monkeypatch, caplog):
    firms = [("R", 2024, "E1"), ("R", 2024, "BROKEN"), ("R", 2024, "E3")]
    monkeypatch.setattr(events_service.store, "firms_with_events", lambda session: firms)
    swept: list[str] = []

    def sweep_firm(self, principal, region, year, enterprise, day):
        if enterprise == "BROKEN":
            raise ValueError("a stored decision this pack cannot read")
        swept.append(enterprise)
        return 1

    monkeypatch.setattr(EventService, "_sweep_firm", sweep_firm)
    service = EventService.__new__(EventService)
    notified: list[bool] = []
    service._db, service.today = _Db(), lambda: dt.date(2025, 3, 1)
    service._signal = type("Signal", (), {"notify": lambda self: notified.append(True)})()
    with caplog.at_level(logging.ERROR, logger="mujun.services.events"):
        assert service.sweep(principal=None) == 2
    assert swept == ["E1", "E3"] and notified == [True]
    assert "BROKEN" in caplog.text and "not re-derived" in caplog.text
