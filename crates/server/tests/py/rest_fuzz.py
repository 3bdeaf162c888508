"""Schemathesis against the served /openapi.json: every operation of the REST door, with
parameters and bodies generated from the document, must never answer a server error and every
answer must be one the document describes (its status, its content type, its body's schema).

The Rust test seeds a repository named `demo` (branches, a tag, files, a workspace with
changes). Generated names rarely hit it by chance, so hooks steer most generated repository,
revision, path and workspace values to the seeded ones and leave the rest as generated, so both
the success paths and validation are fuzzed. The choice is a hash of the generated value, not
a random draw, so a run is repeatable: hypothesis is derandomized and its database is off.

Operations that would end the run's usefulness (deleting the seeded repository, switching the
serving engine away from the one under test) run last or are held to the engine under test.

Usage: rest_fuzz.py MAX_EXAMPLES ENGINE; the server's address is in GITAPI_ADDR.
"""

import json
import os
import sys
import zlib

import hypothesis
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

max_examples = int(sys.argv[1])
engine = sys.argv[2]
base = f"http://{os.environ['GITAPI_ADDR']}"

SEEDED = {
    "repo": ["demo"],
    "workspace": ["default", "side"],
    "ws": ["default", "side"],
    "key": ["gc.auto", "core.logallrefupdates"],
    "index": ["0", 0],
    "rev": ["main", "HEAD", "v1", "feature", "main~1"],
    "path": ["README.md", "src/lib.rs", "src", "docs/guide.md"],
    "base": ["main~1", "main"],
    "head": ["feature", "main"],
    "from": ["main~1", "v1"],
    "to": ["main", "feature"],
    "name": ["refs/heads/feature", "refs/tags/v1"],
    "ref": ["refs/heads/feature", "refs/heads/main"],
}
# The seeded commit ids, known only once the Rust test has made them.
SEEDED.update(json.loads(os.environ.get("GITAPI_SEEDED", "{}")))


def steer(key, value):
    """Most values of a seeded key become a seeded one; one in four stays as generated."""
    choices = SEEDED.get(key)
    if not choices or not isinstance(value, (str, int)):
        return value
    h = zlib.crc32(str(value).encode("utf-8", "surrogatepass"))
    if h % 4 == 0:
        return value
    return choices[h % len(choices)]


@schemathesis.hook
def map_path_parameters(context, path_parameters):
    return {k: steer(k, v) for k, v in (path_parameters or {}).items()}


@schemathesis.hook
def map_query(context, query):
    if not query:
        return query
    return {k: steer(k, v) for k, v in query.items()}


@schemathesis.hook
def map_body(context, body):
    # The engine switch stays on the engine under test, so the whole run exercises it.
    if context.operation.path == "/v1/admin/backend" and isinstance(body, dict):
        body = dict(body)
        body["backend"] = engine
    return body


# The document is OpenAPI 3.1, which schemathesis 3.x reads behind this switch.
schemathesis.experimental.OPEN_API_3_1.enable()
# No generated credentials: the server runs in open mode, and a generated bearer token holds
# bytes (controls, Latin-1) that no HTTP header may carry, which hyper's parser refuses with a
# bare 400 before any route sees the request.
schema = schemathesis.from_uri(
    f"{base}/openapi.json",
    base_url=base,
    generation_config=schemathesis.GenerationConfig(with_security_parameters=False),
)

operations = [r.ok() for r in schema.get_all_operations()]
# Deleting comes last, so the seeded repository serves every other operation first.
operations.sort(key=lambda op: (op.method.upper() == "DELETE", op.path, op.method))

checks = (
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
)
failures = []
calls = 0
statuses = {}

def run(operation, method):
    @hypothesis.given(operation.as_strategy(data_generation_method=method))
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
        if operation.path.endswith(("/events", "/live")):
            # Live streams never end: read the head of the answer only (the streams suite
            # checks their frames).
            response = case.call(timeout=30, stream=True)
            response.close()
            bucket = f"{response.status_code // 100}xx"
            statuses[bucket] = statuses.get(bucket, 0) + 1
            if response.status_code >= 500:
                failures.append(f"{operation.verbose_name}: HTTP {response.status_code}")
            return
        response = case.call(timeout=60)
        bucket = f"{response.status_code // 100}xx"
        statuses[bucket] = statuses.get(bucket, 0) + 1
        try:
            case.validate_response(response, checks=checks)
        except Exception as failure:  # a CheckFailed, or a group of them
            failures.append(
                f"{method.name} {operation.verbose_name}: path={case.path_parameters} "
                f"query={case.query} headers={case.headers} body={str(case.body)[:200]}\n"
                f"  -> HTTP {response.status_code} {response.text[:300]}\n  {str(failure)[:600]}"
            )

    fuzz()


# Positive cases only: schemathesis's negative mode (data made invalid by the document) spun
# hypothesis-jsonschema at full CPU for over ten minutes on the first operations without making
# a case; the hostile-input suite covers refused input instead.
for operation in operations:
    run(operation, schemathesis.DataGenerationMethod.positive)

summary = ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items()))
print(
    f"rest fuzz on {engine}: {len(operations)} operations, {calls} calls ({summary}), "
    f"{len(failures)} failures"
)
for f in failures[:40]:
    print(f)
sys.exit(1 if failures else 0)
