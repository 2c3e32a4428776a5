/**
 * `events/asyncapi.yaml` is the catalogue as AsyncAPI 3.0: generated from
 * the schemas (no drift), valid for the AsyncAPI parser, one message per
 * event type with the CloudEvents binary-mode headers, and operations that
 * say who sends and who receives each message.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Parser, type AsyncAPIDocumentInterface, type Diagnostic } from '@asyncapi/parser';
import { beforeAll, describe, expect, it } from 'vitest';
import { sagaMapOf } from '../console/server/saga-map.js';
import { buildAsyncApi, renderAsyncApi } from './generate-asyncapi.js';
import { EVENT_NAMES, typeOf, validateData } from './index.js';
import { flatSchemaOf } from './flat.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const committed = readFileSync(path.join(here, 'asyncapi.yaml'), 'utf8');
const parser = new Parser();
// Spectral severities: 0 error, 1 warning, 2 information, 3 hint.
const serious = (diagnostics: Diagnostic[]) => diagnostics.filter((d) => d.severity <= 1).map((d) => `${d.code} at ${d.path.join('.')}: ${d.message}`);

describe('events/asyncapi.yaml', () => {
  let document: AsyncAPIDocumentInterface | undefined;
  let diagnostics: Diagnostic[] = [];

  beforeAll(async () => {
    ({ document, diagnostics } = await parser.parse(committed));
  }, 60_000);

  it('is exactly what the schemas generate (npm run events:asyncapi)', () => {
    expect(committed).toBe(renderAsyncApi());
  });

  it('is a valid AsyncAPI 3.0 document, without errors or warnings', () => {
    expect(serious(diagnostics)).toEqual([]);
    expect(document).toBeDefined();
    expect(document!.version()).toBe('3.0.0');
  });

  it('has the Broker as its one channel, and one message per event type with its schema as payload', () => {
    const channels = document!.channels().all();
    expect(channels.map((c) => c.address())).toEqual(['/ordersaga/default']);
    const messages = document!.messages().all();
    expect(messages.map((m) => m.id()).sort()).toEqual([...EVENT_NAMES]);
    for (const name of EVENT_NAMES) {
      const message = document!.messages().get(name)!;
      expect(message.title()).toBe(typeOf(name));
      expect(message.payload()?.json()).toMatchObject(flatSchemaOf(name));
    }
  });

  it('gives every message the binary-mode CloudEvents headers, ce-id, ce-source, ce-type and ce-specversion required, and its own ce-type', () => {
    for (const name of EVENT_NAMES) {
      const headers = document!.messages().get(name)!.headers()!.json() as { required: string[]; properties: Record<string, { const?: string }> };
      expect(headers.required, name).toEqual(expect.arrayContaining(['ce-id', 'ce-source', 'ce-type', 'ce-specversion']));
      expect(headers.properties['ce-type']?.const, name).toBe(typeOf(name));
      expect(headers.properties['ce-specversion']?.const).toBe('1.0');
    }
  });

  it('carries each example, valid against its schema and with its required headers', () => {
    for (const name of EVENT_NAMES) {
      const [example] = document!.messages().get(name)!.examples().all();
      expect(() => validateData(name, example!.payload())).not.toThrow();
      expect(example!.headers()).toMatchObject({ 'ce-specversion': '1.0', 'ce-type': typeOf(name), 'ce-id': expect.any(String), 'ce-source': expect.stringMatching(/^\/ordersaga\//) });
    }
  });

  it('says which function sends and which receives each message, as the saga map does', () => {
    for (const fn of sagaMapOf().functions) {
      const ids = (action: 'send' | 'receive') =>
        document!
          .operations()
          .all()
          .filter((o) => o.id() === `${fn.name}.${action}`)
          .flatMap((o) => o.messages().all().map((m) => m.id()))
          .sort();
      expect(ids('receive'), fn.name).toEqual([...fn.consumes].sort());
      expect(ids('send'), fn.name).toEqual([...fn.emits].sort());
    }
  });

  it('marks the compensation', () => {
    expect(document!.messages().get('slot.released')!.extensions().get('x-ordersaga-compensates')?.value()).toBe('slot.reserved');
  });

  it('would be refused by the parser if a message it names did not exist', async () => {
    const broken = structuredClone(buildAsyncApi()) as { components: { messages: Record<string, unknown> } };
    delete broken.components.messages['order.placed'];
    const result = await parser.parse(JSON.stringify(broken));
    expect(result.document).toBeUndefined();
    expect(result.diagnostics.some((d) => d.severity === 0)).toBe(true);
  });
});
