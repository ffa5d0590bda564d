import { describe, expect, it } from 'vitest';
import type { UseCaseDeps, UseCases } from '../../src/application/index.js';
import {
  BUS_COMMANDS,
  type BusCommandInput,
  type CommandTargets,
  parseBusCommand,
  runBusCommand,
} from '../../src/application/use-cases/bus-command.use-case.js';
import { type AuditEntry, buildEvent, DomainError, EVENT_TYPES, type EventEnvelope, type RequestContext } from '../../src/domain/index.js';
import type { BusMessage, CommandOutcome, CommandSource, EventBus, InboundCommand, TokenClaims, TransactionScope, UnitOfWork } from '../../src/ports/index.js';
import { startCommandsConsumer } from '../../src/transport/events/commands.consumer.js';

// ── Fakes of the ports (no I/O) ─────────────────────────────────────────────────────────────

/** A unit of work over maps: a transaction's writes are kept only if its work resolves; each is tagged with its transaction. */
function fakeDatabase() {
  const outbox: Array<{ tx: number; event: EventEnvelope }> = [];
  const commands = new Map<string, { tx: number; outcome: CommandOutcome }>();
  let transactions = 0;
  const scopeOf = (tenantId: string, tx: number, pending: { outbox: typeof outbox; commands: typeof commands }) =>
    ({
      locks: { lock: async () => undefined },
      outbox: { append: async (events: readonly EventEnvelope[]) => void pending.outbox.push(...events.map((event) => ({ tx, event }))) },
      commands: {
        claim: async () => undefined,
        find: async (id: string) => (commands.get(`${tenantId}/${id}`) ?? pending.commands.get(`${tenantId}/${id}`))?.outcome,
        record: async (outcome: CommandOutcome) => {
          const key = `${tenantId}/${outcome.commandId}`;
          if (commands.has(key) || pending.commands.has(key)) throw new Error('duplicate key value violates unique constraint');
          pending.commands.set(key, { tx, outcome });
        },
      },
    }) as unknown as TransactionScope;
  const uow: UnitOfWork = {
    async transaction(tenantId, work) {
      const tx = ++transactions;
      const pending = { outbox: [] as typeof outbox, commands: new Map() as typeof commands };
      const result = await work(scopeOf(tenantId, tx, pending));
      outbox.push(...pending.outbox);
      for (const [key, value] of pending.commands) commands.set(key, value);
      return result;
    },
    read: (tenantId, work) => work(scopeOf(tenantId, 0, { outbox: [], commands: new Map() })),
  };
  return { uow, outbox, commands, outcomes: () => outbox.filter((o) => o.event.metadata.eventType.startsWith('eprescribing.command.')) };
}

const CLAIMS: Record<string, TokenClaims> = {
  'ehr-a': { sub: 'alice', tenant: 'tenant-a', persona: 'ehr-backend' },
  'pharmacy-a': { sub: 'phil', tenant: 'tenant-a', persona: 'pharmacy-backend' },
  'ehr-b': { sub: 'bob', tenant: 'tenant-b', persona: 'ehr-backend' },
  'ehr-unlicensed': { sub: 'ursula', tenant: 'tenant-unlicensed', persona: 'ehr-backend' },
};

function fakeDeps(db = fakeDatabase()) {
  const audited: AuditEntry[] = [];
  let ids = 0;
  const deps = {
    uow: db.uow,
    audit: { recordLater: (entries: readonly AuditEntry[]) => void audited.push(...entries), flush: async () => undefined, close: async () => undefined },
    tokens: {
      verify: async (token: string) => {
        if (!CLAIMS[token]) throw new Error('bad signature');
        return CLAIMS[token];
      },
    },
    tenants: { find: async (id: string) => (id === 'tenant-unlicensed' ? { id, name: id, modules: [] } : { id, name: id, modules: ['eprescribing'] }) },
    clock: { now: () => new Date('2026-01-01T00:00:00Z') },
    newId: () => `id-${++ids}`,
  } as unknown as UseCaseDeps;
  return { deps, db, audited };
}

