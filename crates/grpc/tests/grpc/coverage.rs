//! Every operation of the service has an RPC: the operations are read from the service's own
//! source (every public method that takes a `&CallContext`), the RPCs from the compiled
//! descriptor set, and both are held to `gitapi_grpc::OPERATIONS`.

use std::collections::BTreeSet;

use prost::Message as _;

/// `Service/Method` of every RPC of the `gitapi.v1` descriptor set.
fn descriptor_rpcs() -> BTreeSet<String> {
    let fds = prost_types::FileDescriptorSet::decode(gitapi_grpc::FILE_DESCRIPTOR_SET)
        .expect("the embedded descriptor set decodes");
    fds.file
        .iter()
        .filter(|f| f.package() == "gitapi.v1")
        .flat_map(|f| f.service.iter())
        .flat_map(|s| {
            s.method
                .iter()
                .map(move |m| format!("{}/{}", s.name(), m.name()))
        })
        .collect()
}

#[test]
fn every_service_operation_has_an_rpc() {
    let ops = gitapi_testkit::operations::service_operations();
    assert!(ops.len() >= 60, "too few operations found: {ops:?}");
    let mapped: BTreeSet<String> = gitapi_grpc::OPERATIONS
        .iter()
        .map(|(op, _)| (*op).to_owned())
        .collect();
    let missing: Vec<_> = ops.difference(&mapped).collect();
    assert!(missing.is_empty(), "operations without an RPC: {missing:?}");
    let stale: Vec<_> = mapped.difference(&ops).collect();
    assert!(stale.is_empty(), "RPCs mapped to no operation: {stale:?}");
}

#[test]
fn every_mapped_rpc_exists_and_every_rpc_is_mapped() {
    let rpcs = descriptor_rpcs();
    let mapped: BTreeSet<String> = gitapi_grpc::OPERATIONS
        .iter()
        .flat_map(|(_, rpcs)| rpcs.iter().map(|r| (*r).to_owned()))
        .collect();
    let unknown: Vec<_> = mapped.difference(&rpcs).collect();
    assert!(
        unknown.is_empty(),
        "mapped RPCs not in the protos: {unknown:?}"
    );
    let orphan: Vec<_> = rpcs.difference(&mapped).collect();
    assert!(orphan.is_empty(), "RPCs that call no operation: {orphan:?}");
    let services: BTreeSet<&str> = rpcs.iter().filter_map(|r| r.split('/').next()).collect();
    let named: BTreeSet<&str> = gitapi_grpc::SERVICES
        .iter()
        .filter_map(|s| s.strip_prefix("gitapi.v1."))
        .collect();
    assert_eq!(services, named);
}
