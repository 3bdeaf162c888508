//! The OpenAPI document: 3.1, every route with its parameters, bodies and error answers;
//! valid by `openapi-spec-validator`; error answers generated from the error table.

use std::path::PathBuf;
use std::process::Command;

use gitapi_core::ErrorKind;
use serde_json::Value;

use crate::common::TestApp;

#[tokio::test]
async fn document_covers_routes_parameters_bodies_and_errors() {
    let t = TestApp::new();
    let doc = t.get("/openapi.json").await.expect(200).json();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().expect("paths");
    for required in [
        "/v1/repos/{repo}/files",
        "/v1/repos/{repo}/stage",
        "/v1/repos/{repo}/stash",
        "/v1/repos/{repo}/commits/{sha}/revert",
        "/v1/repos/{repo}/diff",
        "/v1/repos/{repo}/refs/{ref}",
        "/v1/repos/{repo}/workspaces/{workspace}/files/{path}",
    ] {
        assert!(paths.contains_key(required), "{required} is missing");
    }
    assert!(
        paths.keys().all(|p| !p.contains('*')),
        "wildcards left in paths"
    );
    let mut operations = 0;
    for (path, item) in paths {
        for (method, op) in item.as_object().into_iter().flatten() {
            operations += 1;
            let responses = op["responses"].as_object().expect("responses");
            if path.starts_with("/v1/") {
                for code in [
                    "400", "401", "403", "404", "409", "413", "422", "500", "504",
                ] {
                    assert!(responses.contains_key(code), "{method} {path} lacks {code}");
                }
                // Every path parameter is declared.
                let declared: Vec<&str> = op["parameters"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|p| p["in"] == "path")
                    .filter_map(|p| p["name"].as_str())
                    .collect();
                for seg in path.split('/').filter(|s| s.starts_with('{')) {
                    let name = seg.trim_matches(|c| c == '{' || c == '}');
                    assert!(
                        declared.contains(&name),
                        "{method} {path} does not declare {name}"
                    );
                }
            }
            if ["post", "put", "patch"].contains(&method.as_str())
                && !path.ends_with("/gc")
                && !path.ends_with("/sync")
            {
                assert!(
                    op["requestBody"].is_object(),
                    "{method} {path} has no request body"
                );
            }
        }
    }
    assert!(operations >= 55, "only {operations} operations");
    // Error bodies and the core shapes are real schemas.
    let schemas = doc["components"]["schemas"].as_object().expect("schemas");
    for name in [
        "ErrorBody",
        "Commit",
        "Ref",
        "Diff",
        "TreeEntry",
        "RepoInfo",
        "FileAction",
    ] {
        assert!(schemas.contains_key(name), "schema {name} is missing");
    }
    // The schema of a commit lists exactly the fields the server sends.
    let (c1, _) = t.seed("doc").await;
    let commit = t
        .get(&format!("/v1/repos/doc/commits/{c1}"))
        .await
        .expect(200)
        .json();
    let props: Vec<&String> = schemas["Commit"]["properties"]
        .as_object()
        .expect("props")
        .keys()
        .collect();
    let sent: Vec<&String> = commit.as_object().expect("object").keys().collect();
    let mut props_sorted = props.clone();
    props_sorted.sort();
    let mut sent_sorted = sent.clone();
    sent_sorted.sort();
    assert_eq!(props_sorted, sent_sorted);
    let _: &Value = &doc;
}

/// Every operation documents one error answer per HTTP status of the error table, each
/// naming the codes that answer with it, and the error body's `code` is the table's codes.
#[tokio::test]
async fn error_answers_come_from_the_error_table() {
    let t = TestApp::new();
    let doc = t.get("/openapi.json").await.expect(200).json();
    let codes: Vec<&str> = doc["components"]["schemas"]["ErrorKind"]["enum"]
        .as_array()
        .expect("ErrorKind is an enum")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let table: Vec<&str> = ErrorKind::ALL.iter().map(|k| k.code()).collect();
    assert_eq!(codes, table);
    let op = &doc["paths"]["/v1/repos/{repo}"]["get"]["responses"];
    for kind in ErrorKind::ALL {
        let answer = &op[kind.http_status().to_string()];
        let why = answer["description"].as_str().expect("a description");
        assert!(
            why.contains(&format!("`{}`", kind.code())),
            "{} does not name {}: {why}",
            kind.http_status(),
            kind.code()
        );
        assert_eq!(
            answer["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/ErrorBody"
        );
    }
}

/// The validator: `GITAPI_OPENAPI_VALIDATOR`, or what `scripts/setup-tools.sh` installs.
fn validator() -> PathBuf {
    if let Some(path) = std::env::var_os("GITAPI_OPENAPI_VALIDATOR") {
        return PathBuf::from(path);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.tools/venv/bin/openapi-spec-validator")
}

/// The served document passes `openapi-spec-validator` (OpenAPI 3.1 and JSON Schema rules
/// that the structural checks above do not cover, such as a description on every response).
#[tokio::test]
async fn document_passes_openapi_spec_validator() {
    let validator = validator();
    assert!(
        validator.is_file(),
        "openapi-spec-validator not found at {}: run scripts/setup-tools.sh (or set \
         GITAPI_OPENAPI_VALIDATOR to its path)",
        validator.display()
    );
    let t = TestApp::new();
    let doc = t.get("/openapi.json").await.expect(200).text();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, doc).expect("the document is written");
    let out = Command::new(&validator)
        .arg(&file)
        .output()
        .expect("openapi-spec-validator runs");
    assert!(
        out.status.success(),
        "openapi-spec-validator refused the document:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