/** Use-cases that record how they were called and write what the real ones write: one event about the prescription, in a transaction. */
function fakeTargets(behaviour: { fail?: unknown } = {}) {
  const calls: Array<{ useCase: string; ctx: RequestContext; input: unknown }> = [];
  let version = 1;
  const write = (deps: UseCaseDeps, ctx: RequestContext, id: string) =>
    deps.uow.transaction(ctx.tenantId, async (scope) => {
      const resource = { resourceType: 'MedicationRequest', id, meta: { versionId: String(version++) } };
      // A dispense also writes an event about another resource: the outcome reports the prescription.
      await scope.outbox.append([
        buildEvent(ctx, EVENT_TYPES.medicationRequestStatusChanged, { resource }, { eventId: deps.newId(), timestamp: new Date() }),
        buildEvent(
          ctx,
          EVENT_TYPES.medicationDispenseCreated,
          { resource: { resourceType: 'MedicationDispense', id: 'd-1', meta: { versionId: '1' } } },
          { eventId: deps.newId(), timestamp: new Date() },
        ),
      ]);
      return resource;
    });
  const targets: CommandTargets = {
    createMedicationRequest: (async (deps: UseCaseDeps, ctx: RequestContext, input: unknown) => {
      calls.push({ useCase: 'createMedicationRequest', ctx, input });
      if (behaviour.fail) throw behaviour.fail;
      return write(deps, ctx, 'rx-new');
    }) as unknown as CommandTargets['createMedicationRequest'],
    transitionPrescription: (async (deps: UseCaseDeps, ctx: RequestContext, input: { id: string }) => {
      calls.push({ useCase: 'transitionPrescription', ctx, input });
      if (behaviour.fail) throw behaviour.fail;
      return write(deps, ctx, input.id);
    }) as unknown as CommandTargets['transitionPrescription'],
    priorAuthorizationEvent: (async (deps: UseCaseDeps, ctx: RequestContext, input: { id: string }) => {
      calls.push({ useCase: 'priorAuthorizationEvent', ctx, input });
      if (behaviour.fail) throw behaviour.fail;
      return deps.uow.transaction(ctx.tenantId, async (scope) => {
        const resource = { resourceType: 'Task', id: input.id, meta: { versionId: String(version++) } };
        await scope.outbox.append([
          buildEvent(ctx, EVENT_TYPES.priorAuthorizationStatusChanged, { resource }, { eventId: deps.newId(), timestamp: new Date() }),
        ]);
        return resource;
      });
    }) as unknown as NonNullable<CommandTargets['priorAuthorizationEvent']>,
  };
  return { targets, calls };
}

const input = (body: unknown, overrides: Partial<BusCommandInput> = {}): BusCommandInput => ({
  tenantId: 'tenant-a',
  commandId: 'cmd-1',
  authorization: 'Bearer ehr-a',
  body: typeof body === 'string' ? body : JSON.stringify(body),
  correlationId: 'corr-1',
  ...overrides,
});

// ── What is a command ───────────────────────────────────────────────────────────────────────

