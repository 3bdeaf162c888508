"""A lost compare-and-swap, seen by a generated client: the status code, then the
google.rpc.Status details decoded with grpcio-status, an ErrorInfo with the stable code and a
gitapi.v1.RefMismatch with the expected and actual oids. Prints them as JSON lines.
Argv: repository, branch, the expected oid to send (a stale one)."""
import json
import sys

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from stubs import channel, errors_pb2, refs_pb2, refs_pb2_grpc

repo, branch, stale, new = sys.argv[1:5]
stub = refs_pb2_grpc.RefServiceStub(channel())
try:
    stub.UpdateRefs(refs_pb2.UpdateRefsRequest(repository=repo, updates=[
        refs_pb2.RefUpdate(name=branch, new=new, expected_old=stale)]), timeout=30)
    sys.exit("the update with a stale expected oid succeeded")
except grpc.RpcError as e:
    status = rpc_status.from_call(e)
    out = {"code": e.code().name, "message": e.details()}
    for d in status.details:
        if d.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            d.Unpack(info)
            out["reason"], out["domain"] = info.reason, info.domain
            out["stable_code"] = info.metadata["code"]
        elif d.Is(errors_pb2.RefMismatch.DESCRIPTOR):
            m = errors_pb2.RefMismatch()
            d.Unpack(m)
            out["refname"], out["expected"], out["actual"] = m.refname, m.expected, m.actual
    print(json.dumps(out))
