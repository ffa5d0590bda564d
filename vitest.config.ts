import { defineConfig } from 'vitest/config';

// Files that need a process of their own: operations.test.ts compares the SDL the code prints with
// schema/schema.graphql, and type-graphql's metadata is process-wide (after other files' imports in
// the same process the arguments of extension fields printed in another order).
const OWN_PROCESS = ['test/e2e/operations.test.ts'];

export default defineConfig({
  test: {
    pool: 'forks',
    // A worker runs file after file in one process: importing the gateway's modules and a first gateway
    // start (schema build, validators, terminology) cost several seconds each, once per worker instead
    // of once per file. Process-wide state must therefore be undone by whoever sets it (tracing's
    // shutdown, vi.restoreAllMocks, vi.useRealTimers), and a file may not rely on a fresh module's state.
    isolate: false,
    testTimeout: 30_000,
    // A beforeAll starts a gateway (database, migrations, schema): over 60 s on a 2-core machine shared with other work.
    hookTimeout: 180_000,
    // expect.poll's 1 s default is too short for a loaded 2-core machine; a wait that succeeds returns at once anyway.
    expect: { poll: { timeout: 15_000 } },
    // e2e files each start their own gateway (and database); two at a time suits a 2-core machine.
    maxWorkers: 2,
    env: { NODE_ENV: 'test', APOLLO_TELEMETRY_DISABLED: 'true' },
    // Transformed modules are kept on disk (node_modules/.experimental-vitest-cache) between runs: the
    // transform of the gateway's sources cost each run several seconds of CPU in the main process and
    // the workers. Delete that folder, or set this to false, should a cached module ever be suspected.
    experimental: { fsModuleCache: true },
    // Unit tests (no server, in-memory fakes) run first, as their own group: a broken rule fails in
    // seconds. Global setup (the embedded database, the web assets) belongs to the other group only,
    // but every project's setup runs before the first test, so the unit group never delays the rest.
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'], sequence: { groupOrder: 0 } } },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          exclude: ['test/unit/**', ...OWN_PROCESS],
          globalSetup: ['test/support/global-setup.ts'],
          sequence: { groupOrder: 1 },
        },
      },
      {
        extends: true,
        test: {
          name: 'own-process',
          include: OWN_PROCESS,
          isolate: true,
          globalSetup: ['test/support/global-setup.ts'],
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
