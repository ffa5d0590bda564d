import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, type PrivateServer, requireBinary, untilAccepting } from './private-postgres.mjs';

/**
 * A PostgreSQL and a NATS server of a test's own, on free loopback ports in temp dirs, that the test
 * may stop and start (never the machine's shared ones).
 */

// The PostgreSQL steps are shared with the chaos soak, which runs under bare node.
export { findBinary, freePort, type PrivatePostgres, privatePostgres } from './private-postgres.mjs';

/** A {@link PrivateServer} running nats-server. */
export type PrivateNats = PrivateServer;

/** nats-server with JetStream on a file store: streams survive a restart, as in production. */
export async function privateNats(): Promise<PrivateNats> {
  const storeDir = await mkdtemp(path.join(tmpdir(), 'rxgate-nats-'));
  const port = await freePort();
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn(requireBinary('nats-server'), ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir], { stdio: 'ignore' });
    await untilAccepting('nats-server', port);
  };
  const stop = async () => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGTERM');
    await exited;
  };
  await start();
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    start,
    stop,
    async cleanup() {
      await stop();
      await rm(storeDir, { recursive: true, force: true });
    },
  };
}
