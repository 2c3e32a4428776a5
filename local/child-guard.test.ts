/**
 * Function processes run in their own process group, so a stand-in that is
 * killed outright (SIGKILL, no cleanup) cannot signal them: the stdin
 * lifeline of child-guard is what ends them.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { transformSync } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { isAlive } from '../test/stack-process.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const dir = mkdtempSync(path.join(os.tmpdir(), 'ordersaga-guard-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('child-guard', () => {
  it('ends a detached function process when the process that started it is killed with SIGKILL', async () => {
    const guard = path.join(dir, 'child-guard.mjs');
    writeFileSync(guard, transformSync(readFileSync(path.join(here, 'child-guard.ts'), 'utf8'), { loader: 'ts', format: 'esm' }).code);
    // The stand-in's part: start a long-lived child in its own group, stdin piped, as the supervisor does.
    const standIn = `
      const { spawn } = require('node:child_process');
      const child = spawn(process.execPath, ['--import=${pathToFileURL(guard).href}', '-e', 'setInterval(() => {}, 1000)'],
        { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
      console.log(child.pid);
      setInterval(() => {}, 1000);`;
    const parent = spawn(process.execPath, ['-e', standIn], { stdio: ['ignore', 'pipe', 'inherit'] });
    const childPid = await new Promise<number>((resolve) => parent.stdout!.once('data', (c: Buffer) => resolve(Number(c.toString().trim()))));
    try {
      await new Promise((r) => setTimeout(r, 300));
      expect(isAlive(childPid)).toBe(true);
      parent.kill('SIGKILL');
      for (let i = 0; i < 100 && isAlive(childPid); i++) await new Promise((r) => setTimeout(r, 50));
      expect(isAlive(childPid)).toBe(false);
    } finally {
      if (isAlive(childPid)) process.kill(childPid, 'SIGKILL');
    }
  });
});
