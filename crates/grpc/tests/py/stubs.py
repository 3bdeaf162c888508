"""Shared by the test scripts: import the stubs grpcio-tools generated from proto/ into the
directory named by GITAPI_STUBS, and open a channel to GITAPI_ADDR."""
import os
import sys

sys.path.insert(0, os.environ["GITAPI_STUBS"])

import grpc  # noqa: E402

from gitapi.v1 import (  # noqa: E402,F401
    admin_pb2, admin_pb2_grpc, commits_pb2, commits_pb2_grpc, diff_pb2, diff_pb2_grpc,
    errors_pb2, history_pb2, history_pb2_grpc, merge_pb2, merge_pb2_grpc, refs_pb2,
    refs_pb2_grpc, repositories_pb2, repositories_pb2_grpc, trees_blobs_pb2,
    trees_blobs_pb2_grpc, transfer_pb2, transfer_pb2_grpc, types_pb2, workspaces_pb2,
    workspaces_pb2_grpc,
)

MODULES = [admin_pb2, commits_pb2, diff_pb2, history_pb2, merge_pb2, refs_pb2,
           repositories_pb2, transfer_pb2, trees_blobs_pb2, workspaces_pb2]


def channel():
    return grpc.insecure_channel(os.environ["GITAPI_ADDR"])


def all_methods():
    """Every `Service/Method` the generated descriptors declare."""
    out = set()
    for m in MODULES:
        for s in m.DESCRIPTOR.services_by_name.values():
            for meth in s.methods:
                out.add("%s/%s" % (s.name, meth.name))
    return out
