"""Queries and mutations through gql (the Python GraphQL client) with its requests transport.

The client fetches the schema by introspection and validates every document against it before
sending, so this also checks that the door's introspection is one a third-party client builds a
schema from. Run by crates/graphql/tests/graphql/python.rs with GITAPI_ADDR set.
"""

import os
import sys

from gql import Client, gql
from gql.transport.exceptions import TransportQueryError
from gql.transport.requests import RequestsHTTPTransport

URL = "http://%s/graphql" % os.environ["GITAPI_ADDR"]
ZERO = "0" * 40
AUTHOR = {"name": "Py Thon", "email": "py@example.com", "time": 1700000000, "offsetMinutes": 0}


def client():
    transport = RequestsHTTPTransport(url=URL, timeout=60, retries=0)
    return Client(transport=transport, fetch_schema_from_transport=True)


def run(session, document, **variables):
    request = gql(document)
    request.variable_values = variables
    return session.execute(request)


def main():
    with client() as s:
        run(s, "mutation($n: RepoName!) { createRepository(name: $n) { name empty } }", n="py")
        first = run(
            s,
            """mutation($r: RepoName!, $i: CommitFilesInput!) {
                 commitFiles(repo: $r, input: $i) { oid message author { name } } }""",
            r="py",
            i={
                "branch": "main",
                "expectedTip": ZERO,
                "actions": [{"put": {"path": "hello.txt", "text": "hello\n"}}],
                "message": "hello",
                "author": AUTHOR,
            },
        )["commitFiles"]
        assert first["author"]["name"] == "Py Thon", first
        second = run(
            s,
            """mutation($r: RepoName!, $i: CommitFilesInput!) {
                 commitFiles(repo: $r, input: $i) { oid parents { oid } } }""",
            r="py",
            i={
                "branch": "main",
                "expectedTip": first["oid"],
                "actions": [{"put": {"path": "hello.txt", "text": "hello again\n"}}],
                "message": "again",
                "author": AUTHOR,
            },
        )["commitFiles"]
        assert second["parents"] == [{"oid": first["oid"]}], second

        data = run(
            s,
            """query($r: RepoName!) { repository(name: $r) {
                 name defaultBranch
                 branches { edges { cursor node { name target } } }
                 history { edges { node { oid message } } }
                 blob(rev: "main", path: "hello.txt") { text isBinary size }
                 diff(from: "main~1", to: "main") { stats { filesChanged } patch }
                 blame(path: "hello.txt") { commit { oid message } lines }
               } }""",
            r="py",
        )["repository"]
        assert data["branches"]["edges"][0]["node"]["target"] == second["oid"], data
        assert [e["node"]["message"] for e in data["history"]["edges"]] == ["again\n", "hello\n"], data
        assert data["blob"] == {"text": "hello again\n", "isBinary": False, "size": 12}, data
        assert data["diff"]["stats"]["filesChanged"] == 1, data
        assert "+hello again" in data["diff"]["patch"], data
        assert data["blame"][0]["commit"]["oid"] == second["oid"], data

        run(
            s,
            """mutation($r: RepoName!, $u: [RefUpdateInput!]!) { updateRefs(repo: $r, updates: $u) }""",
            r="py",
            u=[{"name": "refs/heads/feature", "new": first["oid"], "expectedOld": ZERO}],
        )
        # A lost compare-and-swap: the error carries the table's codes and REST's details.
        try:
            run(
                s,
                """mutation($r: RepoName!, $u: [RefUpdateInput!]!) { updateRefs(repo: $r, updates: $u) }""",
                r="py",
                u=[{"name": "refs/heads/feature", "new": second["oid"], "expectedOld": second["oid"]}],
            )
            raise SystemExit("a lost compare-and-swap succeeded")
        except TransportQueryError as e:
            err = e.errors[0]
            ext = err["extensions"]
            assert ext["code"] == "CONFLICT", err
            assert ext["kind"] == "conflict", err
            assert ext["details"]["type"] == "refMismatch", err
            assert ext["details"]["actual"] == first["oid"], err
            assert ext["details"]["expected"] == second["oid"], err

        # The client refuses, before sending, a document the schema does not allow.
        try:
            run(s, "{ repository(name: \"py\") { noSuchField } }")
            raise SystemExit("an invalid document was sent")
        except Exception as e:  # graphql-core's GraphQLError
            assert "noSuchField" in str(e), e

        run(s, "mutation { deleteRepository(name: \"py\") }")
        gone = run(s, "{ repositories { edges { node { name } } } }")
        assert gone["repositories"]["edges"] == [], gone
    print("client: ok")


if __name__ == "__main__":
    sys.exit(main())
