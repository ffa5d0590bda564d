// The live prescription board: a tenant's prescriptions in columns by workflow state, moved as
// `prescriptionEvents` arrive over graphql-ws; the subscription resumes with `after` when the socket drops.
import '../shared/page.css';
import './board.css';
import { type Client, createClient } from 'graphql-ws';
import { GraphqlError, graphqlRequest, graphqlWsUrl } from '../shared/session';
import { mountSignIn } from '../shared/sign-in';
import { renderDiagram, transitionsTable, type WorkflowDefinition } from './workflow-diagram';

interface Card {
  id: string;
  versionId: string;
  workflowStatus: string;
  lastUpdated: string;
  authoredOn?: string | null;
  medication: { text?: string | null; coding: Array<{ code?: string | null; display?: string | null }> };
  subject: { reference?: string | null; display?: string | null };
}

interface PrescriptionEvent {
  sequence: string;
  type: string;
  event?: string | null;
  from?: string | null;
  to?: string | null;
  medicationRequest?: Card | null;
}

const CARD_FIELDS = 'id versionId workflowStatus lastUpdated authoredOn medication { text coding { code display } } subject { reference display }';
const PAGE_SIZE = 200;
/** The board shows at most this many prescriptions (the oldest first, as listed). */
const MAX_CARDS = 2_000;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const element = <K extends keyof HTMLElementTagNameMap>(tag: K, attributes: Record<string, string> = {}, text?: string): HTMLElementTagNameMap[K] => {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = text;
  return node;
};
const when = (iso: string | null | undefined) => (iso ? new Date(iso).toLocaleString() : '');
const label = (card: Card) => card.medication.text ?? card.medication.coding[0]?.display ?? card.medication.coding[0]?.code ?? 'Prescription';

// ─── The workflow definition ───────────────────────────────────────────────────────────────────────
// Columns are the PrescriptionStatus enum's values, in its declared order (introspection); the diagram is
// the current prescription definition (the highest version of `prescription`) from `workflowDefinitions`.
interface WorkflowView {
  /** States in display order; empty when they cannot be read (columns then appear as states are seen). */
  states: string[];
  /** The definition new prescriptions run under, when it could be read. */
  definition?: WorkflowDefinition;
}

async function loadWorkflow(token: string): Promise<WorkflowView> {
  const [states, definition] = await Promise.all([
    graphqlRequest<{ __type: { enumValues: Array<{ name: string }> } | null }>(token, '{ __type(name: "PrescriptionStatus") { enumValues { name } } }').then(
      (data) => data.__type?.enumValues.map((v) => v.name) ?? [],
      () => [] as string[], // introspection is off (production without GRAPHQL_EXPLORER)
    ),
    graphqlRequest<{ workflowDefinitions: WorkflowDefinition[] }>(
      token,
      '{ workflowDefinitions { name version description states { name final } transitions { event from to persona guard } timers actions mermaid } }',
    ).then(
      (data) => data.workflowDefinitions.filter((d) => d.name === 'prescription').sort((a, b) => b.version - a.version)[0],
      () => undefined,
    ),
  ]);
  return { states, definition };
}

/** The diagram panel, opened by its button; it holds the SVG, the transitions as a table, and the mermaid text. */
class DiagramPanel {
  private readonly panel = $<HTMLElement>('workflow-diagram');
  private readonly toggle = $<HTMLButtonElement>('workflow-toggle');

  constructor() {
    this.toggle.addEventListener('click', () => this.show(this.panel.hidden));
    document.addEventListener('keydown', (event) => {
      if (event.key === 'Escape' && !this.panel.hidden && this.panel.contains(document.activeElement)) {
        this.show(false);
        this.toggle.focus();
      }
    });
  }

  show(open: boolean): void {
    this.panel.hidden = !open;
    this.toggle.setAttribute('aria-expanded', String(open));
    if (open) this.panel.focus();
  }

