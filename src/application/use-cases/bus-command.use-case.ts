import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import {
  DENIAL_CODES,
  deniedEntry,
  DomainError,
  EVENT_TYPES,
  type EventEnvelope,
  type EventPayload,
  type EventType,
  type Issue,
  PRIOR_AUTHORIZATION_CLIENT_EVENTS,
  type PriorAuthorizationEvent,
  type RequestContext,
  RULE_CODE_SYSTEM,
  TENANT_ID_PATTERN,
  type WorkflowEvent,
} from '../../domain/index.js';
import type { CommandOutcome, TransactionScope, UnitOfWork } from '../../ports/index.js';
import type { UseCaseDeps } from '../deps.js';
import { etagOf } from '../etag.js';
import { IDEMPOTENCY_KEY_PATTERN } from '../idempotency.js';
import { authenticate } from './authenticate.use-case.js';
import { createMedicationRequest } from './create-medication-request.use-case.js';
import { priorAuthorizationEvent } from './prior-authorization.use-case.js';
import { transitionPrescription } from './transition-prescription.use-case.js';

// ── The command table (CONTRACT §11) ────────────────────────────────────────────────────────

/** The use-cases a command may call: the ones HTTP calls (injectable, so unit tests can fake them). */
export interface CommandTargets {
  createMedicationRequest: typeof createMedicationRequest;
  transitionPrescription: typeof transitionPrescription;
  priorAuthorizationEvent?: typeof priorAuthorizationEvent;
}

const USE_CASE_TARGETS: CommandTargets = { createMedicationRequest, transitionPrescription, priorAuthorizationEvent };

/** One command: the JSON Schema of its body (beside `command`), and the use-case call it makes. */
export interface BusCommandSpec<Body> {
  /** JSON Schema of the body's members other than `command`; any other member makes it not a command. */
  body: {
    properties: Record<string, object>;
    required: readonly string[];
    /** Alternatives of required members (one of them must be present). */ oneOf?: ReadonlyArray<{ required: readonly string[] }>;
  };
  /** The resource type whose reference and version an accepted outcome reports (the last one the command's transaction wrote). */
  reports: 'MedicationRequest' | 'Task' | ((body: Body) => 'MedicationRequest' | 'Task');
  /** The use-case call, with the persona rules and errors it has over HTTP. */
  run(to: CommandTargets, deps: UseCaseDeps, ctx: RequestContext, body: Body): Promise<unknown>;
}

interface CreateBody {
  resource: Record<string, unknown>;
}

interface PrescriptionEventBody {
  prescriptionId: string;
  ifMatch?: string;
  reason?: string | null;
}

/** A workflow event of CONTRACT §3 sent to a prescription: `{ prescriptionId, ifMatch?, reason? }`. */
const prescriptionEvent = (event: WorkflowEvent): BusCommandSpec<PrescriptionEventBody> => ({
  body: {
    properties: { prescriptionId: { type: 'string', minLength: 1 }, ifMatch: { type: 'string' }, reason: { type: ['string', 'null'] } },
    required: ['prescriptionId'],
  },
  reports: 'MedicationRequest',
  run: (to, deps, ctx, body) => to.transitionPrescription(deps, ctx, { id: body.prescriptionId, event, ifMatch: body.ifMatch, reason: body.reason ?? null }),
});

interface PriorAuthorizationEventBody {
  priorAuthorizationId: string;
  ifMatch?: string;
  reason?: string | null;
}

const EVENT_BODY = { ifMatch: { type: 'string' }, reason: { type: ['string', 'null'] } };

/** An event of CONTRACT §9 sent to a prior authorization: `{ priorAuthorizationId, ifMatch?, reason? }`. */
const priorAuthorizationCommand = (event: PriorAuthorizationEvent): BusCommandSpec<PriorAuthorizationEventBody> => ({
  body: { properties: { priorAuthorizationId: { type: 'string', minLength: 1 }, ...EVENT_BODY }, required: ['priorAuthorizationId'] },
  reports: 'Task',
  run: (to, deps, ctx, body) =>
    (to.priorAuthorizationEvent ?? priorAuthorizationEvent)(deps, ctx, {
      id: body.priorAuthorizationId,
      event,
      ifMatch: body.ifMatch,
      reason: body.reason ?? null,
    }),
});

