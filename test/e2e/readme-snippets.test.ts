import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { prescription } from '../support/fixtures.js';
import { request } from '../support/http.js';
import { useTestApp } from '../support/use-test-app.js';

/**
 * Every code block of the README runs as written against a started gateway, so the README cannot
 * drift from the code: bash blocks in one bash session (their variables carry on, as in a user's
 * terminal) and js blocks with node, in the project directory. The only change is the address:
 * `localhost:4000` becomes the test gateway's. A block that is not meant to run is preceded by
 * `<!-- readme-test: not run (why) -->`; any other language fails the test (but `mermaid`, checked
 * elsewhere, and `text`, printed output).
 */
const root = fileURLToPath(new URL('../..', import.meta.url));
const SKIP_MARK = /^<!-- readme-test: not run \(.+\) -->$/;
/** The first `npm run token` may compile the gateway on a loaded 2-core machine. */
const BOUND = 180_000;

interface Block {
  language: string;
  code: string;
  line: number;
  skipped: boolean;
}

function readmeBlocks(): Block[] {
  const lines = readFileSync(`${root}README.md`, 'utf8').split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)/.exec(lines[i]!);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    while (++i < lines.length && !lines[i]!.startsWith('```')) body.push(lines[i]!);
    let previous = start - 1;
    while (previous >= 0 && lines[previous]!.trim() === '') previous--;
    blocks.push({ language: open[1]!, code: body.join('\n'), line: start + 1, skipped: previous >= 0 && SKIP_MARK.test(lines[previous]!.trim()) });
  }
  return blocks;
}

const blocks = readmeBlocks();
let address: string;
const t = useTestApp();
beforeAll(async () => {
  address = new URL(t.url).host;
});

const here = (code: string) => code.replaceAll('localhost:4000', address);

describe('README', () => {
  it('has only bash and js blocks (and the generated diagram and printed output), or blocks marked as not run, and few of those', () => {
    // `mermaid` is the generated workflow diagram (test/e2e/workflow-inspection.test.ts holds it to the
    // definition); `text` is output shown beside a command, not something to run.
    const unknown = blocks.filter((b) => !b.skipped && !['bash', 'js', 'mermaid', 'text'].includes(b.language));
    expect(unknown.map((b) => `line ${b.line}: \`\`\`${b.language}`)).toEqual([]);
    // Today: the install, the real-services start, the suite, the benchmark and the source tree. Raising
    // this bound is a decision to leave a block untested, not a way to make the test pass.
    expect(blocks.filter((b) => b.skipped).length).toBeLessThanOrEqual(5);
  });

  it('runs its bash blocks as written, in one session, each request answered without an error', { timeout: BOUND }, async () => {
    const bash = blocks.filter((b) => !b.skipped && b.language === 'bash');
    expect(bash.length).toBeGreaterThan(0);
    // Any failing command stops the script; curl fails on an HTTP error; each block announces itself on stderr.
    const script = [
      'set -euo pipefail',
      'curl() { command curl --fail-with-body "$@"; echo; }',
      ...bash.map((b) => `echo "--- README.md line ${b.line}" >&2\n${here(b.code)}`),
    ].join('\n');
    const outcome = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile('bash', ['-c', script], { cwd: root, timeout: BOUND, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) =>
        resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
    expect(outcome.code, `${outcome.stderr}\n${outcome.stdout}`).toBe(0);
    // GraphQL answers 200 with `errors` when an operation fails.
    expect(outcome.stdout).not.toContain('"errors"');
    // The workflow block ends with the prescription completed, its history one version per change.
    expect(outcome.stdout).toContain('"workflowStatus":"PROCESSING"');
    expect(outcome.stdout).toMatch(/"resourceType":"Bundle","type":"history"/);
  });

  it('runs its js blocks with node: the subscription prints the event of a new prescription', { timeout: BOUND }, async () => {
    const js = blocks.filter((b) => !b.skipped && b.language === 'js');
    expect(js.length).toBeGreaterThan(0);
    const token = await t.token('tenant-a', 'ehr-backend');
    for (const block of js) {
      const before = t.app.live.stats().subscribers;
      const child = spawn(process.execPath, ['--input-type=module'], { cwd: root, env: { ...process.env, TOKEN: token }, stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.stdin.end(here(block.code));
      try {
        // Subscribed once the gateway serves one more live subscriber (or the script ended: an error).
        await expect.poll(() => (child.exitCode !== null ? `exited: ${stderr}` : t.app.live.stats().subscribers > before), { timeout: 60_000 }).toBe(true);
        const created = await request(`${t.url}/fhir/MedicationRequest`, { token, body: prescription({ patient: 'p1' }) });
        expect(created.status).toBe(201);
        await expect.poll(() => stdout, { timeout: 30_000 }).toContain(created.body.id);
        expect(stderr).toBe('');
        const event = JSON.parse(stdout.split('\n').find((line) => line.includes(created.body.id))!);
        expect(event.data.prescriptionEvents.medicationRequest).toEqual({ id: created.body.id, workflowStatus: 'REQUESTED' });
      } finally {
        child.kill('SIGTERM');
        await exited;
      }
    }
  });
});
