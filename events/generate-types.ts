/**
 * Generates `events/types.ts` from the JSON Schemas in `events/schemas/`:
 * first the definitions they share (`OrderTerms`), then one type per event,
 * which intersects a definition its schema takes in through `allOf`.
 * Run `npm run events:types` after changing a schema; a test fails while
 * the committed file differs from what this produces.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { compile, type JSONSchema, type Options } from 'json-schema-to-typescript';
import { definitions } from './schemas.js';

const here = fileURLToPath(new URL('.', import.meta.url));

/** `order.placed` → `OrderPlaced` */
export function typeNameOf(eventName: string): string {
  return eventName
    .split(/[.-]/)
    .map((part) => part[0]!.toUpperCase() + part.slice(1))
    .join('');
}

/**
 * A `$ref` is read from the definitions by its `$id`, never fetched; each
 * definition is declared once, before the events, not again in each type
 * that refers to it.
 */
const OPTIONS: Partial<Options> = {
  bannerComment: '',
  additionalProperties: false,
  format: true,
  declareExternallyReferenced: false,
  style: { singleQuote: true, printWidth: 100 },
  $refOptions: {
    resolve: {
      http: false,
      file: false,
      definitions: {
        order: 1,
        canRead: (file: { url: string }) => file.url in definitions,
        read: (file: { url: string }) => JSON.stringify(definitions[file.url]),
      },
    },
  },
};

/** The full text of `events/types.ts` for the schemas on disk. */
export async function renderTypes(): Promise<string> {
  const names = readdirSync(`${here}schemas`)
    .filter((file) => file.endsWith('.json'))
    .map((file) => file.slice(0, -'.json'.length))
    .sort();
  const parts = [
    '/* Generated from events/schemas by `npm run events:types`. Do not edit. */',
    '/* eslint-disable */',
    '',
  ];
  for (const definition of Object.values(definitions)) {
    parts.push((await compile(definition as JSONSchema, String(definition.title), OPTIONS)).trim(), '');
  }
  for (const name of names) {
    const schema = JSON.parse(readFileSync(`${here}schemas/${name}.json`, 'utf8')) as JSONSchema;
    parts.push((await compile({ ...schema, title: typeNameOf(name) }, typeNameOf(name), OPTIONS)).trim(), '');
  }
  parts.push('/** Event name → the type of its `data`. */');
  parts.push('export interface EventData {');
  for (const name of names) parts.push(`  '${name}': ${typeNameOf(name)};`);
  parts.push('}', '');
  return parts.join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(`${here}types.ts`, await renderTypes());
  console.log('wrote events/types.ts');
}