/** An event both workflows have (`approve`): the body's id member says which instance it is for. */
function eitherWorkflow(
  prescription: BusCommandSpec<PrescriptionEventBody>,
  pa: BusCommandSpec<PriorAuthorizationEventBody>,
): BusCommandSpec<PrescriptionEventBody | PriorAuthorizationEventBody> {
  const isPa = (body: PrescriptionEventBody | PriorAuthorizationEventBody): body is PriorAuthorizationEventBody => 'priorAuthorizationId' in body;
  return {
    body: {
      properties: { ...prescription.body.properties, ...pa.body.properties },
      required: [],
      oneOf: [{ required: prescription.body.required }, { required: pa.body.required }],
    },
    reports: (body) => (isPa(body) ? 'Task' : 'MedicationRequest'),
    run: (to, deps, ctx, body) => (isPa(body) ? pa.run(to, deps, ctx, body) : prescription.run(to, deps, ctx, body)),
  };
}

const PRESCRIPTION_COMMANDS = {
  create: {
    body: { properties: { resource: { type: 'object' } }, required: ['resource'] },
    reports: 'MedicationRequest',
    run: (to, deps, ctx, body) => to.createMedicationRequest(deps, ctx, { resource: body.resource }),
  } satisfies BusCommandSpec<CreateBody>,
  approve: prescriptionEvent('approve'),
  reject: prescriptionEvent('reject'),
  cancel: prescriptionEvent('cancel'),
  process: prescriptionEvent('process'),
  dispense: prescriptionEvent('dispense'),
  complete: prescriptionEvent('complete'),
  fail: prescriptionEvent('fail'),
} satisfies Record<string, BusCommandSpec<never>>;

/**
 * Every command the bus accepts, one entry each: the prescription's (CONTRACT §3, §7) and the prior
 * authorization's client events (§9, derived from its definition). A command not listed here (e.g.
 * `expire` or `close`, which only the system sends) is not a command.
 */
export const BUS_COMMANDS: Record<string, BusCommandSpec<never>> = {
  ...PRESCRIPTION_COMMANDS,
  ...Object.fromEntries(
    PRIOR_AUTHORIZATION_CLIENT_EVENTS.map((event) => {
      const pa = priorAuthorizationCommand(event);
      const shared = (PRESCRIPTION_COMMANDS as unknown as Record<string, BusCommandSpec<PrescriptionEventBody>>)[event];
      return [event, (shared ? eitherWorkflow(shared, pa) : pa) as BusCommandSpec<never>];
    }),
  ),
};

export type BusCommandName = string;

/** The JSON Schema of a command body, built from the table: one `oneOf` branch per command, told apart by `command`. */
export function busCommandSchema(commands: Record<string, BusCommandSpec<never>> = BUS_COMMANDS): object {
  return {
    type: 'object',
    required: ['command'],
    properties: { command: { type: 'string' } },
    discriminator: { propertyName: 'command' },
    oneOf: Object.entries(commands).map(([name, spec]) => ({
      properties: { command: { const: name }, ...spec.body.properties },
      required: ['command', ...spec.body.required],
      ...(spec.body.oneOf ? { oneOf: spec.body.oneOf.map((o) => ({ required: [...o.required] })) } : {}),
      additionalProperties: false,
    })),
  };
}

let validator: ValidateFunction | undefined;
const validateBody = (body: unknown): ErrorObject[] => {
  validator ??= new Ajv({ discriminator: true, allErrors: true }).compile(busCommandSchema());
  return validator(body) ? [] : (validator.errors ?? []);
};

function describeSchemaError(error: ErrorObject): string {
  if (error.keyword === 'discriminator' && error.params.error === 'mapping') {
    return `command ${JSON.stringify(String(error.params.tagValue).slice(0, 64))} is not one of ${Object.keys(BUS_COMMANDS).join(', ')}`;
  }
  if (error.keyword === 'additionalProperties')
    return `${error.instancePath || 'the body'} has a member '${String(error.params.additionalProperty).slice(0, 64)}' that this command does not take`;
  return `${error.instancePath || 'the body'} ${error.message ?? 'is invalid'}`;
}

