//! Commits reached by id are batched: a page of 100 commits with their parents costs one
//! `get_commits`, not one read per commit. The engine switch counts every request it serves
//! (one lease per service operation), so the count before and after the query tells how many
//! engine calls it made.

use serde_json::{Value, json};

use gitapi_testkit::bigrepo::{self, Shape};

use crate::common::{Gql, TestServer};

async fn served(gql: &Gql) -> u64 {
    let d = gql
        .data("{ backend { served { engine count } } }", json!({}))
        .await;
    d["backend"]["served"]
        .as_array()
        .expect("counts")
        .iter()
        .map(|c| c["count"].as_u64().expect("a count"))
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_commits_with_their_parents_cost_one_batch_read() {
    let server = TestServer::start().await;
    bigrepo::build(
        &server.data().join("repos").join("big.git"),
        Shape {
            files: 10,
            dirs: 2,
            commits: 120,
        },
    );
    let gql = server.gql();
    // The same page without and with its commits' parents: the difference is what the
    // parents cost.
    let plain = "{ repository(name: \"big\") { history(first: 100) { edges { node {
                   oid parentOids } } } } }";
    let query = "{ repository(name: \"big\") { history(first: 100) { edges { node {
                   oid parentOids parents { oid message parents: parentOids } } } } } }";
    let before = served(&gql).await;
    gql.data(plain, json!({})).await;
    let base = served(&gql).await - before;
    let before = served(&gql).await;
    let d = gql.data(query, json!({})).await;
    let with_parents = served(&gql).await - before;
    let edges = d["repository"]["history"]["edges"]
        .as_array()
        .expect("edges");
    assert_eq!(edges.len(), 100);
    for e in edges {
        let node = &e["node"];
        let parents: Vec<&Value> = node["parents"]
            .as_array()
            .expect("parents")
            .iter()
            .collect();
        let ids: Vec<&Value> = parents.iter().map(|p| &p["oid"]).collect();
        let want: Vec<&Value> = node["parentOids"].as_array().expect("ids").iter().collect();
        assert_eq!(ids, want, "parents in order, as objects");
    }
    // One get_commits for every parent of the page (a few batches at most, should a loaded
    // machine stretch the resolving pass past the loader's window); one read per commit
    // would be 100 more.
    let extra = with_parents - base;
    assert!(
        (1..=3).contains(&extra),
        "engine calls: {base} for the page, {with_parents} with its parents"
    );
    server.stop().await;
}
