/**
 * Generates `events/asyncapi.yaml`, the catalogue as an AsyncAPI 3.0
 * document, from the JSON Schemas in `events/schemas/` (flattened: see
 * events/flat.ts) and the examples in `events/examples/`: the Broker as the
 * one channel, one message per event type, and a message trait for the
 * CloudEvents HTTP binary content mode.
 * Operations (who sends and who receives each message) come from the saga
 * map. Run `npm run events:asyncapi` (or `npm run events:types`) after
 * changing a schema; a test fails while the committed file differs.
 *
 * There is no official CloudEvents trait for HTTP; this one follows the
 * shape of the Kafka trait in the CloudEvents working draft for AsyncAPI,
 * with the `ce-` headers of the HTTP binding (cloudevents/spec
 * `cloudevents/bindings/http-protocol-binding.md`).
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { sagaMapOf } from '../console/server/saga-map.js';
import { uuidV5 } from '../lib/ids.js';
import { flatSchemaOf } from './flat.js';
import type { EventName } from './index.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const TYPE_PREFIX = 'dev.ordersaga.';
const TRAIT = 'cloudEventsHttpBinary';
/** Where the commands of the saga come from when a person sends them (the console's send form). */
const COMMAND_SOURCE = '/ordersaga/console';

const readJson = (file: string): Record<string, unknown> => JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
const ref = (pointer: string) => ({ $ref: pointer });

/** The CloudEvents attributes as HTTP headers in binary mode: the four required ones, and those ordersaga sets. */
const binaryModeHeaders = {
  type: 'object',
  required: ['ce-specversion', 'ce-id', 'ce-source', 'ce-type'],
  properties: {
    'ce-specversion': { type: 'string', const: '1.0', description: 'The CloudEvents specification version.' },
    'ce-id': { type: 'string', minLength: 1, description: 'Unique per source; consumers dedupe on (source, id).' },
    'ce-source': { type: 'string', format: 'uri-reference', description: 'The producer: /ordersaga/<function>.' },
    'ce-type': { type: 'string', description: 'dev.ordersaga.<name>' },
    'ce-subject': { type: 'string', description: 'The entity the event is about: an order, account or slot id.' },
    'ce-time': { type: 'string', format: 'date-time' },
    'ce-dataschema': { type: 'string', format: 'uri', description: 'The JSON Schema of the data.' },
    'content-type': { type: 'string', const: 'application/json', description: 'datacontenttype: the data is JSON.' },
    'ce-traceparent': { type: 'string', description: 'CloudEvents distributed-tracing extension (W3C trace context).' },
    'ce-tracestate': { type: 'string', description: 'CloudEvents distributed-tracing extension.' },
  },
};

/** The subject an example event would carry: the id of the entity in its data. */
function subjectOf(example: Record<string, unknown>): string {
  for (const key of ['orderId', 'accountId', 'slotId', 'depositId']) if (typeof example[key] === 'string') return example[key];
  return uuidV5('subject of an example');
}

/** The AsyncAPI document for the schemas and examples on disk. */
export function buildAsyncApi(): Record<string, unknown> {
  const names = readdirSync(`${here}schemas`)
    .filter((file) => file.endsWith('.json'))
    .map((file) => file.slice(0, -'.json'.length))
    .sort();
  const saga = sagaMapOf();
  const version = String(readJson(`${here}../package.json`).version);

  const messages: Record<string, unknown> = {};
  for (const name of names) {
    const schema = flatSchemaOf(name as EventName);
    const example = readJson(`${here}examples/${name}.json`);
    const kind = String(schema['x-ordersaga-kind']);
    const producer = saga.functions.find((f) => f.emits.includes(name))?.name;
    messages[name] = {
      name,
      title: TYPE_PREFIX + name,
      summary: schema.description,
      contentType: 'application/json',
      tags: [{ name: kind }],
      traits: [ref(`#/components/messageTraits/${TRAIT}`)],
      headers: { type: 'object', properties: { 'ce-type': { type: 'string', const: TYPE_PREFIX + name }, 'ce-dataschema': { type: 'string', const: schema.$id } } },
      // AsyncAPI's own schema format is a superset of JSON Schema draft-07, which has no unevaluatedProperties:
      // the payload is the schema flattened, its terms written in, and reads the same there.
      payload: schema,
      examples: [
        {
          name: `${name}-example`,
          summary: `A ${kind} as ${producer ?? 'a client'} sends it`,
          headers: {
            'ce-specversion': '1.0',
            'ce-id': uuidV5(`example ${name}`),
            'ce-source': producer ? `/ordersaga/${producer}` : COMMAND_SOURCE,
            'ce-type': TYPE_PREFIX + name,
            'ce-subject': subjectOf(example),
            'ce-dataschema': schema.$id,
            'content-type': 'application/json',
          },
          payload: example,
        },
      ],
      ...(saga.compensations[name] ? { 'x-ordersaga-compensates': saga.compensations[name] } : {}),
      'x-ordersaga-kind': kind,
    };
  }

  const operations: Record<string, unknown> = {};
  for (const fn of saga.functions) {
    const of = (list: string[]) => list.filter((n) => names.includes(n)).map((n) => ref(`#/channels/broker/messages/${n}`));
    if (fn.consumes.length > 0) {
      operations[`${fn.name}.receive`] = { action: 'receive', channel: ref('#/channels/broker'), title: `${fn.name} consumes`, messages: of(fn.consumes) };
    }
    if (fn.emits.length > 0) {
      operations[`${fn.name}.send`] = { action: 'send', channel: ref('#/channels/broker'), title: `${fn.name} emits`, messages: of(fn.emits) };
    }
  }

  return {
    asyncapi: '3.0.0',
    info: {
      title: 'ordersaga events',
      version,
      description:
        'The CloudEvents of the ordersaga saga: each function consumes and emits them through one Knative Broker. ' +
        'Commands (account.requested, deposit.requested, order.requested) start a flow; facts report what happened.',
      license: { name: 'Apache-2.0' },
    },
    defaultContentType: 'application/json',
    servers: {
      local: { host: '127.0.0.1:8081', protocol: 'http', description: 'The local stand-in (npm start)' },
      cluster: { host: 'broker-ingress.knative-eventing.svc.cluster.local', protocol: 'http', description: "Knative's Broker ingress, in the cluster" },
    },
    channels: {
      broker: {
        address: '/ordersaga/default',
        title: 'Broker default',
        description: 'The Broker of namespace ordersaga. Triggers route each type to the function that consumes it (knative/base/triggers.yaml).',
        messages: Object.fromEntries(names.map((n) => [n, ref(`#/components/messages/${n}`)])),
      },
    },
    operations,
    components: {
      messages,
      messageTraits: {
        [TRAIT]: {
          summary: 'CloudEvents over HTTP, binary content mode',
          description: 'Each context attribute is a ce- header and the data is the body, as the Broker delivers events.',
          headers: binaryModeHeaders,
        },
      },
    },
  };
}

/** The full text of `events/asyncapi.yaml`. */
export function renderAsyncApi(): string {
  return `# Generated from events/schemas by \`npm run events:asyncapi\`. Do not edit.\n${stringify(buildAsyncApi(), { lineWidth: 0, aliasDuplicateObjects: false })}`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(`${here}asyncapi.yaml`, renderAsyncApi());
  console.log('wrote events/asyncapi.yaml');
}
