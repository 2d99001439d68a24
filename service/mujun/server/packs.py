"""mujun.v1.Packs servicer: convert, call :class:`~mujun.services.PackService`, convert back."""

from __future__ import annotations

from mujun_wire.v1 import packs_pb2, packs_pb2_grpc
from mujun.server import convert
from mujun.server.interceptors import CallContext
from mujun.services import Services

__all__ = ["PacksServicer"]


class PacksServicer(packs_pb2_grpc.PacksServicer):
    def __init__(self, services: Services):
        self._packs = services.packs

    def List(self, request: packs_pb2.ListPacksRequest, context: CallContext):
        listing = self._packs.listing(context.principal)
        return packs_pb2.ListPacksResponse(packs=[convert.pack_version(v) for v in listing.versions],
                                           activations=[convert.activation(a) for a in listing.activations])

    def Get(self, request: packs_pb2.GetPackRequest, context: CallContext):
        return convert.pack_version(self._packs.get(request.pack_id, request.version), with_text=True)

    def Validate(self, request: packs_pb2.ValidatePackRequest, context: CallContext):
        checked = self._packs.validate(request.yaml)
        if not checked.valid:
            return packs_pb2.ValidatePackResponse(valid=False, issues=[
                packs_pb2.PackIssue(path=i.path, message=i.message) for i in checked.issues])
        return packs_pb2.ValidatePackResponse(valid=True, pack_id=checked.pack_id, version=checked.version,
                                              hash=checked.hash)

    def Publish(self, request: packs_pb2.PublishPackRequest, context: CallContext):
        return convert.pack_version(self._packs.publish(context.principal, request.yaml))

    def Activate(self, request: packs_pb2.ActivatePackRequest, context: CallContext):
        return convert.activation(self._packs.activate(
            context.principal, request.region, request.pack_id, request.version,
            convert.parse_date(request.effective_from, "effective_from")))

    def History(self, request: packs_pb2.PackHistoryRequest, context: CallContext):
        history = self._packs.history(context.principal, request.pack_id, request.region)
        return packs_pb2.PackHistoryResponse(versions=[convert.pack_version(v) for v in history.versions],
                                             activations=[convert.activation(a) for a in history.activations])