  render(definition: WorkflowDefinition | undefined): void {
    this.show(false);
    this.toggle.hidden = !definition;
    if (!definition) {
      this.panel.replaceChildren();
      return;
    }
    const heading = element('h2', { id: 'workflow-title' }, `Workflow ${definition.name} v${definition.version}`);
    const scroller = element('div', { class: 'diagram-scroll' });
    scroller.append(renderDiagram(definition));
    const table = element('details', { class: 'workflow-text', open: '' });
    table.append(element('summary', {}, 'Transitions as a table'), transitionsTable(definition));
    const mermaid = element('details', { class: 'workflow-text' });
    const copy = element('button', { type: 'button', class: 'action' }, 'Copy');
    const text = element('pre', { 'data-testid': 'workflow-mermaid' }, definition.mermaid);
    copy.addEventListener('click', () => {
      void navigator.clipboard?.writeText(definition.mermaid).then(
        () => (copy.textContent = 'Copied'),
        () => window.getSelection()?.selectAllChildren(text), // no clipboard: select it for the user to copy
      );
    });
    mermaid.append(element('summary', {}, 'Mermaid text'), copy, text);
    const facts = element(
      'p',
      { class: 'workflow-facts' },
      `${definition.description} Timers: ${definition.timers.join(', ') || 'none'}. Actions: ${definition.actions.join(', ') || 'none'}.`,
    );
    this.panel.replaceChildren(heading, facts, scroller, table, mermaid);
  }
}

class Board {
  private readonly cards = new Map<string, { card: Card; item: HTMLLIElement }>();
  private readonly columns = new Map<string, { section: HTMLElement; list: HTMLOListElement; count: HTMLElement }>();

  constructor(
    private readonly container: HTMLElement,
    private readonly onOpen: (id: string, opener: HTMLElement) => void,
  ) {}

  reset(states: string[]): void {
    this.cards.clear();
    this.columns.clear();
    this.container.replaceChildren();
    for (const state of states) this.column(state);
  }

  private column(state: string) {
    let column = this.columns.get(state);
    if (!column) {
      const headingId = `column-${state}`;
      const section = element('section', { class: 'column', 'data-state': state, 'aria-labelledby': headingId });
      const count = element('span', { class: 'count' }, '0');
      const heading = element('h2', { id: headingId }, state);
      heading.append(count);
      const list = element('ol', { 'aria-label': `${state} prescriptions` });
      section.append(heading, list);
      this.container.append(section);
      column = { section, list, count };
      this.columns.set(state, column);
    }
    return column;
  }

  get size(): number {
    return this.cards.size;
  }

  /** Places a prescription in its state's column; an older version than the one shown is ignored. Answers whether it moved. */
  upsert(card: Card, highlight: boolean): boolean {
    const existing = this.cards.get(card.id);
    if (existing && Number(existing.card.versionId) > Number(card.versionId)) return false;
    const item = existing?.item ?? element('li', { 'data-id': card.id });
    const button = element('button', { type: 'button', class: 'card', 'data-testid': 'card' });
    button.append(
      element('span', { class: 'medication' }, label(card)),
      element('span', { class: 'meta' }, `${card.subject.display ?? card.subject.reference ?? ''} · ${card.id.slice(0, 8)}`),
      element('span', { class: 'meta' }, `updated ${when(card.lastUpdated)}`),
    );
    button.setAttribute('aria-label', `${label(card)}, ${card.subject.reference ?? ''}, ${card.workflowStatus}. Open its timeline.`);
    button.addEventListener('click', () => this.onOpen(card.id, button));
    item.replaceChildren(button);
    const moved = existing?.card.workflowStatus !== card.workflowStatus;
    this.cards.set(card.id, { card, item });
    if (moved) {
      const column = this.column(card.workflowStatus);
      column.list.prepend(item); // newest arrivals on top
      item.dataset.state = card.workflowStatus;
      this.recount();
    }
    if (highlight) {
      button.classList.add('moved');
      button.addEventListener('animationend', () => button.classList.remove('moved'), { once: true });
    }
    return moved;
  }

  private recount(): void {
    for (const column of this.columns.values()) column.count.textContent = String(column.list.childElementCount);
  }
}

