import { describe, expect, it } from 'vitest';
import { ACTION_HANDLERS } from '../../src/application/use-cases/workflow-actions.use-case.js';
import {
  actionsFor,
  compensationsFor,
  decide,
  defineWorkflow,
  FHIR_STATUS,
  finalStatesOf,
  legalEvents,
  PRESCRIPTION_WORKFLOWS,
  type PrescriptionFacts,
  senderOf,
  statesOf,
  timerChanges,
  timerChangesOnEdit,
  toMermaid,
  WORKFLOW_EVENTS,
} from '../../src/domain/index.js';
import { ACTION_NAMES } from '../../src/domain/workflow-actions.js';

/**
 * CONTRACT §3 (version 1) and §7 (version 2), written out independently of the definitions under
 * test: the answer for a state, an event and the facts a guard reads.
 */
function oracle(version: 1 | 2, state: string, event: string, f: { fillsRemain: boolean; validityEnded: boolean }): string | undefined {
  const refills = version === 2;
  if (event === 'approve' && state === 'requested') return 'approved';
  if (event === 'reject' && state === 'requested') return 'rejected';
  if (event === 'cancel' && (state === 'requested' || state === 'approved' || (refills && state === 'refillable'))) return 'cancelled';
  if (event === 'process' && (state === 'approved' || (refills && state === 'refillable'))) return 'processing';
  if (event === 'dispense' && state === 'processing') return 'dispensed';
  if (event === 'complete' && state === 'dispensed') return refills && f.fillsRemain && !f.validityEnded ? 'refillable' : 'completed';
  if (event === 'fail' && state === 'processing') return 'failed';
  if (refills && event === 'expire' && ['requested', 'approved', 'refillable'].includes(state)) return 'expired';
  return undefined;
}

const NOW = new Date('2026-12-01T12:00:00Z');
const factsOf = (f: { fillsRemain: boolean; validityEnded: boolean }): PrescriptionFacts => ({
  fillsAllowed: 3,
  fillsDispensed: f.fillsRemain ? 1 : 3,
  validUntil: f.validityEnded ? new Date(NOW.getTime() - 1) : new Date(NOW.getTime() + 86_400_000),
  now: NOW,
});
const FACT_CASES = [true, false].flatMap((fillsRemain) => [true, false].map((validityEnded) => ({ fillsRemain, validityEnded })));
const ALL_STATES = ['requested', 'approved', 'rejected', 'processing', 'dispensed', 'completed', 'failed', 'cancelled', 'refillable', 'expired', 'unheard-of'];

for (const definition of PRESCRIPTION_WORKFLOWS) {
  describe(`prescription workflow v${definition.version}`, () => {
    for (const state of ALL_STATES) {
      for (const event of [...WORKFLOW_EVENTS, 'request']) {
        for (const facts of FACT_CASES) {
          const expected = oracle(definition.version as 1 | 2, state, event, facts);
          it(`${state} --${event}${facts.fillsRemain ? '' : ' (no fills left)'}${facts.validityEnded ? ' (validity ended)' : ''}--> ${expected ?? 'refused'}`, () => {
            expect(decide(definition as never, state as never, event as never, factsOf(facts))?.to).toBe(expected);
          });
        }
      }
    }

    it('final states have no way out, and are the ones of the contract', () => {
      const expected =
        definition.version === 1 ? ['cancelled', 'completed', 'failed', 'rejected'] : ['cancelled', 'completed', 'expired', 'failed', 'rejected'];
      expect(finalStatesOf(definition as never).sort()).toEqual(expected);
      for (const state of finalStatesOf(definition as never)) expect(legalEvents(definition as never, state)).toEqual([]);
    });

    it('senders follow CONTRACT §1 and §7', () => {
      const by = (sender: string) => WORKFLOW_EVENTS.filter((e) => senderOf(definition as never, e) === sender).sort();
      expect(by('ehr-backend')).toEqual(['approve', 'cancel', 'reject']);
      expect(by('pharmacy-backend')).toEqual(['complete', 'dispense', 'fail', 'process']);
      expect(by('system')).toEqual(definition.version === 2 ? ['expire'] : []);
    });

    it('draws a Mermaid stateDiagram-v2 with every transition', () => {
      const text = toMermaid(definition as never);
      expect(text.startsWith('stateDiagram-v2\n')).toBe(true);
      for (const rule of definition.transitions) for (const from of rule.from) expect(text).toContain(`${from} --> ${rule.to}: ${rule.event}`);
    });
  });
}

describe('derived tables', () => {
  it('maps every state of every version to its FHIR status (CONTRACT §3, §7)', () => {
    expect(FHIR_STATUS).toEqual({
      requested: 'draft',
      approved: 'active',
      processing: 'active',
      dispensed: 'active',
      refillable: 'active',
      completed: 'completed',
      rejected: 'cancelled',
      cancelled: 'cancelled',
      failed: 'stopped',
      expired: 'stopped',
    });
  });

  it('every action and compensation a definition names has a handler', () => {
    expect(ACTION_NAMES.filter((name) => !ACTION_HANDLERS[name])).toEqual([]);
    expect(Object.keys(ACTION_HANDLERS).sort()).toEqual([...ACTION_NAMES].sort());
  });
});

