//! Every operation of the service has a GraphQL field or an explicit reason why not: the
//! operations are read from the service's own source (every public method that takes a
//! `&CallContext`), the fields from the schema by introspection, and both are held to
//! `gitapi_graphql::OPERATIONS` and `NOT_IN_GRAPHQL`.

use std::collections::BTreeSet;

use async_graphql::Schema;
use serde_json::Value;

use gitapi_graphql::{Mutation, NOT_IN_GRAPHQL, OPERATIONS, Query, Subscription};

/// `Type.field` of every field of every object type of the schema, by introspection.
async fn schema_fields() -> BTreeSet<String> {
    let schema = Schema::build(Query, Mutation, Subscription).finish();
    let res = schema
        .execute("{ __schema { types { name kind fields { name } } } }")
        .await;
    assert!(res.errors.is_empty(), "{:?}", res.errors);
    let data: Value = res.data.into_json().expect("JSON");
    let mut out = BTreeSet::new();
    for t in data["__schema"]["types"].as_array().expect("types") {
        let name = t["name"].as_str().expect("a name");
        if name.starts_with("__") || t["kind"] != "OBJECT" {
            continue;
        }
        for f in t["fields"].as_array().into_iter().flatten() {
            out.insert(format!("{name}.{}", f["name"].as_str().expect("a field")));
        }
    }
    out
}

#[test]
fn every_service_operation_has_a_field_or_a_reason() {
    let ops = gitapi_testkit::operations::service_operations();
    assert!(ops.len() >= 60, "too few operations found: {ops:?}");
    let mapped: BTreeSet<String> = OPERATIONS.iter().map(|(op, _)| (*op).to_owned()).collect();
    let excluded: BTreeSet<String> = NOT_IN_GRAPHQL
        .iter()
        .map(|(op, _)| (*op).to_owned())
        .collect();
    assert!(
        mapped.is_disjoint(&excluded),
        "both mapped and excluded: {:?}",
        mapped.intersection(&excluded).collect::<Vec<_>>()
    );
    for (op, why) in NOT_IN_GRAPHQL {
        assert!(why.len() > 20, "{op}: say why it is not in GraphQL");
    }
    let covered: BTreeSet<String> = mapped.union(&excluded).cloned().collect();
    let missing: Vec<_> = ops.difference(&covered).collect();
    assert!(
        missing.is_empty(),
        "operations without a field: {missing:?}"
    );
    let stale: Vec<_> = covered.difference(&ops).collect();
    assert!(
        stale.is_empty(),
        "mapped operations the service lacks: {stale:?}"
    );
}

#[tokio::test]
async fn every_mapped_field_is_in_the_schema() {
    let fields = schema_fields().await;
    let unknown: Vec<&str> = OPERATIONS
        .iter()
        .flat_map(|(_, fs)| fs.iter().copied())
        .filter(|f| !fields.contains(*f))
        .collect();
    assert!(
        unknown.is_empty(),
        "mapped fields not in the schema: {unknown:?}"
    );
    // Every mutation writes through some operation: none is left unmapped.
    let mapped: BTreeSet<&str> = OPERATIONS
        .iter()
        .flat_map(|(_, fs)| fs.iter().copied())
        .collect();
    let orphan: Vec<&String> = fields
        .iter()
        .filter(|f| f.starts_with("Mutation.") && !mapped.contains(f.as_str()))
        .collect();
    assert!(
        orphan.is_empty(),
        "mutations that call no operation: {orphan:?}"
    );
}

#[test]
fn the_sdl_names_the_core_scalars_and_types() {
    let sdl = Schema::build(Query, Mutation, Subscription).finish().sdl();
    for name in [
        "scalar Oid",
        "scalar RepoName",
        "scalar RefName",
        "scalar Rev",
        "type Signature",
        "type FileDiff",
        "enum FileMode",
        "input PersonInput",
        "input RefUpdateInput",
    ] {
        assert!(sdl.contains(name), "{name} missing from the SDL");
    }
}
