// isomorphic-git (npm) against gitapi's Smart HTTP door: clone, commit, push.
// Usage: node isogit.cjs <node_modules dir> <url> <dir>; prints JSON with what it saw and did.
const path = require('path');
const fs = require('fs');
const modules = process.argv[2];
const git = require(path.join(modules, 'isomorphic-git'));
const http = require(path.join(modules, 'isomorphic-git', 'http', 'node'));
const url = process.argv[3];
const dir = process.argv[4];

(async () => {
  await git.clone({ fs, http, dir, url, ref: 'main', singleBranch: true });
  const cloned = await git.resolveRef({ fs, dir, ref: 'HEAD' });
  const readme = fs.readFileSync(path.join(dir, 'README.md'), 'utf8');
  fs.writeFileSync(path.join(dir, 'iso.txt'), 'from isomorphic-git\n');
  await git.add({ fs, dir, filepath: 'iso.txt' });
  const author = { name: 'Iso', email: 'iso@example.com', timestamp: 1700000000, timezoneOffset: 0 };
  const committed = await git.commit({ fs, dir, message: 'iso commit', author });
  const pushed = await git.push({ fs, http, dir, remote: 'origin', ref: 'main', remoteRef: 'refs/heads/iso' });
  console.log(JSON.stringify({ cloned, readme, committed, ok: pushed.ok, refs: pushed.refs }));
})().catch((e) => {
  console.error(String(e && e.stack || e));
  process.exit(1);
});
