"""mujun.v1.Cycles servicer: convert, call :class:`~mujun.server.core.Core`, convert back."""

from __future__ import annotations

from collections.abc import Iterator

from mujun_wire.v1 import cycles_pb2, cycles_pb2_grpc
from mujun.server import convert
from mujun.server.bulk import wire_codec
from mujun.server.config import ServerConfig
from mujun.server.core import Core, CycleView, DecisionView
from mujun.server.interceptors import CallContext
from mujun.server.upload import Uploads
from mujun_wire.arrow import parts_to_chunks

__all__ = ["CyclesServicer"]


def _cycle(view: CycleView) -> cycles_pb2.Cycle:
    message = convert.cycle(view.cycle, view.version)
    message.notes.extend(view.notes)
    message.warnings.extend(view.warnings)
    return message


def _decision(view: DecisionView) -> cycles_pb2.Decision:
    message = convert.decision(view.decision, view.cycle, view.history)
    if view.trace is not None:
        message.trace.CopyFrom(convert.to_struct(view.trace))
    return message


class CyclesServicer(cycles_pb2_grpc.CyclesServicer):
    def __init__(self, core: Core, uploads: Uploads, config: ServerConfig):
        self._core = core
        self._uploads = uploads
        self._config = config

    def Run(self, requests: Iterator[cycles_pb2.RunCycleRequest], context: CallContext):
        with self._uploads.admitted(context.principal), self._uploads.working(context):
            upload = self._uploads.read(requests)
            header = upload.header
            return _cycle(self._core.run_cycle(
                context.principal, header.region, header.year, convert.parse_date(header.as_of, "header.as_of"),
                upload.data, upload.prior, upload.history, prefer=tuple(header.prefer)))

    def RunRecords(self, request: cycles_pb2.RunCycleRecordsRequest, context: CallContext):
        data, prior, history = convert.record_inputs(request, max_records=self._config.max_records_per_request,
                                                     max_record_bytes=self._config.max_record_bytes)
        return _cycle(self._core.run_cycle(context.principal, request.region, request.year,
                                           convert.parse_date(request.as_of, "as_of"), data, prior, history))

    def Get(self, request: cycles_pb2.GetCycleRequest, context: CallContext):
        return _cycle(self._core.get_cycle(context.principal, request.region, request.year))

    def List(self, request: cycles_pb2.ListCyclesRequest, context: CallContext):
        views, token = self._core.list_cycles(context.principal, request.region, request.year, request.page_size,
                                              request.page_token)
        return cycles_pb2.ListCyclesResponse(cycles=[_cycle(v) for v in views], next_page_token=token)

    def Freeze(self, request: cycles_pb2.CycleRef, context: CallContext):
        return _cycle(self._core.freeze_cycle(context.principal, request.region, request.year))

    def Publish(self, request: cycles_pb2.CycleRef, context: CallContext):
        return _cycle(self._core.publish_cycle(context.principal, request.region, request.year))

    def Appeal(self, request: cycles_pb2.AppealRequest, context: CallContext):
        return _decision(self._core.appeal(context.principal, request.region, request.year, request.enterprise_id,
                                           convert.correction_dict(request.correction), request.reason))

    def GetDecision(self, request: cycles_pb2.GetDecisionRequest, context: CallContext):
        return _decision(self._core.get_decision(context.principal, request.region, request.year,
                                                 request.enterprise_id, request.with_history,
                                                 request.with_trace))

    def ListDecisions(self, request: cycles_pb2.ListDecisionsRequest, context: CallContext):
        views, token = self._core.list_decisions(context.principal, request.region, request.year, tier=request.tier,
                                                 group=request.group, page_size=request.page_size,
                                                 page_token=request.page_token)
        return cycles_pb2.ListDecisionsResponse(decisions=[_decision(v) for v in views], next_page_token=token)

    def AuditLog(self, request: cycles_pb2.AuditLogRequest, context: CallContext):
        rows, token = self._core.audit_log(context.principal, request.region, request.page_size, request.page_token)
        return cycles_pb2.AuditLogResponse(entries=[convert.audit_entry(r) for r in rows], next_page_token=token)

    def ExportDecisions(self, request: cycles_pb2.ExportDecisionsRequest, context: CallContext):
        codec = wire_codec(request.compression, "compression")
        with self._uploads.working(context):
            export = self._core.export_decisions(context.principal, request.region, request.year, list(request.columns))
            yield from self._uploads.respond(context, self._export_responses(request, export, codec))

    def _export_responses(self, request, export, codec) -> Iterator[cycles_pb2.ExportDecisionsResponse]:
        chunk_bytes = min(request.response_chunk_bytes or 1 << 20, self._config.max_message_bytes - 1024)
        rows = 0

        def counted():
            nonlocal rows
            for page in export.pages:
                rows += page.num_rows
                yield page

        for chunk in parts_to_chunks(counted(), export.schema, chunk_bytes, codec):
            yield cycles_pb2.ExportDecisionsResponse(chunk=chunk)
        cycle, version = export.cycle, export.version
        yield cycles_pb2.ExportDecisionsResponse(summary=cycles_pb2.ExportSummary(
            rows=rows, cycle_state=cycle.state, run_number=cycle.run_number, results_hash=cycle.results_hash,
            pack_id=version.pack_id if version else "", pack_version=version.version if version else "",
            pack_hash=version.hash if version else ""))
