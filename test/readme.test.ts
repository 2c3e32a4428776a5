/**
 * The README's Guarantees table names, for each promise, the tests that
 * hold it to account: each file it names exists, and each test it quotes
 * (“…”, up to an ellipsis) is in that file. A renamed or deleted test makes
 * the promise's row fail here, not quietly go stale.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../knative/validate.js';

const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
const section = readme.slice(readme.indexOf('## Guarantees'), readme.indexOf('\n## ', readme.indexOf('## Guarantees') + 1));
const tracked = execFileSync('git', ['ls-files', '*.test.ts'], { cwd: REPO_ROOT, encoding: 'utf8' }).split('\n').filter(Boolean);

interface Citation {
  promise: string;
  file: string;
  quotes: string[];
}

/** Each `file.test.ts` a row names, with the test names quoted after it. */
function citations(): Citation[] {
  const rows = section.split('\n').filter((line) => line.startsWith('| ') && !line.startsWith('| promise') && !line.startsWith('| ---'));
  return rows.flatMap((row) => {
    const [promise = '', proof = ''] = row.replace(/^\| /, '').replace(/ \|$/, '').split(' | ');
    const parts = proof.split(/`([\w./-]+\.test\.ts)`/);
    const found: Citation[] = [];
    for (let i = 1; i < parts.length; i += 2) {
      const quotes = [...(parts[i + 1] ?? '').matchAll(/“([^”]*)”/g)].map((m) => m[1]!.split('…')[0]!.trim()).filter(Boolean);
      found.push({ promise, file: parts[i]!, quotes });
    }
    return found;
  });
}

const filesNamed = (file: string) => tracked.filter((f) => f === file || f.endsWith(`/${file}`));

describe("the README's Guarantees", () => {
  const cited = citations();

  it('cite tests for every promise', () => {
    expect(cited.length).toBeGreaterThan(30);
    const rows = section.split('\n').filter((line) => line.startsWith('| ') && !line.startsWith('| promise') && !line.startsWith('| ---'));
    for (const row of rows) expect(cited.some((c) => row.startsWith(`| ${c.promise}`)), row).toBe(true);
  });

  it.each(cited.map((c) => [c.file, c] as const))('name %s, which exists and holds the tests they quote', (file, { quotes }) => {
    const candidates = filesNamed(file);
    expect(candidates, `${file} is not a test file of the repository`).not.toEqual([]);
    const text = candidates.map((f) => readFileSync(path.join(REPO_ROOT, f), 'utf8')).join('\n');
    for (const quote of quotes) expect(text.includes(quote), `“${quote}” is not a test in ${candidates.join(', ')}`).toBe(true);
  });
});
