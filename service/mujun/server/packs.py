"""mujun.v1.Packs servicer: convert, call :class:`~mujun.server.core.Core`, convert back."""

from __future__ import annotations

from mujun_wire.v1 import packs_pb2, packs_pb2_grpc
from mujun.server import convert
from mujun.server.core import Core
from mujun.server.interceptors import CallContext

__all__ = ["PacksServicer"]


class PacksServicer(packs_pb2_grpc.PacksServicer):
    def __init__(self, core: Core):
        self._core = core

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
