// The workflow's state diagram, drawn as inline SVG from `workflowDefinitions` (no diagram library: the
// graph is small). States are boxes in layers by breadth-first distance from the initial state, left to
// right; transitions are arrows labelled with their event (and guard). A table of the transitions is the
// text alternative; the definition's mermaid text is offered for copying.

export interface WorkflowDefinition {
  name: string;
  version: number;
  description: string;
  states: Array<{ name: string; final: boolean }>;
  transitions: Array<{ event: string; from: string; to: string; persona: string; guard?: string | null }>;
  timers: string[];
  actions: string[];
  mermaid: string;
}

const SVG = 'http://www.w3.org/2000/svg';
const BOX = { width: 116, height: 34 };
const GAP = { x: 96, y: 46 };
const MARGIN = { x: 16, y: 40 };

const svg = <K extends keyof SVGElementTagNameMap>(tag: K, attributes: Record<string, string | number> = {}, text?: string): SVGElementTagNameMap[K] => {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
};

/** Breadth-first distance of each state from `initial`; states it cannot reach go one layer past the last. */
export function layers(definition: WorkflowDefinition, initial: string): string[][] {
  const distance = new Map<string, number>([[initial, 0]]);
  const queue = [initial];
  while (queue.length) {
    const state = queue.shift()!;
    for (const t of definition.transitions) {
      if (t.from === state && !distance.has(t.to)) {
        distance.set(t.to, distance.get(state)! + 1);
        queue.push(t.to);
      }
    }
  }
  const deepest = Math.max(...distance.values());
  const result: string[][] = [];
  // Within a layer, states keep the definition's order.
  for (const { name } of definition.states) {
    const layer = distance.get(name) ?? deepest + 1;
    (result[layer] ??= []).push(name);
  }
  return result.filter(Boolean);
}

const edgeLabel = (t: { event: string; guard?: string | null }) => (t.guard ? `${t.event} [${t.guard}]` : t.event);

