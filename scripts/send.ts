/**
 * `npm run send -- --type dev.ordersaga.deposit.requested -f accountId=… -f amount=5000`:
 * a small sender with `kn event send`'s flags (--type, --id, --source,
 * -f/--field, -r/--raw-field, --to, --to-url) that adds the operator's token
 * when the stack keeps one (sender authentication on), so the Broker admits
 * it. It sends to the running stack's Broker unless told otherwise.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { request } from 'undici';

const USAGE = `usage: npm run send -- --type TYPE [-f key=value]... [-r key=value]... [--id ID] [--source SOURCE]
                     [--to URL | --to-url URL] [--token-file FILE]
  -f/--field      a data field; a dotted key nests (customer.name=Ada), a number, true, false or null is typed
  -r/--raw-field  a data field kept as a string
  --to            where to send: a URL, or Broker:eventing.knative.dev/v1:<name> (this stack's Broker)
  --token-file    the bearer token to send (default: the stack's operator token, when sender authentication is on)`;

/** Sets `value` at the dotted `key` of `data`. */
function setField(data: Record<string, unknown>, key: string, value: unknown): void {
  const parts = key.split('.');
  let at = data;
  for (const part of parts.slice(0, -1)) at = (at[part] ??= {}) as Record<string, unknown>;
  at[parts[parts.length - 1]!] = value;
}

/** `-f amount=5000` is a number, as `kn event send` types it; `-r` keeps the text. */
function fieldValue(raw: string, typed: boolean): unknown {
  if (typed && /^(-?\d+(\.\d+)?|true|false|null)$/.test(raw)) return JSON.parse(raw);
  return raw;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      type: { type: 'string', short: 't' },
      id: { type: 'string' },
      source: { type: 'string', short: 's' },
      field: { type: 'string', short: 'f', multiple: true },
      'raw-field': { type: 'string', short: 'r', multiple: true },
      to: { type: 'string' },
      'to-url': { type: 'string' },
      'token-file': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help || !values.type) {
    process.stderr.write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }
  const data: Record<string, unknown> = {};
  for (const [list, typed] of [[values.field ?? [], true], [values['raw-field'] ?? [], false]] as const) {
    for (const pair of list) {
      const eq = pair.indexOf('=');
      if (eq <= 0) throw new Error(`a field is key=value, not ${JSON.stringify(pair)}`);
      setField(data, pair.slice(0, eq), fieldValue(pair.slice(eq + 1), typed));
    }
  }
  const dataDir = path.resolve(process.env.ORDERSAGA_DATA_DIR || '.data');
  const stackBroker = () => {
    const file = path.join(dataDir, 'stack.json');
    if (!existsSync(file)) throw new Error(`no stack is running from ${dataDir} (npm start), and no --to URL was given`);
    return (JSON.parse(readFileSync(file, 'utf8')) as { brokerUrl: string }).brokerUrl;
  };
  const to = values['to-url'] ?? values.to;
  const url = to === undefined || /^Broker:/i.test(to) ? stackBroker() : to;
  const tokenFile = values['token-file'] ?? path.join(dataDir, 'operator.jwt');
  const headers: Record<string, string> = {
    'ce-specversion': '1.0',
    'ce-id': values.id ?? randomUUID(),
    'ce-source': values.source ?? '/ordersaga/operator',
    'ce-type': values.type,
    'ce-time': new Date().toISOString(),
    'content-type': 'application/json',
  };
  if (existsSync(tokenFile)) headers.authorization = `Bearer ${readFileSync(tokenFile, 'utf8').trim()}`;
  else if (values['token-file']) throw new Error(`no token in ${tokenFile}`);
  const res = await request(url, { method: 'POST', headers, body: JSON.stringify(data) });
  const text = (await res.body.text()).trim();
  process.stdout.write(`${values.type} id=${headers['ce-id']} → ${url}: ${res.statusCode}${text ? ` ${text}` : ''}\n`);
  return res.statusCode >= 200 && res.statusCode < 300 ? 0 : 1;
}

main().then(
  (code) => (process.exitCode = code),
  (err: unknown) => {
    process.stderr.write(`send: ${(err as Error).message}\n`);
    process.exitCode = 2;
  },
);
