"""Lists the services of gitapi's gRPC door and describes a method by server reflection alone
(grpcio-reflection's client: no generated stubs), over v1 and v1alpha."""
import os
import sys

import grpc
from google.protobuf.descriptor_pool import DescriptorPool
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

ch = grpc.insecure_channel(os.environ["GITAPI_ADDR"])

# The v1alpha client of grpcio-reflection, through a descriptor database.
db = ProtoReflectionDescriptorDatabase(ch)
services = sorted(db.get_services())
print("services:", services)
for want in ["gitapi.v1.RefService", "gitapi.v1.HistoryService", "grpc.health.v1.Health"]:
    if want not in services:
        sys.exit("not listed: " + want)
pool = DescriptorPool(db)
blame = pool.FindMethodByName("gitapi.v1.HistoryService.Blame")
print("Blame:", blame.input_type.full_name, "->", blame.output_type.full_name,
      "server streaming" if blame.server_streaming else "unary")
if blame.input_type.full_name != "gitapi.v1.BlameRequest" or not blame.server_streaming:
    sys.exit("Blame is not described as a server-streaming call of BlameRequest")
fields = [f.name for f in blame.input_type.fields]
if fields[:3] != ["repository", "revision", "path"]:
    sys.exit("BlameRequest fields: %s" % fields)
upload = pool.FindMethodByName("gitapi.v1.CommitService.UploadCommitFiles")
if not upload.client_streaming:
    sys.exit("UploadCommitFiles is not client streaming")

# The v1 service, asked directly with the same messages (v1 and v1alpha share their shape).
call = ch.stream_stream(
    "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
    request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
    response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
)
answers = list(call(iter([reflection_pb2.ServerReflectionRequest(list_services="")]),
                    timeout=30))
v1 = sorted(s.name for s in answers[0].list_services_response.service)
# Each version lists itself: compare the rest.
mine = [s for s in v1 if not s.startswith("grpc.reflection.")]
if mine != [s for s in services if not s.startswith("grpc.reflection.")]:
    sys.exit("v1 lists %s, v1alpha %s" % (v1, services))
print("reflection: ok (%d services, v1 and v1alpha)" % len(services))