// ── Parsing ───────────────────────────────────────────────────────────────────────────────────

export interface BusCommandInput {
  /** The tenant the subject names (`cmd.eprescribing.{tenant}`); outcomes are emitted under it. */
  tenantId: string;
  /** `Nats-Msg-Id`: the command id, which is its idempotency key. */
  commandId: string | undefined;
  /** The `Authorization` header. */
  authorization: string | undefined;
  /** The message body as received (UTF-8). */
  body: string;
  correlationId: string;
}

type Parsed = { ok: true; name: BusCommandName; body: Record<string, unknown>; commandId: string; authorization: string } | { ok: false; reason: string };

/** Whether the message is a command at all; `reason` says what is missing or wrong when it is not. */
export function parseBusCommand(input: BusCommandInput): Parsed {
  if (!TENANT_ID_PATTERN.test(input.tenantId))
    return { ok: false, reason: `the subject's tenant '${input.tenantId.slice(0, 64)}' is not a tenant id ([A-Za-z0-9_-]{1,64})` };
  if (input.commandId === undefined) return { ok: false, reason: 'no Nats-Msg-Id header: the command id is required (a UUID is recommended)' };
  if (!IDEMPOTENCY_KEY_PATTERN.test(input.commandId))
    return { ok: false, reason: 'Nats-Msg-Id must be 1-128 characters of A-Z a-z 0-9 _ . : - (a UUID is recommended)' };
  if (input.authorization === undefined || input.authorization.trim() === '')
    return { ok: false, reason: 'no Authorization header: send Authorization: Bearer <JWT>' };
  let body: unknown;
  try {
    body = JSON.parse(input.body);
  } catch {
    return { ok: false, reason: 'the body is not JSON' };
  }
  const errors = validateBody(body);
  if (errors.length > 0) return { ok: false, reason: `the body is not a command: ${errors.slice(0, 5).map(describeSchemaError).join('; ')}` };
  const command = body as { command: BusCommandName } & Record<string, unknown>;
  return { ok: true, name: command.command, body: command, commandId: input.commandId, authorization: input.authorization };
}

// ── Outcomes ──────────────────────────────────────────────────────────────────────────────────

export type BusCommandResult =
  | (CommandOutcome & { /** True when the command id had been processed before: nothing was done again. */ repeated: boolean })
  | { outcome: 'not-a-command'; reason: string };

/** Who sent the command, as far as it is proven: a refused token proves nobody. */
type Sender = { tenantId: string; correlationId: string; actor: { sub: string; persona: string } };
const UNPROVEN = { sub: 'unauthenticated', persona: 'unauthenticated' };

/** FHIR R4 operationoutcome.html: the outcome as a resource, so the event carries one like every event of the stream. */
function operationOutcome(outcome: CommandOutcome): EventPayload['resource'] {
  if (outcome.outcome === 'accepted') {
    return {
      resourceType: 'OperationOutcome',
      issue: [
        {
          severity: 'information',
          code: 'informational',
          diagnostics: `Command ${outcome.command} accepted: ${outcome.reference} is at version ${outcome.version}.`,
        },
      ],
    };
  }
  const details = { coding: [{ system: 'urn:rxgate:error-code', code: outcome.code }] };
  const issues = outcome.issues.length > 0 ? outcome.issues : [{ diagnostics: outcome.message }];
  // A prescribing-rule issue names its rule after the error code (CONTRACT §8), as over FHIR.
  const detailsOf = (i: Issue) => (i.rule ? { coding: [...details.coding, { system: RULE_CODE_SYSTEM, code: i.rule }] } : details);
  return {
    resourceType: 'OperationOutcome',
    issue: issues.map((i) => ({
      severity: 'error',
      code: 'processing',
      details: detailsOf(i),
      diagnostics: i.diagnostics,
      ...(i.expression ? { expression: [i.expression] } : {}),
    })),
  };
}