describe('a bus command body', () => {
  it.each([
    ['create', { command: 'create', resource: { resourceType: 'MedicationRequest' } }],
    ['approve with If-Match and reason', { command: 'approve', prescriptionId: 'rx-1', ifMatch: 'W/"1"', reason: 'ok' }],
    ['cancel with a null reason', { command: 'cancel', prescriptionId: 'rx-1', reason: null }],
  ])('accepts %s', (_name, body) => {
    expect(parseBusCommand(input(body))).toMatchObject({ ok: true, name: body.command, body });
  });

  it.each([
    ['not JSON', '{"command":', /the body is not JSON/],
    ['not an object', '[1,2]', /the body must be object/],
    ['without command', { prescriptionId: 'rx-1' }, /must have required property 'command'/],
    [
      'an unknown command',
      { command: 'frobnicate', prescriptionId: 'rx-1' },
      /command "frobnicate" is not one of create, approve, reject, cancel, process, dispense, complete, fail/,
    ],
    ['a system-only event', { command: 'expire', prescriptionId: 'rx-1' }, /command "expire" is not one of/],
    ['a transition without prescriptionId', { command: 'approve' }, /must have required property 'prescriptionId'/],
    ['a transition with a numeric prescriptionId', { command: 'approve', prescriptionId: 42 }, /\/prescriptionId must be string/],
    ['a member the command does not take', { command: 'approve', prescriptionId: 'rx-1', resource: {} }, /a member 'resource' that this command does not take/],
    ['a create without resource', { command: 'create' }, /must have required property 'resource'/],
    ['a create whose resource is not an object', { command: 'create', resource: 'MedicationRequest' }, /\/resource must be object/],
  ])('is not a command: %s', (_name, body, reason) => {
    const parsed = parseBusCommand(input(body));
    expect(parsed.ok).toBe(false);
    expect(!parsed.ok && parsed.reason).toMatch(reason);
  });

  it('needs a command id, a bearer token and a tenant id in the subject', () => {
    const body = { command: 'approve', prescriptionId: 'rx-1' };
    expect(parseBusCommand(input(body, { commandId: undefined }))).toEqual({ ok: false, reason: expect.stringMatching(/no Nats-Msg-Id header/) });
    expect(parseBusCommand(input(body, { commandId: 'has spaces' }))).toEqual({ ok: false, reason: expect.stringMatching(/Nats-Msg-Id must be/) });
    expect(parseBusCommand(input(body, { authorization: undefined }))).toEqual({ ok: false, reason: expect.stringMatching(/no Authorization header/) });
    expect(parseBusCommand(input(body, { tenantId: '*' }))).toEqual({ ok: false, reason: expect.stringMatching(/not a tenant id/) });
  });
});

// ── The command table ───────────────────────────────────────────────────────────────────────

describe('the command table', () => {
  it('has create and the workflow events of CONTRACT §3 and §9 a caller may send, nothing else', () => {
    expect(Object.keys(BUS_COMMANDS).sort()).toEqual([
      'appeal',
      'approve',
      'cancel',
      'complete',
      'create',
      'deny',
      'dispense',
      'fail',
      'pend',
      'process',
      'provide-info',
      'reject',
      'review',
      'withdraw',
    ]);
  });

  it.each(['review', 'approve', 'deny', 'pend', 'provide-info', 'appeal', 'withdraw'])(
    'maps %s with priorAuthorizationId to priorAuthorizationEvent, reporting the Task',
    async (command) => {
      const { deps } = fakeDeps();
      const { targets, calls } = fakeTargets();
      const result = await runBusCommand(deps, input({ command, priorAuthorizationId: 'pa-7', ifMatch: 'W/"2"', reason: 'why' }), targets);
      expect(calls.map((c) => [c.useCase, c.input])).toEqual([['priorAuthorizationEvent', { id: 'pa-7', event: command, ifMatch: 'W/"2"', reason: 'why' }]]);
      expect(result).toMatchObject({ outcome: 'accepted', reference: 'Task/pa-7' });
    },
  );

  it('refuses approve naming both a prescription and a prior authorization, or neither: not a command', () => {
    expect(parseBusCommand(input({ command: 'approve', prescriptionId: 'rx-1', priorAuthorizationId: 'pa-1' }))).toMatchObject({ ok: false });
    expect(parseBusCommand(input({ command: 'approve' }))).toMatchObject({ ok: false });
    expect(parseBusCommand(input({ command: 'close', priorAuthorizationId: 'pa-1' }))).toMatchObject({ ok: false });
  });

  it('maps create to createMedicationRequest with the resource', async () => {
    const { deps } = fakeDeps();
    const { targets, calls } = fakeTargets();
    const resource = { resourceType: 'MedicationRequest', status: 'active' };
    await runBusCommand(deps, input({ command: 'create', resource }), targets);
    expect(calls).toEqual([
      {
        useCase: 'createMedicationRequest',
        ctx: { tenantId: 'tenant-a', actor: { sub: 'alice', persona: 'ehr-backend' }, correlationId: 'corr-1' },
        input: { resource },
      },
    ]);
  });

  it.each(['approve', 'reject', 'cancel', 'process', 'dispense', 'complete', 'fail'])(
    'maps %s to transitionPrescription with its event, If-Match and reason',
    async (command) => {
      const { deps } = fakeDeps();
      const { targets, calls } = fakeTargets();
      await runBusCommand(deps, input({ command, prescriptionId: 'rx-7', ifMatch: 'W/"3"', reason: 'why' }), targets);
      expect(calls.map((c) => [c.useCase, c.input])).toEqual([['transitionPrescription', { id: 'rx-7', event: command, ifMatch: 'W/"3"', reason: 'why' }]]);
    },
  );
});

