"""gRPC-Web against gitapi with sonora's client (a gRPC-Web implementation for Python), with the
messages grpcio-tools generated: a unary call, an error with its code, and a server stream.
sonora 0.2.3 predates the `_registered_method` argument newer generated stub classes pass, so the
methods are bound on the channel directly, as those classes do.
Run by crates/grpc/tests/grpc/web.rs: GITAPI_ADDR and GITAPI_STUBS set; argv[1] is the commit
id `demo`'s main must point at."""
import os
import sys

import grpc
import sonora.client

from stubs import refs_pb2, trees_blobs_pb2

want = sys.argv[1]
with sonora.client.insecure_web_channel("http://%s" % os.environ["GITAPI_ADDR"]) as ch:
    get_ref = ch.unary_unary(
        "/gitapi.v1.RefService/GetRef",
        request_serializer=refs_pb2.GetRefRequest.SerializeToString,
        response_deserializer=refs_pb2.GetRefResponse.FromString)
    got = get_ref(refs_pb2.GetRefRequest(repository="demo", name="refs/heads/main"))
    assert got.ref.target == want, got
    try:
        get_ref(refs_pb2.GetRefRequest(repository="demo", name="refs/heads/nope"))
        raise SystemExit("a missing ref was answered")
    except grpc.RpcError as e:
        assert e.code() == grpc.StatusCode.NOT_FOUND, e.code()
    stream_tree = ch.unary_stream(
        "/gitapi.v1.TreeBlobService/StreamTree",
        request_serializer=trees_blobs_pb2.StreamTreeRequest.SerializeToString,
        response_deserializer=trees_blobs_pb2.StreamTreeResponse.FromString)
    paths = [e.path for m in stream_tree(trees_blobs_pb2.StreamTreeRequest(
        repository="demo", revision="main", recursive=True)) for e in m.entries]
    assert paths == ["README.md", "src/lib.rs"], paths
print("grpc-web ok")
