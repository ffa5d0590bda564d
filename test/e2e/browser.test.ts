import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page, type WebSocketRoute } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TransitionDocument } from '../generated/graphql.js';
import { prescription, uniquePatient } from '../support/fixtures.js';
import { graphql, rawGraphql } from '../support/graphql.js';
import { request } from '../support/http.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { prescriptionIn } from '../support/workflow.js';

/** Debian's Chromium (apt-get install -y chromium), or CHROMIUM_PATH. */
const executablePath = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find((candidate) => candidate && existsSync(candidate));
if (!executablePath) console.warn('browser tests SKIPPED: no Chromium found (apt-get install -y chromium, or set CHROMIUM_PATH)');

/** Screenshots go to docs/ (the README shows them) with UPDATE_SCREENSHOTS=1, to a temporary folder otherwise. */
const shots = process.env.UPDATE_SCREENSHOTS ? path.resolve('docs') : tmpdir();

describe.skipIf(!executablePath)('in a real browser: the explorer and the live board (issue 19)', () => {
  let t: TestApp;
  let browser: Browser;
  let ehr: string;
  let pharmacy: string;
  /** Requests of the page under test that were not for the gateway (127.0.0.1, refused), and its errors. */
  let outside: string[] = [];
  let seen: string[] = [];

  beforeAll(async () => {
    t = await startTestApp();
    ehr = await t.token('tenant-a', 'ehr-backend', 'dr-house');
    pharmacy = await t.token('tenant-a', 'pharmacy-backend', 'pharmacist-jo');
    browser = await chromium.launch({ executablePath, headless: true, args: ['--no-sandbox'] });
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  async function openPage(path: string): Promise<{ context: BrowserContext; page: Page }> {
    outside = [];
    seen = [];
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    await context.route('**/*', (route) => {
      const url = route.request().url();
      seen.push(url);
      if (new URL(url).hostname !== '127.0.0.1') {
        outside.push(url);
        return route.abort();
      }
      return route.continue();
    });
    const page = await context.newPage();
    page.on('websocket', (ws) => seen.push(ws.url()));
    page.on('pageerror', (error) => outside.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error' && /Content.Security.Policy|Refused to/i.test(message.text())) outside.push(`console: ${message.text()}`);
    });
    await page.goto(`${t.url}${path}`);
    return { context, page };
  }

  /** No request of the page left 127.0.0.1 (any other was refused and listed), and it loaded its bundle and a websocket. */
  function expectOnlyLocalRequests(bundle: string): void {
    expect(seen.some((url) => url.endsWith(bundle))).toBe(true);
    expect(seen.some((url) => url.startsWith('ws://127.0.0.1'))).toBe(true);
    expect(outside).toEqual([]);
  }

  async function signIn(page: Page, persona: string): Promise<void> {
    await page.getByLabel('Tenant').fill('tenant-a');
    await page.getByLabel('Persona').selectOption(persona);
    await page.getByRole('button', { name: 'Sign in as' }).click();
    await expect.poll(() => page.getByTestId('identity').textContent()).toContain(`tenant-a · ${persona}`);
  }

  it('the explorer renders, signs in, shows the schema docs and runs a query, offline', async () => {
    await prescriptionIn(t.url, 'approved', { ehr, pharmacy });
    const { context, page } = await openPage('/graphql');
    try {
      await page.locator('.graphiql-container').waitFor();
      await signIn(page, 'ehr-backend');
      // The headers editor holds the bearer token the sign-in minted.
      await expect.poll(() => page.locator('.graphiql-editors').first().innerText()).toContain('Bearer ey');
      await page.getByRole('button', { name: /Execute query/ }).click();
      await expect.poll(() => page.locator('.graphiql-response').innerText(), { timeout: 10_000 }).toMatch(/"totalCount": [1-9]/);
      await expect.poll(() => page.locator('.graphiql-response').innerText()).toContain('"event": "approve"');
      await page.getByRole('button', { name: /Documentation Explorer/ }).click();
      const docs = page.locator('.graphiql-doc-explorer');
      await docs.getByText('Subscription', { exact: true }).first().waitFor({ timeout: 5_000 }); // the schema came by introspection
      await docs.getByText('Query', { exact: true }).first().click();
      await docs.getByText('medicationRequests', { exact: true }).first().waitFor();
      await page.screenshot({ path: path.join(shots, 'explorer.png') });

      // A subscription runs over graphql-ws: the next change arrives in the response pane.
      await page.evaluate(
        "document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.setValue('subscription Live { prescriptionEvents { type to medicationRequest { id } } }')",
      );
      // GraphiQL has parsed the new document once its tab is named after the operation (it runs the operation named).
      await page.locator('.graphiql-tab-button').getByText('Live', { exact: true }).waitFor();
      await page.getByRole('button', { name: /Execute query/ }).click();
      await expect.poll(() => seen.some((url) => url.startsWith('ws://127.0.0.1')), { timeout: 5_000 }).toBe(true);
      // The subscription starts once the server has it; until then a create may pass unseen, so create until one shows.
      let id = '';
      await expect
        .poll(
          async () => {
            if (!id || !(await page.locator('.graphiql-response').innerText()).includes(id)) {
              id = (await request(`${t.url}/fhir/MedicationRequest`, { token: ehr, body: prescription({ patient: uniquePatient() }) })).body.id;
            }
            return page.locator('.graphiql-response').innerText();
          },
          { timeout: 10_000, interval: 500 },
        )
        .toContain('eprescribing.medication_request.created.v1');
      expectOnlyLocalRequests('/ui/explorer.js');
    } finally {
      await context.close();
    }
  });

  it('the board shows a prescription created through FHIR within 2 s and moves it live, resuming with `after` when the socket drops', async () => {
    await prescriptionIn(t.url, 'completed', { ehr, pharmacy });
    await prescriptionIn(t.url, 'rejected', { ehr, pharmacy });
    await prescriptionIn(t.url, 'processing', { ehr, pharmacy });
    const { context, page } = await openPage('/board');
    const sockets: WebSocketRoute[] = [];
    const subscribed: Array<{ after?: string | null }> = [];
    const sequences: string[] = [];
    // Passes the board's websocket through, watching it (and able to cut it).
    await page.routeWebSocket(/\/graphql$/, (ws) => {
      sockets.push(ws);
      const server = ws.connectToServer();
      ws.onMessage((message) => {
        const parsed = JSON.parse(String(message));
        if (parsed.type === 'subscribe') subscribed.push(parsed.payload.variables);
        server.send(message);
      });
      server.onMessage((message) => {
        const parsed = JSON.parse(String(message));
        if (parsed.type === 'next' && parsed.payload.data?.prescriptionEvents) sequences.push(parsed.payload.data.prescriptionEvents.sequence);
        ws.send(message);
      });
    });
    try {
      await page.reload();
      await signIn(page, 'ehr-backend');
      await page.locator('#live-status[data-status="live"]').waitFor();
      for (const state of ['REQUESTED', 'APPROVED', 'PROCESSING', 'DISPENSED', 'COMPLETED', 'REJECTED', 'CANCELLED', 'FAILED', 'REFILLABLE', 'EXPIRED'])
        await page.locator(`section[data-state="${state}"]`).waitFor();
      await page.locator('section[data-state="COMPLETED"] li').first().waitFor();

      const created = await request(`${t.url}/fhir/MedicationRequest`, { token: ehr, body: prescription({ patient: uniquePatient(), repeats: 2 }) });
      expect(created.status).toBe(201);
      const shownAt = Date.now();
      const id: string = created.body.id;
      const card = (state: string) => page.locator(`section[data-state="${state}"] li[data-id="${id}"]`);
      await card('REQUESTED').waitFor({ timeout: 2_000 });
      console.log(`board: new prescription shown ${Date.now() - shownAt} ms after its FHIR create answered`);

      expect((await graphql(t.url, TransitionDocument, { id, event: 'APPROVE' }, ehr)).errors).toBeUndefined();
      await card('APPROVED').waitFor({ timeout: 2_000 });
      expect((await graphql(t.url, TransitionDocument, { id, event: 'PROCESS' }, pharmacy)).errors).toBeUndefined();
      await card('PROCESSING').waitFor({ timeout: 2_000 });
      expect(await page.locator(`li[data-id="${id}"]`).count()).toBe(1);

      // The socket drops: the board reconnects and resumes after the last event it saw.
      const lastSeen = sequences.at(-1);
      expect(lastSeen).toBeDefined();
      await sockets.at(-1)!.close({ code: 1011, reason: 'dropped by the test' });
      await page.locator('#live-status[data-status="reconnecting"]').waitFor();
      expect((await graphql(t.url, TransitionDocument, { id, event: 'DISPENSE' }, pharmacy)).errors).toBeUndefined();
      await card('DISPENSED').waitFor({ timeout: 10_000 });
      expect(subscribed.at(-1)).toEqual({ after: lastSeen });
      await page.locator('#live-status[data-status="live"]').waitFor();

      // Ten columns, REFILLABLE and EXPIRED among them, fit 1280 px without scrolling sideways.
      expect(await page.locator('#columns').evaluate((columns) => columns.scrollWidth <= columns.clientWidth)).toBe(true);
      await page.screenshot({ path: path.join(shots, 'board.png') });

      // The timeline: transitions with actor, and the dispense.
      await card('DISPENSED').getByRole('button').click();
      const timeline = page.locator('#timeline');
      await expect.poll(() => timeline.getByTestId('transitions').innerText()).toContain('pharmacist-jo');
      const transitions = await timeline.getByTestId('transitions').innerText();
      expect(transitions).toMatch(/request[\s\S]*approve[\s\S]*by dr-house[\s\S]*process[\s\S]*dispense/);
      await expect.poll(() => timeline.getByTestId('dispenses').innerText()).toContain('completed');
      // Its fills (1 + 2 repeats allowed, one dispensed), and the workflow definition, version and state it runs under.
      const instance = (
        await rawGraphql(
          t.url,
          {
            query: 'query($id: ID!) { medicationRequest(id: $id) { workflow { definition version state } fills { allowed dispensed remaining } } }',
            variables: { id },
          },
          ehr,
        )
      ).data.medicationRequest;
      expect(instance.fills).toEqual({ allowed: 3, dispensed: 1, remaining: 2 });
      expect(await timeline.getByTestId('fills').innerText()).toMatch(/Allowed\s+3\s+Dispensed\s+1\s+Remaining\s+2\s+Next eligible[\s\S]*Valid until/);
      expect(await timeline.locator('dl').first().innerText()).toContain(`${instance.workflow.definition} v${instance.workflow.version} · dispensed`);
      await expect.poll(() => timeline.getByTestId('actions').innerText()).toMatch(/sendToPharmacy\s+(pending|done)/);
      await timeline.getByTestId('compensations').waitFor();
      await timeline.getByTestId('timers').waitFor();
      // Completed with fills remaining, it becomes REFILLABLE: the card moves and the open timeline follows.
      expect((await graphql(t.url, TransitionDocument, { id, event: 'COMPLETE' }, pharmacy)).errors).toBeUndefined();
      await card('REFILLABLE').waitFor({ timeout: 2_000 });
      await expect.poll(() => timeline.locator('dl').first().innerText()).toContain(`v${instance.workflow.version} · refillable`);
      await page.screenshot({ path: path.join(shots, 'board-timeline.png') });
      // Keyboard: Escape closes the timeline and gives the focus back to the card.
      await page.keyboard.press('Escape');
      expect(await timeline.isHidden()).toBe(true);
      expect(await page.evaluate("document.activeElement?.closest('li')?.getAttribute('data-id')")).toBe(id);

      // The workflow diagram, opened from the keyboard: an SVG with every state of the current prescription definition.
      const definitions: Array<{ name: string; version: number; states: Array<{ name: string; final: boolean }>; transitions: unknown[] }> = (
        await rawGraphql(t.url, { query: '{ workflowDefinitions { name version states { name final } transitions { event } } }' }, ehr)
      ).data.workflowDefinitions;
      const current = definitions.filter((d) => d.name === 'prescription').sort((a, b) => b.version - a.version)[0];
      const toggle = page.getByRole('button', { name: 'Workflow diagram' });
      expect(await toggle.getAttribute('aria-expanded')).toBe('false');
      await toggle.focus();
      await page.keyboard.press('Enter');
      const panel = page.locator('#workflow-diagram');
      await panel.getByTestId('workflow-svg').waitFor();
      expect(await toggle.getAttribute('aria-expanded')).toBe('true');
      expect(await panel.getByRole('heading').first().innerText()).toBe(`Workflow prescription v${current.version}`);
      const drawn = await panel.locator('svg [data-testid="diagram-state"] text').allTextContents();
      expect(drawn.sort()).toEqual(current.states.map((s) => s.name).sort());
      expect(await panel.locator('svg .state.final text').allTextContents()).toEqual(
        expect.arrayContaining(current.states.filter((s) => s.final).map((s) => s.name)),
      );
      expect(await panel.locator('svg path.edge').count()).toBeGreaterThan(0);
      // The text alternative: one row per transition.
      expect(await panel.getByTestId('workflow-transitions').locator('tbody tr').count()).toBe(current.transitions.length);
      expect(await panel.getByTestId('workflow-transitions').innerText()).toContain('fills remain');
      await page.screenshot({ path: path.join(shots, 'board-workflow.png') });
      await page.keyboard.press('Escape');
      expect(await panel.isHidden()).toBe(true);
      expect(await page.evaluate('document.activeElement?.id')).toBe('workflow-toggle');
      expectOnlyLocalRequests('/ui/board.js');
    } finally {
      await context.close();
    }
  });
});