// ── Outcomes and idempotency ────────────────────────────────────────────────────────────────

describe('running a bus command', () => {
  it('records the accepted outcome and emits its event in the transaction of the effect', async () => {
    const { deps, db } = fakeDeps();
    const result = await runBusCommand(deps, input({ command: 'dispense', prescriptionId: 'rx-7' }), fakeTargets().targets);
    expect(result).toEqual({ commandId: 'cmd-1', command: 'dispense', outcome: 'accepted', reference: 'MedicationRequest/rx-7', version: 1, repeated: false });
    const effectTx = db.outbox.find((o) => o.event.metadata.eventType === EVENT_TYPES.medicationRequestStatusChanged)!.tx;
    expect(db.commands.get('tenant-a/cmd-1')!.tx).toBe(effectTx);
    const [outcome] = db.outcomes();
    expect(outcome.tx).toBe(effectTx);
    expect(outcome.event.metadata).toMatchObject({
      eventType: 'eprescribing.command.accepted.v1',
      tenantId: 'tenant-a',
      correlationId: 'corr-1',
      actor: { sub: 'alice', persona: 'ehr-backend' },
    });
    expect(outcome.event.payload).toMatchObject({
      commandId: 'cmd-1',
      command: 'dispense',
      reference: 'MedicationRequest/rx-7',
      version: 1,
      etag: 'W/"1"',
      repeated: false,
      medicationRequestId: 'rx-7',
      resource: { resourceType: 'OperationOutcome' },
    });
  });

  it('does nothing again for a command id it has seen, and emits the first outcome again', async () => {
    const { deps, db } = fakeDeps();
    const { targets, calls } = fakeTargets();
    await runBusCommand(deps, input({ command: 'approve', prescriptionId: 'rx-7' }), targets);
    const again = await runBusCommand(deps, input({ command: 'approve', prescriptionId: 'rx-7' }), targets);
    expect(calls).toHaveLength(1);
    expect(again).toMatchObject({ outcome: 'accepted', reference: 'MedicationRequest/rx-7', version: 1, repeated: true });
    expect(db.outcomes().map((o) => [o.event.metadata.eventType, o.event.payload.version, o.event.payload.repeated])).toEqual([
      ['eprescribing.command.accepted.v1', 1, false],
      ['eprescribing.command.accepted.v1', 1, true],
    ]);
  });

  it('stops a repeat that races the first inside its transaction, rolling its work back', async () => {
    const { deps, db } = fakeDeps();
    const { targets } = fakeTargets();
    // The first outcome is recorded after the repeat's lookup but before its transaction: as if another instance just committed it.
    const read = db.uow.read;
    db.uow.read = async (tenantId, work) => {
      const answer = await read(tenantId, work);
      db.commands.set('tenant-a/cmd-1', {
        tx: 99,
        outcome: { commandId: 'cmd-1', command: 'approve', outcome: 'accepted', reference: 'MedicationRequest/rx-7', version: 2 },
      });
      return answer;
    };
    const result = await runBusCommand(deps, input({ command: 'approve', prescriptionId: 'rx-7' }), targets);
    expect(result).toMatchObject({ outcome: 'accepted', version: 2, repeated: true });
    expect(db.outbox.filter((o) => o.event.metadata.eventType === EVENT_TYPES.medicationRequestStatusChanged)).toEqual([]);
    expect(db.outcomes().map((o) => o.event.payload.repeated)).toEqual([true]);
  });

  it('records a refusal of the use-case as the rejected outcome, with the code HTTP answers, and audits a persona refusal', async () => {
    const { deps, db, audited } = fakeDeps();
    const { targets } = fakeTargets({
      fail: new DomainError('FORBIDDEN_WRITE_PERSONA', "Persona 'pharmacy-backend' may not approve a prescription; allowed: ehr-backend."),
    });
    const result = await runBusCommand(deps, input({ command: 'approve', prescriptionId: 'rx-7' }, { authorization: 'Bearer pharmacy-a' }), targets);
    expect(result).toMatchObject({ outcome: 'rejected', code: 'FORBIDDEN_WRITE_PERSONA', repeated: false });
    expect(db.commands.get('tenant-a/cmd-1')!.outcome).toMatchObject({ outcome: 'rejected', code: 'FORBIDDEN_WRITE_PERSONA' });
    const [outcome] = db.outcomes();
    expect(outcome.event.metadata).toMatchObject({ eventType: 'eprescribing.command.rejected.v1', actor: { sub: 'phil', persona: 'pharmacy-backend' } });
    expect(outcome.event.payload).toMatchObject({ command: 'approve', code: 'FORBIDDEN_WRITE_PERSONA', message: expect.stringMatching(/may not approve/) });
    expect(audited).toEqual([expect.objectContaining({ outcome: 'denied', outcomeCode: 'FORBIDDEN_WRITE_PERSONA', detail: 'bus command approve' })]);
    // Its repeat is answered with the same refusal.
    const again = await runBusCommand(deps, input({ command: 'approve', prescriptionId: 'rx-7' }), fakeTargets().targets);
    expect(again).toMatchObject({ outcome: 'rejected', code: 'FORBIDDEN_WRITE_PERSONA', repeated: true });
  });

  it('keeps the issues of a validation failure in the rejection', async () => {
    const { deps, db } = fakeDeps();
    const issues = [{ expression: 'MedicationRequest.subject', diagnostics: 'subject is required' }];
    const { targets } = fakeTargets({ fail: new DomainError('PROFILE_VALIDATION_FAILURE', 'The MedicationRequest is not valid.', { issues }) });
    await runBusCommand(deps, input({ command: 'create', resource: {} }), targets);
    const [outcome] = db.outcomes();
    expect(outcome.event.payload.resource).toEqual({
      resourceType: 'OperationOutcome',
      issue: [
        {
          severity: 'error',
          code: 'processing',
          details: { coding: [{ system: 'urn:rxgate:error-code', code: 'PROFILE_VALIDATION_FAILURE' }] },
          diagnostics: 'subject is required',
          expression: ['MedicationRequest.subject'],
        },
      ],
    });
  });

  it.each([
    ['a token that does not verify', 'Bearer forged', 'UNAUTHENTICATED'],
    ['a token of another tenant than the subject’s', 'Bearer ehr-b', 'TENANT_ISOLATION_VIOLATION'],
    ['a token of a tenant without the module', 'Bearer ehr-unlicensed', 'TENANT_ISOLATION_VIOLATION'],
  ])('rejects %s without running anything or spending the command id', async (_name, authorization, code) => {
    const { deps, db } = fakeDeps();
    const { targets, calls } = fakeTargets();
    const result = await runBusCommand(deps, input({ command: 'approve', prescriptionId: 'rx-7' }, { authorization }), targets);
    expect(result).toMatchObject({ outcome: 'rejected', code });
    expect(calls).toEqual([]);
    expect(db.commands.size).toBe(0);
    expect(db.outcomes().map((o) => [o.event.metadata.tenantId, o.event.payload.code])).toEqual([['tenant-a', code]]);
  });

  it('rejects a licensed tenant’s own token for a tenant without the module with MODULE_NOT_LICENSED', async () => {
    const { deps } = fakeDeps();
    const result = await runBusCommand(
      deps,
      input({ command: 'approve', prescriptionId: 'rx-7' }, { tenantId: 'tenant-unlicensed', authorization: 'Bearer ehr-unlicensed' }),
      fakeTargets().targets,
    );
    expect(result).toMatchObject({ outcome: 'rejected', code: 'MODULE_NOT_LICENSED' });
  });

  it('throws an unexpected error without recording or emitting anything, so the message is delivered again', async () => {
    const { deps, db } = fakeDeps();
    const { targets } = fakeTargets({ fail: new Error('connection terminated') });
    await expect(runBusCommand(deps, input({ command: 'approve', prescriptionId: 'rx-7' }), targets)).rejects.toThrow('connection terminated');
    expect(db.commands.size).toBe(0);
    expect(db.outbox).toEqual([]);
  });

  it('answers not-a-command, writing nothing, for a message that is not one', async () => {
    const { deps, db } = fakeDeps();
    expect(await runBusCommand(deps, input('nope'), fakeTargets().targets)).toEqual({ outcome: 'not-a-command', reason: 'the body is not JSON' });
    expect(db.outbox).toEqual([]);
  });
});