/** One graphql-ws subscription that reconnects on its own, resuming after the last event it saw. */
class LiveEvents {
  private client: Client | undefined;
  private after: string | undefined;
  private attempt = 0;
  private stopped = false;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly token: string,
    private readonly handlers: {
      event(event: PrescriptionEvent): void;
      status(status: 'connecting' | 'live' | 'reconnecting' | 'error', text: string): void;
      /** Reconnected with no cursor to resume from (or an expired one): what happened meanwhile is unknown. */
      resync(): Promise<void>;
    },
  ) {}

  start(): void {
    this.handlers.status('connecting', 'Connecting…');
    this.connect(false);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    void this.client?.dispose();
  }

  private connect(reconnecting: boolean): void {
    if (this.stopped) return;
    const client = createClient({
      url: graphqlWsUrl(),
      connectionParams: { authorization: `Bearer ${this.token}` },
      retryAttempts: 0, // reconnection is ours, so the resubscription carries the newest cursor
      on: {
        connected: () => {
          this.attempt = 0;
          this.handlers.status('live', 'Live');
          if (reconnecting && this.after === undefined) void this.handlers.resync();
        },
      },
    });
    this.client = client;
    client.subscribe<{ prescriptionEvents: PrescriptionEvent }>(
      {
        query: `subscription Board($after: String) { prescriptionEvents(after: $after) { sequence type event from to medicationRequest { ${CARD_FIELDS} } } }`,
        variables: { after: this.after ?? null },
      },
      {
        next: (result) => {
          const event = result.data?.prescriptionEvents;
          if (event) {
            this.after = event.sequence;
            this.handlers.event(event);
          } else if (result.errors?.length) this.fail(result.errors[0].message, String(result.errors[0].extensions?.code ?? ''));
        },
        error: (error) => {
          const first = Array.isArray(error) ? (error[0] as { message?: string; extensions?: { code?: string } }) : undefined;
          if (first) this.fail(first.message ?? 'Subscription refused.', first.extensions?.code ?? '');
          else this.retry();
        },
        complete: () => this.retry(),
      },
    );
  }

  private fail(message: string, code: string): void {
    if (code === 'CURSOR_EXPIRED') {
      this.after = undefined; // start again live, after reloading the board
      this.retry();
      return;
    }
    this.stop();
    this.handlers.status('error', code === 'UNAUTHENTICATED' ? 'Signed out: the token was refused or expired' : message);
  }

  private retry(): void {
    if (this.stopped) return;
    void this.client?.dispose();
    const delay = Math.min(15_000, 500 * 2 ** this.attempt++);
    this.handlers.status('reconnecting', `Reconnecting in ${Math.round(delay / 1000)} s…`);
    this.timer = setTimeout(() => this.connect(true), delay);
  }
}

interface WorkflowStep {
  name: string;
  status: string;
  attempts: number;
  lastError: string | null;
}
interface WorkflowInstance {
  definition: string;
  version: number;
  state: string;
  timers: Array<{ name: string; dueAt: string }>;
  actions: WorkflowStep[];
  compensations: WorkflowStep[];
}
interface Fills {
  allowed: number;
  dispensed: number;
  remaining: number;
  nextEligibleAt: string | null;
  validUntil: string | null;
}

class Timeline {
  private openId: string | undefined;
  private opener: HTMLElement | undefined;
  private readonly panel = $<HTMLElement>('timeline');
  private readonly body = $<HTMLElement>('timeline-body');

  constructor(private readonly token: () => string | undefined) {
    $('timeline-close').addEventListener('click', () => this.close());
    document.addEventListener('keydown', (event) => {
      if (event.key === 'Escape' && !this.panel.hidden) this.close();
    });
  }

  async open(id: string, opener?: HTMLElement): Promise<void> {
    this.openId = id;
    if (opener) this.opener = opener;
    this.panel.hidden = false;
    if (opener) this.panel.focus();
    await this.refresh(id);
  }

  /** Refreshes the panel when the prescription it shows changed. */
  changed(id: string): void {
    if (this.openId === id && !this.panel.hidden) void this.refresh(id);
  }

