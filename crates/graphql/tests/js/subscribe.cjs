// The reference GraphQL subscription clients from npm against gitapi's GraphQL door:
// graphql-ws (graphql-transport-ws over WebSocket) and graphql-sse (distinct connections
// mode) both subscribe to repositoryEvents; commits are then made through REST until both have
// seen an event (at most 20 commits).
// Usage: node subscribe.cjs <node_modules dir> <host:port> <repo>; prints JSON with what each
// client received.
const path = require('path');
const modules = process.argv[2];
const addr = process.argv[3];
const repo = process.argv[4];
const WebSocket = require(path.join(modules, 'ws'));
const { createClient: wsClient } = require(path.join(modules, 'graphql-ws'));
const { createClient: sseClient } = require(path.join(modules, 'graphql-sse'));

const query = `subscription($r: RepoName) {
  repositoryEvents(repo: $r, refPrefix: "refs/heads/") { id type repo ref old new kind }
}`;
const seen = { ws: [], sse: [] };
const errors = [];

const ws = wsClient({ url: `ws://${addr}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0 });
const sse = sseClient({ url: `http://${addr}/graphql/subscribe`, retryAttempts: 0 });

function subscribe(client, name) {
  return client.subscribe(
    { query, variables: { r: repo } },
    {
      next: (result) => seen[name].push(result),
      error: (e) => errors.push(`${name}: ${(e && e.message) || JSON.stringify(e)}`),
      complete: () => {},
    },
  );
}

async function commit(n) {
  const res = await fetch(`http://${addr}/v1/repos/${repo}/commits`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      branch: 'main',
      actions: [{ action: 'put', path: `js${n}.txt`, content: Buffer.from(`js ${n}\n`).toString('base64') }],
      message: `js ${n}`,
      author: { name: 'J S', email: 'js@example.com' },
    }),
  });
  if (res.status !== 201) throw new Error(`REST commit answered ${res.status}: ${await res.text()}`);
  return (await res.json()).oid;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const waiting = () => seen.ws.length === 0 || seen.sse.length === 0;

(async () => {
  const stopWs = subscribe(ws, 'ws');
  const stopSse = subscribe(sse, 'sse');
  const commits = [];
  for (let n = 0; n < 20 && waiting() && errors.length === 0; n++) {
    commits.push(await commit(n));
    for (let i = 0; i < 30 && waiting() && errors.length === 0; i++) await sleep(100);
  }
  stopWs();
  stopSse();
  await ws.dispose();
  sse.dispose();
  console.log(JSON.stringify({ commits, ws: seen.ws, sse: seen.sse, errors }));
  process.exit(0);
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
