/**
 * The catalogue, read from the AsyncAPI document (events/asyncapi.yaml,
 * parsed into the page at build time): one entry per message, with its
 * schema, example, and who sends and receives it.
 */

export interface CatalogueEntry {
  name: string;
  type: string;
  summary: string;
  kind: 'command' | 'fact';
  compensates: string | undefined;
  payload: Record<string, unknown>;
  example: { headers: Record<string, string>; payload: Record<string, unknown> } | undefined;
  sentBy: string[];
  receivedBy: string[];
}

interface Document {
  info?: { title?: string; version?: string; description?: string };
  operations?: Record<string, { action: 'send' | 'receive'; messages?: { $ref: string }[] }>;
  components?: { messages?: Record<string, Record<string, unknown>> };
  channels?: Record<string, { address?: string; description?: string }>;
}

/** The entries of `doc`, commands first, then facts, each by name. */
export function catalogueOf(doc: unknown): { info: { title: string; version: string; description: string }; entries: CatalogueEntry[] } {
  const d = doc as Document;
  const operations = Object.entries(d.operations ?? {});
  const who = (name: string, action: 'send' | 'receive') =>
    operations.filter(([, op]) => op.action === action && (op.messages ?? []).some((m) => m.$ref.endsWith(`/${name}`))).map(([id]) => id.slice(0, id.lastIndexOf('.')));
  const entries = Object.entries(d.components?.messages ?? {}).map(([name, m]): CatalogueEntry => {
    const examples = (m.examples ?? []) as { headers: Record<string, string>; payload: Record<string, unknown> }[];
    return {
      name,
      type: String(m.title ?? name),
      summary: String(m.summary ?? ''),
      kind: m['x-ordersaga-kind'] === 'command' ? 'command' : 'fact',
      compensates: typeof m['x-ordersaga-compensates'] === 'string' ? m['x-ordersaga-compensates'] : undefined,
      payload: (m.payload ?? {}) as Record<string, unknown>,
      example: examples[0],
      sentBy: who(name, 'send'),
      receivedBy: who(name, 'receive'),
    };
  });
  entries.sort((a, b) => (a.kind === b.kind ? a.name.localeCompare(b.name) : a.kind === 'command' ? -1 : 1));
  return { info: { title: d.info?.title ?? '', version: d.info?.version ?? '', description: d.info?.description ?? '' }, entries };
}

/** A fresh id for each new entity a command would create, so sending the example twice makes two. */
export function prefill(entry: CatalogueEntry, newId: () => string): { subject: string; data: Record<string, unknown> } {
  const data = structuredClone(entry.example?.payload ?? {});
  const properties = (entry.payload.properties ?? {}) as Record<string, unknown>;
  const required = (entry.payload.required ?? []) as string[];
  if (entry.kind === 'command') {
    // The id a command may carry for the entity it creates: the one property it does not require.
    const idField = Object.keys(properties).find((p) => p.endsWith('Id') && !required.includes(p));
    if (idField) data[idField] = newId();
    const subject = idField ? String(data[idField]) : (entry.example?.headers['ce-subject'] ?? newId());
    return { subject, data };
  }
  return { subject: entry.example?.headers['ce-subject'] ?? newId(), data };
}