  close(): void {
    this.panel.hidden = true;
    // The card may have been redrawn (its state changed) while open: focus the one now shown for that prescription.
    const id = this.opener?.closest('li')?.dataset.id ?? this.openId;
    const opener = this.opener?.isConnected ? this.opener : id ? document.querySelector<HTMLElement>(`li[data-id="${CSS.escape(id)}"] button`) : null;
    this.openId = undefined;
    opener?.focus();
  }

  private async refresh(id: string): Promise<void> {
    const token = this.token();
    if (!token) return;
    try {
      const data = await graphqlRequest<{
        medicationRequest:
          | (Card & {
              pharmacy: { name: string } | null;
              transitions: Array<{ event: string; from: string | null; to: string; actor: string; reason: string | null; at: string }>;
              dispenses: Array<{
                id: string;
                status: string;
                quantity: { value: number | null; unit: string | null } | null;
                whenPrepared: string | null;
                whenHandedOver: string | null;
                lastUpdated: string;
              }>;
              workflow: WorkflowInstance;
              fills: Fills;
            })
          | null;
      }>(
        token,
        `query Timeline($id: ID!) { medicationRequest(id: $id) { ${CARD_FIELDS} pharmacy { name } transitions { event from to actor reason at } dispenses { id status quantity { value unit } whenPrepared whenHandedOver lastUpdated } workflow { definition version state timers { name dueAt } actions { name status attempts lastError } compensations { name status attempts lastError } } fills { allowed dispensed remaining nextEligibleAt validUntil } } }`,
        { id },
      );
      if (this.openId !== id) return;
      const request = data.medicationRequest;
      if (!request) {
        this.body.replaceChildren(element('p', {}, 'This prescription no longer exists for your tenant.'));
        return;
      }
      $('timeline-title').textContent = label(request);
      const facts = element('dl');
      const fact = (term: string, value: string) => facts.append(element('dt', {}, term), element('dd', {}, value));
      fact('Id', request.id);
      fact('State', request.workflowStatus);
      fact('Patient', request.subject.reference ?? '');
      fact('Pharmacy', request.pharmacy?.name ?? '');
      fact('Written', when(request.authoredOn));
      fact('Workflow', `${request.workflow.definition} v${request.workflow.version} · ${request.workflow.state}`);
      const fills = element('dl', { 'data-testid': 'fills' });
      const fill = (term: string, value: string) => fills.append(element('dt', {}, term), element('dd', {}, value));
      fill('Allowed', String(request.fills.allowed));
      fill('Dispensed', String(request.fills.dispensed));
      fill('Remaining', String(request.fills.remaining));
      fill('Next eligible', request.fills.nextEligibleAt ? when(request.fills.nextEligibleAt) : '—');
      fill('Valid until', request.fills.validUntil ? when(request.fills.validUntil) : '—');
      const timers = element('ul', { 'data-testid': 'timers' });
      for (const timer of request.workflow.timers) {
        const item = element('li');
        item.append(element('strong', {}, timer.name), element('span', { class: 'when' }, `due ${when(timer.dueAt)}`));
        timers.append(item);
      }
      if (request.workflow.timers.length === 0) timers.append(element('li', {}, 'None pending.'));
      const steps = (testid: string, list: WorkflowStep[]) => {
        const out = element('ul', { 'data-testid': testid });
        for (const step of list) {
          const item = element('li', { 'data-status': step.status });
          item.append(
            element('strong', {}, step.name),
            ` ${step.status}`,
            element(
              'span',
              { class: 'when' },
              `${step.attempts} attempt${step.attempts === 1 ? '' : 's'}${step.lastError ? ` · last error: ${step.lastError}` : ''}`,
            ),
          );
          out.append(item);
        }
        if (list.length === 0) out.append(element('li', {}, 'None.'));
        return out;
      };
      const transitions = element('ol', { 'data-testid': 'transitions' });
      for (const t of request.transitions) {
        const item = element('li');
        item.append(element('strong', {}, t.event), ` ${t.from ?? '—'} → ${t.to}`, element('span', { class: 'when' }, `${when(t.at)} · by ${t.actor}`));
        if (t.reason) item.append(element('span', { class: 'when' }, `reason: ${t.reason}`));
        transitions.append(item);
      }
      const dispenses = element('ul', { 'data-testid': 'dispenses' });
      for (const d of request.dispenses) {
        const item = element('li');
        item.append(
          element('strong', {}, d.status),
          ` ${d.quantity?.value ?? ''} ${d.quantity?.unit ?? ''}`,
          element('span', { class: 'when' }, d.whenHandedOver ? `handed over ${when(d.whenHandedOver)}` : `prepared ${when(d.whenPrepared ?? d.lastUpdated)}`),
        );
        dispenses.append(item);
      }
      if (request.dispenses.length === 0) dispenses.append(element('li', {}, 'None yet.'));
      this.body.replaceChildren(
        facts,
        element('h3', {}, 'Fills'),
        fills,
        element('h3', {}, 'Transitions'),
        transitions,
        element('h3', {}, 'Dispenses'),
        dispenses,
        element('h3', {}, 'Pending timers'),
        timers,
        element('h3', {}, 'Actions'),
        steps('actions', request.workflow.actions),
        element('h3', {}, 'Compensations'),
        steps('compensations', request.workflow.compensations),
      );
    } catch (error) {
      this.body.replaceChildren(element('p', { role: 'alert' }, (error as Error).message));
    }
  }
}

