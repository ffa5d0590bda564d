// Where a gateway's CPU went: `node test/bench/profile-summary.mjs <file.cpuprofile> [top] [pkg|fn|callers <regex>]`.
// Reads a V8 profile written by `npm run bench -- --cpu-prof DIR` and prints the self time of each
// package (default), of each function (`fn`), or the call stacks under functions matching a regex
// (`callers '^(writev|writeBuffer)$'`: who pays for the socket writes).
import fs from 'node:fs';

const [file, topArg = '25', mode = 'pkg', pattern] = process.argv.slice(2);
if (!file) {
  console.error('usage: node test/bench/profile-summary.mjs <file.cpuprofile> [top] [pkg|fn|callers <regex>]');
  process.exit(2);
}
const profile = JSON.parse(fs.readFileSync(file, 'utf8'));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map();
profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
const total = [...self.values()].reduce((a, b) => a + b, 0);
const idle = [...self].filter(([id]) => byId.get(id).callFrame.functionName === '(idle)').reduce((a, [, t]) => a + t, 0);
const busy = total - idle;
const short = (url) =>
  url
    .replace(/.*node_modules\//, '')
    .replace(/.*\/dist\//, '')
    .replace(/^node:/, '');
console.log(`profile ${(total / 1e6).toFixed(2)} s, idle ${(idle / 1e6).toFixed(2)} s, busy ${(busy / 1e6).toFixed(2)} s`);

if (mode === 'callers') {
  const re = new RegExp(pattern ?? '^$');
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const stacks = new Map();
  for (const [id, t] of self) {
    if (!re.test(byId.get(id).callFrame.functionName)) continue;
    const chain = [];
    for (let p = parent.get(id); p !== undefined && chain.length < 8; p = parent.get(p)) {
      const f = byId.get(p).callFrame;
      chain.push(`${f.functionName || '(anonymous)'}@${short(f.url)}:${f.lineNumber}`);
    }
    stacks.set(chain.join(' < '), (stacks.get(chain.join(' < ')) ?? 0) + t);
  }
  for (const [chain, t] of [...stacks].sort((a, b) => b[1] - a[1]).slice(0, Number(topArg))) console.log(`${(t / 1e6).toFixed(2)} s  ${chain}`);
} else {
  const keyOf = ({ callFrame: { functionName, url, lineNumber } }) => {
    if (mode === 'fn') return `${functionName || '(anonymous)'} ${short(url)}:${lineNumber}`;
    if (!url) return functionName.startsWith('(') ? functionName : `(native) ${functionName}`;
    const pkg = url.match(/node_modules\/((@[^/]+\/)?[^/]+)/);
    return pkg ? pkg[1] : url.startsWith('node:') ? url : `rxgate ${short(url)}`;
  };
  const sums = new Map();
  for (const [id, t] of self) if (byId.get(id).callFrame.functionName !== '(idle)') sums.set(keyOf(byId.get(id)), (sums.get(keyOf(byId.get(id))) ?? 0) + t);
  for (const [key, t] of [...sums].sort((a, b) => b[1] - a[1]).slice(0, Number(topArg))) console.log(`${((100 * t) / busy).toFixed(1).padStart(5)} %  ${key}`);
}
