// Where a gateway's CPU went, from `perf record` (CPU-clock samples, so time spent waiting is not
// counted): `node test/bench/perf-summary.mjs <perf.data> [top]`, after `npm run bench -- --perf FILE`.
//
// A V8 profile (`--cpu-prof`, read by profile-summary.mjs) samples the JavaScript thread on a wall
// clock, so time the thread waited inside a system call counts as that call's: for a FHIR read it
// charged 49 % to the two socket writes, where perf found 14 % of the gateway's CPU in the kernel in
// all. perf's cpu-clock samples count only CPU used, on every thread (V8 collects garbage and compiles
// on threads of its own). Each sample is charged to the nearest JavaScript frame on its stack (its
// package, or its file under dist/src), with the kernel, the garbage collector, JSON and the
// background threads as groups of their own.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

const [file, topArg = '30'] = process.argv.slice(2);
if (!file) {
  console.error('usage: node test/bench/perf-summary.mjs <perf.data> [top]');
  process.exit(2);
}

const GC =
  /Scaveng|MarkCompact|Sweep|Heap::|ConcurrentMarking|Evacuat|MemoryChunk|MinorM|RememberedSet|IncrementalMarking|SlotSet|MarkingVisitor|GCTracer|CppHeap/;
const JS_FRAME = /^JS:\S*\s+(\S+)/; // "JS:*name file:line:col", "JS:^ /path:line:col"

/** The package of a JavaScript frame's source: a node_modules package, a file of the gateway, or a Node module. */
function packageOf(source) {
  const modules = source.lastIndexOf('node_modules/');
  if (modules >= 0) {
    const [scope, name] = source.slice(modules + 'node_modules/'.length).split('/');
    return scope.startsWith('@') ? `${scope}/${name}` : scope;
  }
  const own = source.indexOf('/dist/');
  if (own >= 0) return source.slice(own + '/dist/'.length).replace(/:\d+:\d+$/, '');
  return source.replace(/:\d+:\d+$/, '').replace(/^(node:internal\/[^/]+)\/.*/, '$1');
}

/** The group one sample's CPU belongs to. */
function groupOf(pid, tid, frames) {
  if (tid !== pid) {
    if (frames.some((f) => /compiler::|Compiler|Maglev|Turbofan/.test(f.symbol))) return 'JIT compiler (background threads)';
    if (frames.some((f) => /v8::internal::|v8::platform::/.test(f.symbol))) return 'garbage collector (helper threads)';
    return 'other threads (libuv pool)';
  }
  const leaf = frames[0];
  if (!leaf) return 'unknown';
  if (frames.some((f) => GC.test(f.symbol))) return 'garbage collector (main thread)';
  const js = frames.find((f) => JS_FRAME.test(f.symbol));
  const where = js ? packageOf(JS_FRAME.exec(js.symbol)[1]) || 'generated code (graphql-jit)' : 'outside JavaScript (event loop, V8)';
  if (leaf.dso === '[kernel.kallsyms]') return `kernel, from ${where}`;
  if (/JsonParser|JsonStringifier|Json(Parse|Stringify)/.test(leaf.symbol)) return `JSON, from ${where}`;
  return where;
}

const perf = spawn('perf', ['script', '-i', file, '-F', 'pid,tid,ip,sym,dso'], { stdio: ['ignore', 'pipe', 'inherit'] });
const totals = new Map();
let samples = 0;
let current;
const finish = () => {
  if (!current) return;
  const group = groupOf(current.pid, current.tid, current.frames);
  totals.set(group, (totals.get(group) ?? 0) + 1);
  samples++;
  current = undefined;
};
for await (const line of createInterface({ input: perf.stdout })) {
  if (line.trim() === '') {
    finish();
    continue;
  }
  const header = /^\s*(\d+)\/(\d+)\s*$/.exec(line); // "pid/tid", padded to a width
  if (header) {
    finish();
    current = { pid: Number(header[1]), tid: Number(header[2]), frames: [] };
    continue;
  }
  const frame = /^\s*[0-9a-f]+\s+(.*)\s+\((.*)\)$/.exec(line);
  if (current && frame) current.frames.push({ symbol: frame[1].replace(/\+0x[0-9a-f]+$/, ''), dso: frame[2] });
}
finish();
if (samples === 0) {
  console.error(`no samples in ${file}`);
  process.exit(1);
}
console.log(`${samples} CPU samples`);
const sorted = [...totals].sort((a, b) => b[1] - a[1]);
const percent = (n) => `${((100 * n) / samples).toFixed(1).padStart(5)} %`;
const sum = (test) => sorted.filter(([g]) => test(g)).reduce((a, [, n]) => a + n, 0);
console.log(`${percent(sum((g) => g.startsWith('kernel')))}  kernel in all`);
console.log(`${percent(sum((g) => g.startsWith('garbage')))}  garbage collector in all`);
console.log('--');
for (const [group, n] of sorted.slice(0, Number(topArg))) console.log(`${percent(n)}  ${group}`);