/** The outcome's event; built here rather than with `buildEvent`, whose context needs a persona an unproven sender lacks. */
function outcomeEvent(deps: UseCaseDeps, sender: Sender, outcome: CommandOutcome, repeated: boolean): EventEnvelope {
  const type: EventType = outcome.outcome === 'accepted' ? EVENT_TYPES.commandAccepted : EVENT_TYPES.commandRejected;
  const payload: EventPayload =
    outcome.outcome === 'accepted'
      ? {
          resource: operationOutcome(outcome),
          commandId: outcome.commandId,
          command: outcome.command,
          reference: outcome.reference,
          version: outcome.version,
          etag: etagOf(outcome.version),
          repeated,
          ...(outcome.reference.startsWith('MedicationRequest/') ? { medicationRequestId: outcome.reference.slice('MedicationRequest/'.length) } : {}),
        }
      : { resource: operationOutcome(outcome), commandId: outcome.commandId, command: outcome.command, code: outcome.code, message: outcome.message, repeated };
  return {
    metadata: {
      eventId: deps.newId(),
      eventType: type,
      eventSource: 'rxgate',
      timestamp: deps.clock.now().toISOString(),
      sequence: '',
      tenantId: sender.tenantId,
      correlationId: sender.correlationId,
      causationId: null,
      actor: { sub: sender.actor.sub, persona: sender.actor.persona },
      schemaVersion: 1,
    },
    payload,
  };
}

/** The accepted outcome of a transaction: the last resource of the reported type it wrote an event about. */
function acceptedOutcome(commandId: string, command: string, reports: string, written: readonly EventEnvelope[]): CommandOutcome {
  const resource = written.map((e) => e.payload.resource).findLast((r) => r.resourceType === reports && typeof r.id === 'string');
  const version = Number((resource?.meta as { versionId?: string } | undefined)?.versionId);
  if (!resource || !Number.isInteger(version)) throw new Error(`command ${command} committed no event about a ${reports} with an id and version`);
  return { commandId, command, outcome: 'accepted', reference: `${reports}/${resource.id}`, version };
}

/** Thrown inside the command's transaction when its id turns out to be processed already: rolls the work back. */
class AlreadyProcessed extends Error {
  constructor(readonly prior: CommandOutcome) {
    super(`command ${prior.commandId} was processed already`);
  }
}

/**
 * A unit of work whose transaction (the first to commit) also carries the command's bookkeeping, so
 * the effect, the record of the command id and the accepted event commit together or not at all:
 * before the use-case's work the id is claimed and looked up (a repeat racing the first stops
 * there), after it the outcome is recorded from the events the work wrote.
 */
function enlisting(
  uow: UnitOfWork,
  commandId: string,
  command: string,
  reports: string,
  sender: () => Sender,
  deps: UseCaseDeps,
): { uow: UnitOfWork; recorded(): CommandOutcome | undefined } {
  let recorded: CommandOutcome | undefined;
  const transaction: UnitOfWork['transaction'] = async (tenantId, work) => {
    if (recorded) return uow.transaction(tenantId, work);
    let outcome: CommandOutcome | undefined;
    const result = await uow.transaction(tenantId, async (scope) => {
      await scope.commands.claim(commandId);
      const prior = await scope.commands.find(commandId);
      if (prior) throw new AlreadyProcessed(prior);
      const written: EventEnvelope[] = [];
      const watched: TransactionScope = { ...scope, outbox: { append: async (events) => (written.push(...events), scope.outbox.append(events)) } };
      const value = await work(watched);
      outcome = acceptedOutcome(commandId, command, reports, written);
      await scope.commands.record(outcome);
      await scope.outbox.append([outcomeEvent(deps, sender(), outcome, false)]);
      return value;
    });
    recorded = outcome;
    return result;
  };
  return { uow: { read: (tenantId, work) => uow.read(tenantId, work), transaction }, recorded: () => recorded };
}

/** Records a refusal (unless the id turns out to be processed already) and emits its event, in one transaction. */
async function recordRejection(deps: UseCaseDeps, sender: Sender, outcome: CommandOutcome): Promise<BusCommandResult> {
  return deps.uow.transaction(sender.tenantId, async (scope) => {
    await scope.commands.claim(outcome.commandId);
    const prior = await scope.commands.find(outcome.commandId);
    if (prior) {
      await scope.outbox.append([outcomeEvent(deps, sender, prior, true)]);
      return { ...prior, repeated: true };
    }
    await scope.commands.record(outcome);
    await scope.outbox.append([outcomeEvent(deps, sender, outcome, false)]);
    return { ...outcome, repeated: false };
  });
}

