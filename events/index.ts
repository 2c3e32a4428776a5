/**
 * The CloudEvents catalogue: names, schemas, compiled validators and the
 * envelope rules of SPEC §2. Every event is validated here where it is
 * produced (`makeEvent`) and where it is consumed (`readEvent`).
 */
import type { ValidateFunction } from 'ajv';
import { CloudEvent } from 'cloudevents';
import { ValidationError } from '../lib/errors.js';
import { newId } from '../lib/ids.js';
import { ajv, describeErrors } from '../lib/validate.js';
import { schemas } from './schemas.js';
import type { EventData } from './types.js';

export type { EventData } from './types.js';
export type * from './types.js';

/** `order.placed`, `slot.reserved`, ... */
export type EventName = keyof EventData;

export const TYPE_PREFIX = 'dev.ordersaga.';
export const EVENT_NAMES = Object.keys(schemas).sort() as EventName[];

/** Whether a type starts the saga (command) or reports what happened (fact). */
export function kindOf(name: EventName): 'command' | 'fact' {
  return schemas[name]['x-ordersaga-kind'] as 'command' | 'fact';
}

export function typeOf(name: EventName): string {
  return TYPE_PREFIX + name;
}

export function nameOf(type: string): EventName | undefined {
  if (!type.startsWith(TYPE_PREFIX)) return undefined;
  const name = type.slice(TYPE_PREFIX.length);
  return name in schemas ? (name as EventName) : undefined;
}

export function dataschemaOf(name: EventName): string {
  return schemas[name].$id;
}

// Compiled on first use: a function process only validates the few types it handles.
const validators = new Map<EventName, ValidateFunction>();
const validatorOf = (name: EventName): ValidateFunction => {
  let validate = validators.get(name);
  if (!validate) {
    validate = ajv.compile(schemas[name]);
    validators.set(name, validate);
  }
  return validate;
};

/** Checks `data` against the schema of `name`; throws ValidationError listing every problem. */
export function validateData<N extends EventName>(name: N, data: unknown): EventData[N] {
  const validate = validatorOf(name);
  if (!validate(data)) {
    throw new ValidationError(`data of ${typeOf(name)} does not match its schema`, describeErrors(validate.errors));
  }
  return data as EventData[N];
}

/** An event a function produces, before it gets its envelope. */
export interface Outgoing<N extends EventName = EventName> {
  name: N;
  subject: string;
  data: EventData[N];
}

/** Builds and validates the CloudEvent for `out`, emitted by `/ordersaga/<fn>`. */
export function makeEvent<N extends EventName>(fn: string, out: Outgoing<N>, id: string = newId()): CloudEvent<EventData[N]> {
  validateData(out.name, out.data);
  return new CloudEvent<EventData[N]>({
    specversion: '1.0',
    id,
    source: `/ordersaga/${fn}`,
    type: typeOf(out.name),
    subject: out.subject,
    time: new Date().toISOString(),
    datacontenttype: 'application/json',
    dataschema: dataschemaOf(out.name),
    data: out.data,
  });
}

/** A consumed event whose type and data have been validated. */
export interface Incoming<N extends EventName = EventName> {
  name: N;
  type: string;
  id: string;
  source: string;
  subject: string | undefined;
  data: EventData[N];
}

/**
 * Validates a received CloudEvent against the catalogue: it must be one of
 * `accepted`, carry JSON data, and that data must match the schema.
 */
export function readEvent<N extends EventName>(event: CloudEvent<unknown>, accepted: readonly N[]): Incoming<N> {
  const name = nameOf(event.type);
  if (name === undefined || !(accepted as readonly string[]).includes(name)) {
    throw new ValidationError(`event type ${event.type} is not handled here; expected one of ${accepted.map(typeOf).join(', ')}`);
  }
  const contentType = event.datacontenttype ?? 'application/json';
  if (!/^application\/(.+\+)?json\b/.test(contentType)) {
    throw new ValidationError(`datacontenttype must be application/json, got ${contentType}`);
  }
  if (event.dataschema !== undefined && event.dataschema !== dataschemaOf(name)) {
    throw new ValidationError(`dataschema ${event.dataschema} is not the schema of ${event.type} (${dataschemaOf(name)})`);
  }
  let data: unknown = event.data;
  if (typeof data === 'string') {
    try {
      data = JSON.parse(data);
    } catch {
      throw new ValidationError(`data of ${event.type} is not valid JSON`);
    }
  }
  return { name: name as N, type: event.type, id: event.id, source: event.source, subject: event.subject, data: validateData(name as N, data) };
}