let live: LiveEvents | undefined;
let currentToken: string | undefined;
const status = $('live-status');
const message = $('board-message');
const announcer = $('announcer');
const timeline = new Timeline(() => currentToken);
const diagram = new DiagramPanel();
const board = new Board($('columns'), (id, opener) => void timeline.open(id, opener));

/** Prescriptions of the tenant (as listed, plus those created since). */
let total = 0;
const summarize = () => ($('board-summary').textContent = total > board.size ? `showing ${board.size} of ${total}` : `${total} prescriptions`);

async function loadPrescriptions(token: string): Promise<void> {
  let after: string | null = null;
  do {
    const page: { medicationRequests: { totalCount: number; pageInfo: { hasNextPage: boolean; endCursor: string | null }; edges: Array<{ node: Card }> } } =
      await graphqlRequest(
        token,
        `query Board($after: String, $first: Int) { medicationRequests(after: $after, first: $first) { totalCount pageInfo { hasNextPage endCursor } edges { node { ${CARD_FIELDS} } } } }`,
        { after, first: PAGE_SIZE },
      );
    total = page.medicationRequests.totalCount;
    for (const edge of page.medicationRequests.edges) board.upsert(edge.node, false);
    after = page.medicationRequests.pageInfo.hasNextPage ? page.medicationRequests.pageInfo.endCursor : null;
  } while (after && board.size < MAX_CARDS);
  summarize();
}

async function show(token: string | undefined): Promise<void> {
  live?.stop();
  live = undefined;
  currentToken = token;
  message.textContent = '';
  timeline.close();
  if (!token) {
    board.reset([]);
    diagram.render(undefined);
    status.dataset.status = 'idle';
    status.textContent = 'Not connected';
    message.textContent = 'Sign in to see the prescriptions of a tenant.';
    return;
  }
  const workflow = await loadWorkflow(token);
  board.reset(workflow.states);
  diagram.render(workflow.definition);
  const session = new LiveEvents(token, {
    event: (event) => {
      const card = event.medicationRequest;
      if (!card) return;
      const before = board.size;
      if (board.upsert(card, true)) announcer.textContent = `${label(card)} (${card.id.slice(0, 8)}) is now ${card.workflowStatus}.`;
      if (board.size > before) {
        total++;
        summarize();
      }
      timeline.changed(card.id);
    },
    status: (state, text) => {
      status.dataset.status = state;
      status.textContent = text;
    },
    resync: () => loadPrescriptions(token),
  });
  live = session;
  // Subscribed first, then listed: a change committed while the list loads arrives as an event (versions decide).
  session.start();
  try {
    await loadPrescriptions(token);
  } catch (error) {
    message.textContent =
      error instanceof GraphqlError && error.code === 'UNAUTHENTICATED' ? 'The token was refused: sign in again.' : (error as Error).message;
  }
}

void mountSignIn($('sign-in'), (token) => void show(token));
