"""mujun.v1.RuleEngine servicer: convert, call :class:`~mujun.services.EvaluationService`, convert back."""

from __future__ import annotations

from collections.abc import Iterator

from mujun_wire.v1 import common_pb2, rule_engine_pb2, rule_engine_pb2_grpc
from mujun.server import convert
from mujun.server.bulk import wire_codec
from mujun.server.config import ServerConfig
from mujun.server.interceptors import CallContext
from mujun.server.upload import Uploads
from mujun.services import Services
from mujun.services.columns import result_columns
from mujun_wire.arrow import BATCH_ROWS, table_to_chunks
from mujun.errors import LimitExceeded, RequestInvalid

__all__ = ["RuleEngineServicer"]


class RuleEngineServicer(rule_engine_pb2_grpc.RuleEngineServicer):
    def __init__(self, services: Services, config: ServerConfig, uploads: Uploads):
        self._evaluation = services.evaluation
        self._frozen = services.frozen
        self._config = config
        self._uploads = uploads

    def _inputs(self, request):
        return convert.record_inputs(request, max_records=self._config.max_records_per_request,
                                     max_record_bytes=self._config.max_record_bytes)

    def Evaluate(self, request: rule_engine_pb2.EvaluateRequest, context: CallContext):
        limit = self._config.max_explain_records
        if request.explain and len(request.records) > limit:  # refused before any work: traces are large
            raise LimitExceeded(f"explain=true traces at most {limit:,} records per call, got {len(request.records):,}; "
                                "evaluate without explain and ask Explain for the records you need", location="explain")
        if request.HasField("cycle"):
            scores = self._against_cycle(request, context)
            response = rule_engine_pb2.EvaluateResponse(results=[convert.result_message(r) for r in scores.rows],
                                                        basis=_basis(scores.context))
            if request.explain:
                response.traces.extend(convert.to_struct(scores.explain(r["enterprise_id"])) for r in scores.rows)
            return response
        data, prior, history = self._inputs(request)
        result = self._evaluation.evaluate(context.principal, convert.pack_spec(request.pack), data, prior, history)
        response = rule_engine_pb2.EvaluateResponse(results=convert.result_rows(result.table))
        if result.table.height:
            row = result.table.row(0, named=True)
            response.basis.CopyFrom(convert.scoring_basis(pack_id=row["pack_id"], pack_version=row["pack_version"],
                                                          pack_hash=result.pack_hash))
        if request.explain:
            response.traces.extend(convert.to_struct(result.explain(r.enterprise_id)) for r in response.results)
        return response

    def _against_cycle(self, request, context: CallContext):
        """Scores of a request that names a frozen ``cycle`` (its pack, prior year and history are the cycle's)."""
        if request.HasField("pack") or request.prior or request.history:
            raise RequestInvalid("a request scored against a frozen cycle takes the cycle's pack, prior year and "
                                 "history", [("pack", "leave pack, prior and history empty when cycle is set")])
        convert.check_records(request.records, field="records", max_records=self._config.max_records_per_request,
                              max_record_bytes=self._config.max_record_bytes)
        return self._frozen.evaluate(context.principal, request.cycle.region, request.cycle.year,
                                     convert.record_dicts(request.records))

    def Explain(self, request: rule_engine_pb2.ExplainRequest, context: CallContext):
        if request.HasField("cycle"):
            scores = self._against_cycle(request, context)
            trace = scores.explain(request.enterprise_id)
            row = next(r for r in scores.rows if r["enterprise_id"] == request.enterprise_id)
            return rule_engine_pb2.ExplainResponse(result=convert.result_message(row), trace=convert.to_struct(trace),
                                                   basis=_basis(scores.context))
        data, prior, history = self._inputs(request)
        result = self._evaluation.evaluate(context.principal, convert.pack_spec(request.pack), data, prior, history)
        trace = result.explain(request.enterprise_id)
        row = result.table.filter(result.table["enterprise_id"] == request.enterprise_id).row(0, named=True)
        return rule_engine_pb2.ExplainResponse(result=convert.result_message(row), trace=convert.to_struct(trace))

    def EvaluateBatch(self, requests: Iterator[rule_engine_pb2.EvaluateBatchRequest], context: CallContext):
        with self._uploads.admitted(context.principal), self._uploads.working(context):
            header, result = self._evaluate_upload(requests, context)
            yield from self._uploads.respond(context, self._responses(header, result))

    def _evaluate_upload(self, requests, context: CallContext):
        upload = self._uploads.read(requests)
        header = upload.header
        wire_codec(header.compression)  # an unknown value is refused before the work, not after
        return header, self._evaluation.evaluate(context.principal, convert.pack_spec(header.pack), upload.data,
                                           upload.prior, upload.history, cycle=header.cycle or None,
                                           prefer=tuple(header.prefer))

    def _responses(self, header, result) -> Iterator[rule_engine_pb2.EvaluateBatchResponse]:
        chunk_bytes = min(header.response_chunk_bytes or 1 << 20, self._config.max_message_bytes - 1024)
        table = result_columns(result, header.columns)
        parts = (table.slice(offset, BATCH_ROWS).to_arrow() for offset in range(0, max(table.height, 1), BATCH_ROWS))
        for chunk in table_to_chunks(parts, chunk_bytes, wire_codec(header.compression)):
            yield rule_engine_pb2.EvaluateBatchResponse(result_chunk=chunk)
        counts = result.status_counts()
        yield rule_engine_pb2.EvaluateBatchResponse(summary=rule_engine_pb2.BatchSummary(
            rows=result.table.height, ok=counts.get("ok", 0), unrated=counts.get("unrated", 0),
            errors=counts.get("error", 0), pack_id=result.table["pack_id"][0] if result.table.height else "",
            pack_version=result.table["pack_version"][0] if result.table.height else "", pack_hash=result.pack_hash,
            tiers=[common_pb2.TierCount(group=str(g), tier=str(t), count=c) for g, t, c in result.summary().iter_rows()],
            notes=result.notes, warnings=result.warnings))


def _basis(context) -> rule_engine_pb2.ScoringBasis:
    return convert.scoring_basis(pack_id=context.pack_id, pack_version=context.pack_version,
                                 pack_hash=context.pack_hash, region=context.region or "", year=context.year or 0)