describe('the engine, on a test workflow', () => {
  const door = defineWorkflow<'shut' | 'open' | 'locked' | 'gone', 'open' | 'close' | 'lock' | 'remove', { key: boolean }>({
    name: 'door',
    version: 1,
    description: 'a test workflow',
    states: { shut: {}, open: {}, locked: {}, gone: { final: true, compensating: true } },
    initial: 'shut',
    creation: { event: 'build', sender: 'ehr-backend' },
    transitions: [
      { event: 'open', from: ['shut'], to: 'open', sender: 'ehr-backend', guard: { name: 'has key', holds: (f) => f.key } },
      { event: 'open', from: ['shut'], to: 'locked', sender: 'ehr-backend' },
      { event: 'close', from: ['open'], to: 'shut', sender: 'ehr-backend' },
      { event: 'remove', from: ['shut', 'open', 'locked'], to: 'gone', sender: 'system' },
    ],
    timers: [{ name: 'autoclose', armedIn: ['open'], due: ({ armedAt }) => new Date(armedAt.getTime() + 1000), fires: { event: 'close' } }],
    actions: [
      { name: 'paint', on: { event: 'open' }, compensation: 'scrape' },
      { name: 'oil', on: { from: 'open', to: 'shut' }, compensation: 'wipe' },
      { name: 'alarm', on: [{ event: 'remove' }, { emitted: 'stuck' }] },
    ],
  });

  it('the first rule whose guard holds decides the target', () => {
    expect(decide(door, 'shut', 'open', { key: true })?.to).toBe('open');
    expect(decide(door, 'shut', 'open', { key: false })?.to).toBe('locked');
  });

  it('arms timers on entering their states and drops them on leaving', () => {
    expect(timerChanges(door, 'shut', 'open')).toMatchObject({ arm: [{ name: 'autoclose' }], drop: [] });
    expect(timerChanges(door, 'open', 'shut')).toEqual({ arm: [], drop: ['autoclose'] });
    expect(timerChanges(door, null, 'shut')).toEqual({ arm: [], drop: [] });
  });

  it('an edit moves only the timers whose instant it changed, keeping when each was armed', () => {
    const v2 = PRESCRIPTION_WORKFLOWS[1];
    const now = new Date('2026-01-01T00:00:00Z');
    const facts = (validUntil: string | null): PrescriptionFacts => ({
      fillsAllowed: 1,
      fillsDispensed: 0,
      validUntil: validUntil === null ? null : new Date(validUntil),
      now,
    });
    const armedAt = new Date('2025-12-31T00:00:00Z');
    const pending = [
      { name: 'expiry', armedAt },
      { name: 'processingServiceLevel', armedAt },
    ];
    const edit = (before: string | null, after: string | null, p = pending) => {
      const { drop, arm } = timerChangesOnEdit(v2, 'approved', { before: facts(before), after: facts(after), pending: p, now, settings: {} });
      return { drop, arm: arm.map(({ timer, dueAt }) => [timer.name, dueAt.toISOString()]) };
    };
    expect(edit('2026-02-01T00:00:00Z', '2026-03-01T00:00:00Z')).toEqual({ drop: ['expiry'], arm: [['expiry', '2026-03-01T00:00:00.000Z']] });
    expect(edit('2026-02-01T00:00:00Z', '2026-02-01T00:00:00Z')).toEqual({ drop: [], arm: [] });
    expect(edit('2026-02-01T00:00:00Z', null)).toEqual({ drop: ['expiry'], arm: [] });
    expect(edit(null, '2026-02-01T00:00:00Z', pending.slice(1))).toEqual({ drop: [], arm: [['expiry', '2026-02-01T00:00:00.000Z']] });
    // The service level counts from arming: no edit moves it, and one already fired is not armed again.
    expect(edit('2026-02-01T00:00:00Z', '2026-03-01T00:00:00Z', [])).toEqual({ drop: [], arm: [['expiry', '2026-03-01T00:00:00.000Z']] });
    expect(timerChangesOnEdit(v2, 'processing', { before: facts('2026-02-01T00:00:00Z'), after: facts(null), pending: [], now, settings: {} })).toEqual({
      drop: [],
      arm: [],
    });
  });

  it('finds actions by event, by change and by emission', () => {
    expect(actionsFor(door, { event: 'open', from: 'shut', to: 'open' }).map((a) => a.name)).toEqual(['paint']);
    expect(actionsFor(door, { event: 'close', from: 'open', to: 'shut' }).map((a) => a.name)).toEqual(['oil']);
    expect(actionsFor(door, { emitted: 'stuck' }).map((a) => a.name)).toEqual(['alarm']);
  });

  it('compensates completed actions newest first, once each, only at a compensating state', () => {
    expect(compensationsFor(door, 'gone', ['paint', 'oil', 'paint', 'alarm'])).toEqual(['scrape', 'wipe']);
    expect(compensationsFor(door, 'shut', ['paint'])).toEqual([]);
  });

  it('refuses a definition that names an unknown state or leaves a final one', () => {
    expect(() => defineWorkflow({ ...door, transitions: [{ event: 'x', from: ['nowhere' as never], to: 'shut', sender: 'system' }] })).toThrow(
      /unknown state 'nowhere'/,
    );
    expect(() => defineWorkflow({ ...door, transitions: [{ event: 'x', from: ['gone'], to: 'shut', sender: 'system' }] })).toThrow(/leaves final state 'gone'/);
    expect(statesOf(door)).toEqual(['shut', 'open', 'locked', 'gone']);
  });
});
