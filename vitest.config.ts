import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    // A beforeAll starts a gateway (database, migrations, schema): over 60 s on a 2-core machine shared with other work.
    hookTimeout: 180_000,
    // expect.poll's 1 s default is too short for a loaded 2-core machine; a wait that succeeds returns at once anyway.
    expect: { poll: { timeout: 15_000 } },
    // e2e files each start their own gateway (and database); two at a time suits a 2-core machine.
    maxWorkers: 2,
    env: { NODE_ENV: 'test', APOLLO_TELEMETRY_DISABLED: 'true' },
  },
});
