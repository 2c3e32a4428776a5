/**
 * The saga map as data and as a picture, both from the registry: the JSON
 * the console lays its lanes out from, and the Mermaid flowchart in the
 * README (`npm run saga:diagram` writes it; a test fails while it drifts).
 */
import type { EventName } from '../events/index.js';
import type { FunctionDefinition } from '../lib/function.js';

type AnyDefinition = FunctionDefinition<any, any>;

/** What the console and the diagram need of one function. */
export interface SagaMapFunction {
  name: string;
  role: string;
  consumes: { event: EventName; emits: readonly EventName[]; compensation: boolean; undoes?: EventName; describe: string }[];
  sources: { from: string; type: string; emits: readonly EventName[]; describe: string }[];
  routes: { method: string; path: string; emits: readonly EventName[] }[];
  emits: readonly EventName[];
}

export function sagaMap(functions: readonly AnyDefinition[]): SagaMapFunction[] {
  return functions.map((fn) => ({
    name: fn.name,
    role: fn.role,
    consumes: Object.entries(fn.consumes).map(([event, c]) => ({
      event: event as EventName,
      emits: c!.emits,
      compensation: c!.compensation === true,
      ...(c!.undoes ? { undoes: c!.undoes } : {}),
      describe: c!.describe,
    })),
    sources: Object.entries(fn.sources).map(([type, s]) => ({ from: s.from, type, emits: s.emits, describe: s.describe })),
    routes: fn.routes.map((r) => ({ method: r.method, path: r.path, emits: r.emits ?? [] })),
    emits: fn.emits,
  }));
}

const id = (prefix: string, name: string) => `${prefix}_${name.replace(/[^A-Za-z0-9]/g, '_')}`;

/**
 * A Mermaid flowchart: functions as boxes, events as rounded nodes, each
 * consumer an arrow from its event into the function (dotted for a
 * compensation) and out to what it may emit; REST routes and Knative
 * sources as entry points.
 */
export function sagaDiagram(functions: readonly AnyDefinition[]): string {
  const map = sagaMap(functions);
  const lines = ['flowchart LR'];
  const events = new Set<string>();
  const edges = new Set<string>();
  const edge = (line: string) => {
    if (!edges.has(line)) {
      edges.add(line);
      lines.push(`  ${line}`);
    }
  };
  for (const fn of map) lines.push(`  ${id('f', fn.name)}["${fn.name}"]`);
  for (const fn of map) {
    for (const e of [...fn.consumes.map((c) => c.event), ...fn.emits]) events.add(e);
  }
  for (const e of [...events].sort()) lines.push(`  ${id('e', e)}(["${e}"])`);
  for (const fn of map) {
    for (const route of fn.routes.filter((r) => r.emits.length > 0)) {
      lines.push(`  ${id('r', `${route.method} ${route.path}`)}[/"${route.method} ${route.path}"/]`);
      edge(`${id('r', `${route.method} ${route.path}`)} --> ${id('f', fn.name)}`);
    }
    for (const source of fn.sources) {
      lines.push(`  ${id('s', source.from)}{{"${source.from}"}}`);
      edge(`${id('s', source.from)} -.-> ${id('f', fn.name)}`);
    }
    for (const consumer of fn.consumes) {
      edge(`${id('e', consumer.event)} ${consumer.compensation ? '-. compensation .->' : '-->'} ${id('f', fn.name)}`);
    }
    for (const emitted of fn.emits) edge(`${id('f', fn.name)} --> ${id('e', emitted)}`);
  }
  return lines.join('\n');
}

/** The README's diagram block, between these markers. */
export const DIAGRAM_BEGIN = '<!-- saga-diagram: generated from functions/registry.ts by `npm run saga:diagram` -->';
export const DIAGRAM_END = '<!-- /saga-diagram -->';

/** `text` with the block between the markers replaced by the diagram. */
export function withDiagram(text: string, diagram: string): string {
  const start = text.indexOf(DIAGRAM_BEGIN);
  const end = text.indexOf(DIAGRAM_END);
  if (start < 0 || end < start) throw new Error(`the markers ${DIAGRAM_BEGIN} … ${DIAGRAM_END} are missing`);
  return `${text.slice(0, start)}${DIAGRAM_BEGIN}\n\`\`\`mermaid\n${diagram}\n\`\`\`\n${text.slice(end)}`;
}
