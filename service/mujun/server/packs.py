"""mujun.v1.Packs servicer: convert, call :class:`~mujun.server.core.Core`, convert back."""

from __future__ import annotations

from mujun_wire.v1 import packs_pb2, packs_pb2_grpc
from mujun.server import convert
from mujun.server.core import Core
from mujun.server.interceptors import CallContext
from mujun.services.simulation import Candidate, SimulationService

__all__ = ["PacksServicer"]


class PacksServicer(packs_pb2_grpc.PacksServicer):
    def __init__(self, core: Core):
        self._core = core
        self._simulations = SimulationService(_CoreContext(core))

    def List(self, request: packs_pb2.ListPacksRequest, context: CallContext):
        versions, activations = self._core.list_packs(context.principal)
        return packs_pb2.ListPacksResponse(packs=[convert.pack_version(v) for v in versions],
                                           activations=[convert.activation(a, v) for a, v in activations])

    def Get(self, request: packs_pb2.GetPackRequest, context: CallContext):
        return convert.pack_version(self._core.get_pack(request.pack_id, request.version), with_text=True)

    def Validate(self, request: packs_pb2.ValidatePackRequest, context: CallContext):
        pack, issues = self._core.validate_pack(request.yaml)
        if pack is None:
            return packs_pb2.ValidatePackResponse(valid=False, issues=[
                packs_pb2.PackIssue(path=i.path, message=i.message) for i in issues])
        return packs_pb2.ValidatePackResponse(valid=True, pack_id=pack.id, version=pack.version, hash=pack.hash)

    def Publish(self, request: packs_pb2.PublishPackRequest, context: CallContext):
        return convert.pack_version(self._core.publish_pack(context.principal, request.yaml))

    def Activate(self, request: packs_pb2.ActivatePackRequest, context: CallContext):
        activation, version = self._core.activate_pack(
            context.principal, request.region, request.pack_id, request.version,
            convert.parse_date(request.effective_from, "effective_from"))
        return convert.activation(activation, version)

    def History(self, request: packs_pb2.PackHistoryRequest, context: CallContext):
        versions, activations = self._core.pack_history(context.principal, request.pack_id, request.region)
        return packs_pb2.PackHistoryResponse(versions=[convert.pack_version(v) for v in versions],
                                             activations=[convert.activation(a, v) for a, v in activations])

    def Simulate(self, request: packs_pb2.SimulateRequest, context: CallContext):
        answer = self._simulations.simulate(
            context.principal, request.region, request.year,
            Candidate(request.candidate_yaml, request.candidate_pack_id, request.candidate_version),
            dict(request.overrides), sweep=request.sweep, with_html=request.with_html)
        return packs_pb2.SimulateResponse(report_json=answer.report_json, html=answer.html)

    def Diff(self, request: packs_pb2.DiffPacksRequest, context: CallContext):
        found = self._simulations.diff(request.pack_id, request.version, request.other_pack_id, request.other_version)
        return packs_pb2.DiffPacksResponse(lines=[c.text for c in found.changes], identical=found.identical,
                                           diff_json=found.model_dump_json())


class _CoreContext:
    """The store and compiled packs of the core, as the services' context offers them."""

    def __init__(self, core: Core):
        self.db = core._db
        self.load = core._load
        self.compiled = core._compiled
