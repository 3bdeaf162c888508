"""Schemathesis in its GraphQL mode against /graphql: every query and mutation field, with
arguments generated from the introspected schema, must never answer a server error.

Schemathesis's own `not_a_server_error` check calls any GraphQL error with a `path` a server
error, which would count every refused input (an unknown repository, a lost compare-and-swap)
as a failure. This driver keeps schemathesis's generation and replaces that one check with
what the contract says: no HTTP 5xx, and no GraphQL error whose `extensions.code` is one the
error table answers with a 5xx (the codes are passed in by the Rust test, from the table).

Usage: fuzz.py MAX_EXAMPLES CODE [CODE ...]; the server's address is in GITAPI_ADDR.
"""

import os
import sys

import hypothesis
import schemathesis
from hypothesis import strategies as st
from schemathesis.graphql import nodes

max_examples = int(sys.argv[1])
server_error_codes = set(sys.argv[2:])
url = f"http://{os.environ['GITAPI_ADDR']}/graphql"

# The door's named scalars are validated strings: generate mostly valid ones (so calls reach
# the service) and sometimes anything (so validation is fuzzed too).
name = st.from_regex(r"\A[a-z][a-z0-9-]{0,11}\Z")
path = st.lists(name, min_size=1, max_size=3).map("/".join)
scalars = {
    "RepoName": st.one_of(st.just("demo"), name),
    "RefName": st.one_of(st.just("refs/heads/main"), name.map(lambda n: f"refs/heads/{n}")),
    "RepoPath": st.one_of(st.just("README.md"), path),
    "Rev": st.one_of(st.just("main"), st.just("HEAD"), name),
    "WorkspaceName": st.one_of(st.just("default"), name),
    "ConfigKey": st.one_of(st.just("core.bare"), name.map(lambda n: f"gitapi.{n}")),
    "Oid": st.from_regex(r"\A[0-9a-f]{40}\Z"),
    "DiffId": st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=40),
}
for scalar, strategy in scalars.items():
    schemathesis.graphql.scalar(
        scalar, st.one_of(strategy, strategy, strategy, st.text(max_size=20)).map(nodes.String)
    )

schema = schemathesis.graphql.from_url(url)
failures = []
calls = 0
operations = 0

for result in schema.get_all_operations():
    operation = result.ok()
    operations += 1

    @hypothesis.given(operation.as_strategy())
    @hypothesis.settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(hypothesis.HealthCheck),
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
    )
    def fuzz(case):
        global calls
        calls += 1
        response = case.call(timeout=30)
        label = f"{operation.verbose_name}: {case.body}"
        if response.status_code >= 500:
            failures.append(f"{label}\n  -> HTTP {response.status_code}: {response.text[:300]}")
            return
        try:
            body = response.json()
        except ValueError:
            failures.append(f"{label}\n  -> not JSON: {response.text[:300]}")
            return
        for error in body.get("errors") or []:
            code = (error.get("extensions") or {}).get("code")
            if code in server_error_codes or code is None:
                failures.append(f"{label}\n  -> {code}: {error.get('message')}")

    fuzz()

print(f"fuzz: {operations} operations, {calls} calls, {len(failures)} server errors")
for f in failures[:20]:
    print(f)
sys.exit(1 if failures else 0)
