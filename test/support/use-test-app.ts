import { afterAll, beforeAll } from 'vitest';
import { startTestApp, type TestApp, type TestAppOptions } from './test-app.js';

/**
 * A gateway for the tests of the file (or of the `describe` it is called in): started before them,
 * closed after them. The answer stands for the started {@link TestApp}; using it before the
 * `beforeAll` ran (at module level) throws. `options` may be a function, read when the app starts.
 * Set-up of the file's own (tokens, fixtures) goes in a `beforeAll` after this call: hooks run in order.
 */
export function useTestApp(options: TestAppOptions | (() => TestAppOptions) = {}): TestApp {
  let started: TestApp | undefined;
  beforeAll(async () => {
    started = await startTestApp(typeof options === 'function' ? options() : options);
  });
  afterAll(async () => started?.close());
  const app = (): TestApp => {
    if (!started) throw new Error('useTestApp: the gateway is not started yet; use it in a test or hook');
    return started;
  };
  return {
    get app() {
      return app().app;
    },
    get url() {
      return app().url;
    },
    get databaseUrl() {
      return app().databaseUrl;
    },
    token: (tenant, persona, sub) => app().token(tenant, persona, sub),
    sql: (text, params) => app().sql(text, params),
    messages: () => app().messages(),
    close: () => app().close(),
  };
}
