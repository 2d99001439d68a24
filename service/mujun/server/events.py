"""mujun.v1.Events servicer: convert, call the event service, convert back."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from mujun_wire.v1 import events_pb2, events_pb2_grpc
from mujun.server import convert
from mujun.server.interceptors import CallContext
from mujun.services import Services
from mujun.services.events import Change, Outcome, StoredEvent

__all__ = ["EventsServicer", "CURSOR_HEADER"]

#: Response header of WatchDecisions: the cursor the stream starts after (the client reads it).
CURSOR_HEADER = "mujun-cursor"


def _rfc3339(at: dt.datetime) -> str:
    """SQLite hands back naive datetimes; the store writes UTC."""
    return (at if at.tzinfo else at.replace(tzinfo=dt.timezone.utc)).isoformat()


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _outcome(outcome: Outcome) -> events_pb2.EventOutcome:
    return events_pb2.EventOutcome(
        index=outcome.index, event_id=outcome.event_id, status=outcome.status,
        code="INVALID_ARGUMENT" if outcome.status == "rejected" else "",
        violations=[events_pb2.FieldViolation(field=f"events[{outcome.index}].{v.field}", description=v.description)
                    for v in outcome.violations],
        version=outcome.version, tier=outcome.tier or "", cursor=outcome.cursor)


def _stored(event: StoredEvent) -> events_pb2.StoredEvent:
    return events_pb2.StoredEvent(source=event.source, event_id=event.event_id, region=event.region, year=event.year,
                                  enterprise_id=event.enterprise_id, type=event.type, date=event.date.isoformat(),
                                  fields={k: _text(v) for k, v in event.fields.items()},
                                  received_at=_rfc3339(event.received_at),
                                  result_json=json.dumps(event.result, ensure_ascii=False))


def change_message(change: Change) -> events_pb2.DecisionChange:
    return events_pb2.DecisionChange(
        cursor=change.cursor, region=change.region, year=change.year, enterprise_id=change.enterprise_id,
        version=change.version, tier_before=change.tier_before or "", tier_after=change.tier_after or "",
        measures_changed=[events_pb2.MeasureChange(name=name, before=json.dumps(pair[0]), after=json.dumps(pair[1]))
                          for name, pair in change.measures_changed.items()],
        cause_json=json.dumps(change.cause, ensure_ascii=False), at=_rfc3339(change.at))


class EventsServicer(events_pb2_grpc.EventsServicer):
    def __init__(self, services: Services, *, poll_seconds: float = 1.0):
        self._events = services.events
        self._poll = poll_seconds

    def Post(self, request: events_pb2.PostEventsRequest, context: CallContext):
        rows = [{"event_id": e.event_id, "enterprise_id": e.enterprise_id, "type": e.type, "date": e.date,
                 "fields": dict(e.fields)} for e in request.events]
        outcomes = self._events.post(context.principal, request.region, request.year, request.source, rows)
        return events_pb2.PostEventsResponse(outcomes=[_outcome(o) for o in outcomes],
                                             applied=sum(o.status == "applied" for o in outcomes),
                                             rejected=sum(o.status == "rejected" for o in outcomes))

    def List(self, request: events_pb2.ListEventsRequest, context: CallContext):
        page = self._events.listing(context.principal, region=request.region, year=request.year,
                                    enterprise_id=request.enterprise_id, type_=request.type,
                                    date_from=convert.parse_date(request.date_from, "date_from"),
                                    date_to=convert.parse_date(request.date_to, "date_to"),
                                    page_size=request.page_size, page_token=request.page_token)
        return events_pb2.ListEventsResponse(events=[_stored(e) for e in page.items],
                                             next_page_token=page.next_page_token)

    def WatchDecisions(self, request: events_pb2.WatchDecisionsRequest, context: CallContext):
        start = self._events.watch_start(context.principal, request.region,
                                         request.from_cursor if request.HasField("from_cursor") else None)
        context.send_initial_metadata(((CURSOR_HEADER, str(start)),))  # where a client resumes if cut off now
        for change in self._events.watch(context.principal, region=request.region, after=start,
                                         tiers=list(request.tiers), measures=list(request.measures),
                                         active=context.is_active, poll_seconds=self._poll):
            yield change_message(change)