// ── The transport consumer ──────────────────────────────────────────────────────────────────

describe('the commands consumer', () => {
  async function consumerWith(handle: UseCases['handleBusCommand']) {
    let handler!: (command: InboundCommand) => Promise<void>;
    const source: CommandSource = { consume: async (h) => ((handler = h), { close: async () => undefined, lag: async () => 0 }) };
    const published: BusMessage[] = [];
    const bus = { publish: async (m: BusMessage) => (published.push(m), { seq: published.length, duplicate: false }) } as unknown as EventBus;
    const logger = { warn: () => undefined, error: () => undefined, debug: () => undefined } as never;
    await startCommandsConsumer({ source, bus, useCases: { handleBusCommand: handle } as UseCases, logger, newId: () => 'new-id' });
    const deliver = (overrides: Partial<InboundCommand> = {}) =>
      handler({
        subject: 'cmd.eprescribing.tenant-a',
        seq: 7,
        data: Buffer.from('{}'),
        headers: { 'nats-msg-id': 'cmd-1', authorization: 'Bearer secret' },
        delivery: 1,
        lastDelivery: false,
        ...overrides,
      });
    const letters = () => published.map((m) => ({ subject: m.subject, msgId: m.msgId, body: JSON.parse(Buffer.from(m.data).toString('utf8')) }));
    return { deliver, letters };
  }

  it('hands the use-case the subject’s tenant, the command id, the token and the body', async () => {
    let seen: BusCommandInput | undefined;
    const { deliver, letters } = await consumerWith(
      async (i) => (
        (seen = i),
        { outcome: 'accepted', commandId: 'cmd-1', command: 'approve', reference: 'MedicationRequest/rx', version: 2, repeated: false }
      ),
    );
    await deliver({ headers: { 'nats-msg-id': 'cmd-1', authorization: 'Bearer t', 'x-correlation-id': 'corr-9' } });
    expect(seen).toEqual({ tenantId: 'tenant-a', commandId: 'cmd-1', authorization: 'Bearer t', body: '{}', correlationId: 'corr-9' });
    expect(letters()).toEqual([]);
  });

  it('dead-letters a message that is not a command (and a subject that names no tenant), without the token, and acknowledges it', async () => {
    const { deliver, letters } = await consumerWith(async () => ({ outcome: 'not-a-command', reason: 'the body is not JSON' }));
    await expect(deliver()).resolves.toBeUndefined();
    await expect(deliver({ subject: 'cmd.eprescribing.tenant-a.extra', seq: 8 })).resolves.toBeUndefined();
    expect(letters()).toEqual([
      {
        subject: 'dlq.eprescribing.commands.tenant-a',
        msgId: 'command:7',
        body: expect.objectContaining({
          handler: 'rxgate-commands',
          error: 'the body is not JSON',
          commandId: 'cmd-1',
          deadLetterId: expect.any(String),
          event: expect.objectContaining({ seq: 7, headers: { 'nats-msg-id': 'cmd-1' } }),
        }),
      },
      {
        subject: 'dlq.eprescribing.commands.unknown',
        msgId: 'command:8',
        body: expect.objectContaining({ error: expect.stringMatching(/is not cmd\.eprescribing\.\{tenant\}/) }),
      },
    ]);
  });

  it('lets an unexpected failure be delivered again, and dead-letters it on the last delivery', async () => {
    const { deliver, letters } = await consumerWith(async () => {
      throw new Error('database unavailable');
    });
    await expect(deliver({ delivery: 1 })).rejects.toThrow('database unavailable');
    expect(letters()).toEqual([]);
    await expect(deliver({ delivery: 5, lastDelivery: true })).resolves.toBeUndefined();
    expect(letters()).toEqual([
      {
        subject: 'dlq.eprescribing.commands.tenant-a',
        msgId: 'command:7',
        body: expect.objectContaining({
          attempts: 5,
          error: expect.stringMatching(/failed unexpectedly on each of 5 deliveries; last error: Error: database unavailable/),
        }),
      },
    ]);
  });
});
