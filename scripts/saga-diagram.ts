/** Writes the saga diagram, generated from functions/registry.ts, into README.md. */
import { readFileSync, writeFileSync } from 'node:fs';
import { SAGA_FUNCTIONS } from '../functions/registry.js';
import { sagaDiagram, withDiagram } from '../functions/saga-map.js';

const file = new URL('../README.md', import.meta.url);
writeFileSync(file, withDiagram(readFileSync(file, 'utf8'), sagaDiagram(SAGA_FUNCTIONS)));
console.log('wrote the saga diagram into README.md');