/** The diagram as an SVG element (role img, titled); its text alternative is `transitionsTable`. */
export function renderDiagram(definition: WorkflowDefinition, initial = 'requested'): SVGSVGElement {
  const columns = layers(definition, initial);
  const tallest = Math.max(...columns.map((c) => c.length));
  const width = MARGIN.x * 2 + columns.length * BOX.width + (columns.length - 1) * GAP.x;
  const height = MARGIN.y * 2 + tallest * BOX.height + (tallest - 1) * GAP.y + 40; // room below for arrows that go back
  const position = new Map<string, { x: number; y: number; layer: number }>();
  columns.forEach((states, layer) => {
    const offset = ((tallest - states.length) * (BOX.height + GAP.y)) / 2; // centre each layer vertically
    states.forEach((state, row) =>
      position.set(state, { x: MARGIN.x + layer * (BOX.width + GAP.x), y: MARGIN.y + offset + row * (BOX.height + GAP.y), layer }),
    );
  });
  const finals = new Set(definition.states.filter((s) => s.final).map((s) => s.name));

  const root = svg('svg', {
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    role: 'img',
    'aria-labelledby': 'workflow-svg-title',
    class: 'workflow-svg',
    'data-testid': 'workflow-svg',
  });
  root.append(
    svg(
      'title',
      { id: 'workflow-svg-title' },
      `State diagram of workflow ${definition.name} version ${definition.version}; the transitions are listed in the table below.`,
    ),
  );
  const defs = svg('defs');
  const marker = svg('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' });
  marker.append(svg('path', { d: 'M0,0 L10,5 L0,10 z', class: 'arrow-head' }));
  defs.append(marker);
  root.append(defs);

  // The initial state's entry arrow.
  const start = position.get(initial);
  if (start) {
    root.append(svg('circle', { cx: start.x + BOX.width / 2, cy: start.y - 22, r: 5, class: 'start' }));
    root.append(
      svg('line', { x1: start.x + BOX.width / 2, y1: start.y - 17, x2: start.x + BOX.width / 2, y2: start.y - 1, class: 'edge', 'marker-end': 'url(#arrow)' }),
    );
  }

  // One arrow per (from, to) pair: rules sharing it (e.g. a guarded and an unguarded rule) share the label.
  const pairs = new Map<string, { from: string; to: string; labels: string[] }>();
  for (const t of definition.transitions) {
    const key = `${t.from}→${t.to}`;
    const pair = pairs.get(key) ?? { from: t.from, to: t.to, labels: [] };
    if (!pair.labels.includes(edgeLabel(t))) pair.labels.push(edgeLabel(t));
    pairs.set(key, pair);
  }
  const edges = svg('g', { class: 'edges' });
  const labels = svg('g', { class: 'edge-labels' });
  let back = 0;
  for (const { from, to, labels: texts } of pairs.values()) {
    const a = position.get(from);
    const b = position.get(to);
    if (!a || !b) continue;
    let d: string;
    let lx: number;
    let ly: number;
    if (b.layer > a.layer) {
      // Forward: right side of one box to the left side of the other.
      const x1 = a.x + BOX.width;
      const y1 = a.y + BOX.height / 2;
      const x2 = b.x;
      const y2 = b.y + BOX.height / 2;
      const bend = (x2 - x1) / 2;
      d = `M${x1},${y1} C${x1 + bend},${y1} ${x2 - bend},${y2} ${x2},${y2}`;
      lx = (x1 + x2) / 2;
      ly = (y1 + y2) / 2 - 4;
    } else if (b.layer === a.layer) {
      // Within a layer: out of the right side and back in, bowing into the gap to the right of the layer.
      const x = a.x + BOX.width;
      const y1 = a.y + BOX.height / 2 + 6;
      const y2 = b.y + BOX.height / 2 - 6;
      const bulge = 26 + 10 * Math.round(Math.abs(y2 - y1) / (BOX.height + GAP.y));
      d = `M${x},${y1} C${x + bulge},${y1} ${x + bulge},${y2} ${x},${y2}`;
      lx = x + bulge * 0.75 + 4;
      ly = (y1 + y2) / 2 + 4;
    } else {
      // Back: from the bottom of one box to the bottom of the other, bowing downwards.: from the bottom of one box to the bottom of the other, bowing downwards.
      const x1 = a.x + BOX.width / 2 - 10;
      const y1 = a.y + BOX.height;
      const x2 = b.x + BOX.width / 2 + 10;
      const y2 = b.y + BOX.height;
      const dip = Math.max(y1, y2) + 28 + 12 * back++;
      d = `M${x1},${y1} C${x1},${dip} ${x2},${dip} ${x2},${y2}`;
      lx = (x1 + x2) / 2;
      ly = dip - 2;
    }
    edges.append(svg('path', { d, class: 'edge', 'marker-end': 'url(#arrow)', 'data-from': from, 'data-to': to }));
    const text = svg('text', { x: lx, y: ly, class: 'edge-label', 'text-anchor': b.layer === a.layer ? 'start' : 'middle' });
    texts.forEach((line, index) => text.append(svg('tspan', { x: lx, dy: index === 0 ? -(texts.length - 1) * 11 : 11 }, line)));
    labels.append(text);
  }
  root.append(edges);

  const states = svg('g', { class: 'states' });
  for (const [state, { x, y }] of position) {
    const group = svg('g', { class: finals.has(state) ? 'state final' : 'state', 'data-state': state.toUpperCase(), 'data-testid': 'diagram-state' });
    group.append(svg('rect', { x, y, width: BOX.width, height: BOX.height, rx: 6 }));
    // A final state is drawn with a double border (and named so in the table).
    if (finals.has(state)) group.append(svg('rect', { x: x + 3, y: y + 3, width: BOX.width - 6, height: BOX.height - 6, rx: 4, class: 'inner' }));
    group.append(svg('text', { x: x + BOX.width / 2, y: y + BOX.height / 2 + 4, 'text-anchor': 'middle' }, state));
    states.append(group);
  }
  root.append(states, labels); // labels last, so no box hides them
  return root;
}

/** The text alternative: every transition of the definition as a table row. */
export function transitionsTable(definition: WorkflowDefinition): HTMLTableElement {
  const table = document.createElement('table');
  table.className = 'workflow-table';
  table.dataset.testid = 'workflow-transitions';
  const caption = table.createCaption();
  const finals = definition.states.filter((s) => s.final).map((s) => s.name);
  caption.textContent = `Transitions of ${definition.name} v${definition.version}. Final states: ${finals.join(', ') || 'none'}.`;
  const head = table.createTHead().insertRow();
  for (const title of ['Event', 'From', 'To', 'Sent by', 'Guard']) {
    const cell = document.createElement('th');
    cell.scope = 'col';
    cell.textContent = title;
    head.append(cell);
  }
  const body = table.createTBody();
  for (const t of definition.transitions) {
    const row = body.insertRow();
    for (const value of [t.event, t.from, t.to, t.persona, t.guard ?? '']) row.insertCell().textContent = value;
  }
  return table;
}