/** Emits the first outcome of a command id again (a repeat does nothing else). */
async function emitAgain(deps: UseCaseDeps, sender: Sender, prior: CommandOutcome): Promise<BusCommandResult> {
  await deps.uow.transaction(sender.tenantId, (scope) => scope.outbox.append([outcomeEvent(deps, sender, prior, true)]));
  return { ...prior, repeated: true };
}

const rejection = (commandId: string, command: string, error: DomainError): CommandOutcome => ({
  commandId,
  command,
  outcome: 'rejected',
  code: error.code,
  message: error.message,
  issues: error.issues.map((i: Issue) => ({
    diagnostics: i.diagnostics,
    ...(i.expression ? { expression: i.expression } : {}),
    ...(i.rule ? { rule: i.rule } : {}),
  })),
});

// ── The use-case ──────────────────────────────────────────────────────────────────────────────

/**
 * Handles one command received over the bus (CONTRACT §11): the token verified exactly as HTTP's
 * (a token of another tenant than the subject's is `TENANT_ISOLATION_VIOLATION`), then the same
 * use-case, persona rules and errors as HTTP. The outcome is an event under the subject's tenant,
 * through the outbox: `command.accepted` in the effect's own transaction, or `command.rejected`
 * for a domain error. A command id seen before does nothing again and emits its first outcome
 * again. Answers `not-a-command` (nothing written) for a message that is not one; throws only on
 * an unexpected error, which the caller should retry (nothing was recorded).
 *
 * A refusal of the token itself (401, or 403 at the tenant wall) is emitted but not recorded: an
 * unproven sender must not be able to spend a command id that belongs to someone else.
 */
export async function runBusCommand(deps: UseCaseDeps, input: BusCommandInput, to: CommandTargets): Promise<BusCommandResult> {
  const parsed = parseBusCommand(input);
  if (!parsed.ok) return { outcome: 'not-a-command', reason: parsed.reason };
  const { name, body, commandId } = parsed;
  let ctx: RequestContext;
  try {
    ctx = await authenticate(deps, {
      authorization: parsed.authorization,
      tenantHeader: input.tenantId,
      tenantNamedBy: `The subject (cmd.eprescribing.${input.tenantId})`,
      correlationId: input.correlationId,
    });
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    const outcome = rejection(commandId, name, error);
    const sender = { tenantId: input.tenantId, correlationId: input.correlationId, actor: UNPROVEN };
    await deps.uow.transaction(input.tenantId, (scope) => scope.outbox.append([outcomeEvent(deps, sender, outcome, false)]));
    return { ...outcome, repeated: false };
  }
  const sender: Sender = ctx;

  const prior = await deps.uow.read(ctx.tenantId, (scope) => scope.commands.find(commandId));
  if (prior) return emitAgain(deps, sender, prior);

  const spec: BusCommandSpec<never> = BUS_COMMANDS[name];
  const reports = typeof spec.reports === 'function' ? spec.reports(body as never) : spec.reports;
  const enlisted = enlisting(deps.uow, commandId, name, reports, () => sender, deps);
  try {
    await spec.run(to, { ...deps, uow: enlisted.uow }, ctx, body as never);
  } catch (error) {
    if (error instanceof AlreadyProcessed) return emitAgain(deps, sender, error.prior);
    if (!(error instanceof DomainError)) throw error;
    // Refusals are audited as over HTTP (the transaction that would have recorded the attempt never committed).
    if (DENIAL_CODES.has(error.code)) deps.audit.recordLater([deniedEntry(ctx, error.code, `bus command ${name}`)]);
    return recordRejection(deps, sender, rejection(commandId, name, error));
  }
  const outcome = enlisted.recorded();
  if (!outcome) throw new Error(`command ${name} ran no transaction: nothing recorded`);
  return { ...outcome, repeated: false };
}

/** {@link runBusCommand} with the use-cases HTTP calls. */
export const handleBusCommand = (deps: UseCaseDeps, input: BusCommandInput): Promise<BusCommandResult> => runBusCommand(deps, input, USE_CASE_TARGETS);
