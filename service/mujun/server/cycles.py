"""mujun.v1.Cycles servicer: convert, call the cycle, decision and audit services, convert back."""

from __future__ import annotations

from collections.abc import Iterator

from mujun_wire.v1 import cycles_pb2, cycles_pb2_grpc
from mujun.server import convert
from mujun.server.bulk import export_responses, wire_codec
from mujun.server.config import ServerConfig
from mujun.server.interceptors import CallContext
from mujun.server.upload import Uploads
from mujun.services import Services

__all__ = ["CyclesServicer"]


class CyclesServicer(cycles_pb2_grpc.CyclesServicer):
    def __init__(self, services: Services, uploads: Uploads, config: ServerConfig):
        self._cycles = services.cycles
        self._decisions = services.decisions
        self._audit = services.audit
        self._uploads = uploads
        self._config = config

    def Run(self, requests: Iterator[cycles_pb2.RunCycleRequest], context: CallContext):
        with self._uploads.admitted(context.principal), self._uploads.working(context):
            upload = self._uploads.read(requests)
            header = upload.header
            return convert.cycle(self._cycles.run(
                context.principal, header.region, header.year, convert.parse_date(header.as_of, "header.as_of"),
                upload.data, upload.prior, upload.history, prefer=tuple(header.prefer)))

    def RunRecords(self, request: cycles_pb2.RunCycleRecordsRequest, context: CallContext):
        data, prior, history = convert.record_inputs(request, max_records=self._config.max_records_per_request,
                                                     max_record_bytes=self._config.max_record_bytes)
        return convert.cycle(self._cycles.run(context.principal, request.region, request.year,
                                              convert.parse_date(request.as_of, "as_of"), data, prior, history))

    def Get(self, request: cycles_pb2.GetCycleRequest, context: CallContext):
        return convert.cycle(self._cycles.get(context.principal, request.region, request.year))

    def List(self, request: cycles_pb2.ListCyclesRequest, context: CallContext):
        page = self._cycles.listing(context.principal, request.region, request.year, request.page_size,
                                    request.page_token)
        return cycles_pb2.ListCyclesResponse(cycles=[convert.cycle(c) for c in page.items],
                                             next_page_token=page.next_page_token)

    def Freeze(self, request: cycles_pb2.CycleRef, context: CallContext):
        return convert.cycle(self._cycles.freeze(context.principal, request.region, request.year))

    def Publish(self, request: cycles_pb2.CycleRef, context: CallContext):
        return convert.cycle(self._cycles.publish(context.principal, request.region, request.year))

    def Appeal(self, request: cycles_pb2.AppealRequest, context: CallContext):
        return convert.decision(self._decisions.appeal(context.principal, request.region, request.year,
                                                       request.enterprise_id,
                                                       convert.correction_dict(request.correction), request.reason))

    def GetDecision(self, request: cycles_pb2.GetDecisionRequest, context: CallContext):
        return convert.decision(self._decisions.get(context.principal, request.region, request.year,
                                                    request.enterprise_id, request.with_history, request.with_trace))

    def ListDecisions(self, request: cycles_pb2.ListDecisionsRequest, context: CallContext):
        page = self._decisions.listing(context.principal, request.region, request.year, tier=request.tier,
                                       group=request.group, page_size=request.page_size,
                                       page_token=request.page_token)
        return cycles_pb2.ListDecisionsResponse(decisions=[convert.decision(d) for d in page.items],
                                                next_page_token=page.next_page_token)

    def AuditLog(self, request: cycles_pb2.AuditLogRequest, context: CallContext):
        page = self._audit.log(context.principal, request.region, request.page_size, request.page_token)
        return cycles_pb2.AuditLogResponse(entries=[convert.audit_entry(e) for e in page.items],
                                           next_page_token=page.next_page_token)

    def ExportDecisions(self, request: cycles_pb2.ExportDecisionsRequest, context: CallContext):
        codec = wire_codec(request.compression, "compression")
        chunk_bytes = min(request.response_chunk_bytes or 1 << 20, self._config.max_message_bytes - 1024)
        with self._uploads.working(context):
            export = self._decisions.export(context.principal, request.region, request.year, list(request.columns))
            yield from self._uploads.respond(context, export_responses(export, chunk_bytes, codec))
