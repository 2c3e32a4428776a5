/**
 * The CESQL TCK (vendored in tck/, sources in tck/README.md): every case of
 * every file, as the TCK's README defines a case: a parse error expected, or
 * a value and an error kind (none when the case names none).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isScalar, parseDocument, visit } from 'yaml';
import { CesqlParseError, evaluateCesql, parseCesql, type CesqlAttributes } from './index.js';

const TCK_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'tck');

interface TckCase {
  name: string;
  expression: string;
  result?: unknown;
  error?: string;
  event?: CesqlAttributes;
  eventOverrides?: CesqlAttributes;
}

// "If absent, ... any valid event can be passed": one with the optional attributes a case might read, and no extensions.
const ANY_EVENT: CesqlAttributes = {
  specversion: '1.0',
  id: 'tck-id',
  source: 'https://tck.example/source',
  type: 'dev.example.tck',
  subject: 'tck-subject',
  time: '2024-06-13T12:00:00Z',
  datacontenttype: 'application/json',
};

/** A TCK file, each expression kept as text: a plain scalar such as `-10` or `TRUE` as written, as sdk-go's runner reads it. */
function loadSuite(file: string): { name: string; tests: TckCase[] } {
  const doc = parseDocument(readFileSync(path.join(TCK_DIR, file), 'utf8'));
  visit(doc, {
    Pair(_, pair) {
      if (isScalar(pair.key) && pair.key.value === 'expression' && isScalar(pair.value) && pair.value.type === 'PLAIN') {
        pair.value.value = pair.value.source;
      }
    },
  });
  return doc.toJS();
}

const files = readdirSync(TCK_DIR)
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .map((file) => ({ file, suite: loadSuite(file) }));

describe('the vendored TCK', () => {
  it('is every file the README lists, each with cases that all have an expression', () => {
    const readme = readFileSync(path.join(TCK_DIR, 'README.md'), 'utf8');
    const listed = [...readme.matchAll(/^\| `([a-z_]+\.yaml)` \|/gm)].map((m) => m[1]).sort();
    expect(files.map((f) => f.file)).toEqual(listed);
    for (const { file, suite } of files) {
      expect(suite.tests.length, file).toBeGreaterThan(0);
      for (const c of suite.tests) expect(typeof c.expression, `${file}: ${c.name}`).toBe('string');
    }
    expect(files.reduce((n, f) => n + f.suite.tests.length, 0)).toBe(241);
  });
});

for (const { file, suite } of files) {
  describe(`${file} (${suite.name})`, () => {
    it.each(suite.tests.map((c) => [c.name, c] as const))('%s', (_name, c) => {
      if (c.error === 'parse') {
        expect(() => parseCesql(c.expression)).toThrow(CesqlParseError);
        return;
      }
      const attributes = { ...(c.event ?? ANY_EVENT), ...c.eventOverrides };
      const { value, error } = evaluateCesql(parseCesql(c.expression), attributes);
      const expected = { error: c.error, ...('result' in c ? { value: c.result } : {}) };
      expect({ error: error?.kind, ...('result' in c ? { value } : {}) }).toEqual(expected);
    });
  });
}
