/**
 * CloudEvents as the Broker carries them: context attributes (extensions
 * included) and the data as bytes, exactly as they arrived. The Broker never
 * interprets data, so it keeps the bytes rather than a parsed value: what a
 * subscriber receives is what the producer sent.
 *
 * Reads both HTTP content modes (binary, structured JSON); writes binary
 * mode as Knative's dispatcher does, structured mode when asked to.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { CloudEvent } from 'cloudevents';

import type { AttributeValue } from '../../knative/model/index.js';

export type { AttributeValue } from '../../knative/model/index.js';

/** An immutable CloudEvent inside the Broker. */
export interface BrokerEvent {
  readonly attributes: Readonly<Record<string, AttributeValue>>;
  readonly data: Buffer | undefined;
}

/** The bytes and headers of an HTTP message carrying one CloudEvent. */
export interface HttpMessage {
  headers: Record<string, string>;
  body: Buffer;
}

/** A message that is not one valid CloudEvent. */
export class EventFormatError extends Error {
  override name = 'EventFormatError';
}

/** How an HTTP message carries a CloudEvent, by the rules of the CloudEvents HTTP binding. */
export type ContentMode = 'binary' | 'structured' | 'batch' | 'none';

const STRUCTURED_JSON = 'application/cloudevents+json';
const STRUCTURED_CONTENT_TYPE = `${STRUCTURED_JSON}; charset=utf-8`;
const SPEC_VERSIONS = new Set(['1.0', '0.3']);

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** The media type of a content type, lower-cased and without parameters. */
export function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase();
}

function isJsonMedia(contentType: string | undefined): boolean {
  const media = mediaType(contentType);
  return media === 'application/json' || media === 'text/json' || media.endsWith('+json');
}

function isTextMedia(contentType: string | undefined): boolean {
  const media = mediaType(contentType);
  return media.startsWith('text/') || media === 'application/xml' || media.endsWith('+xml');
}

/** The content mode of a message: structured and batch by content type, binary by `ce-specversion`. */
export function contentModeOf(headers: IncomingHttpHeaders): ContentMode {
  const media = mediaType(header(headers, 'content-type'));
  if (media.startsWith('application/cloudevents-batch')) return 'batch';
  if (media.startsWith('application/cloudevents')) return 'structured';
  if (header(headers, 'ce-specversion') !== undefined) return 'binary';
  return 'none';
}

/**
 * The CloudEvent in an HTTP request or response; `validate` false reads it
 * as the SDK's `binding.ToEvent` does, leaving the checks to an ingress.
 * @throws {EventFormatError} when the message carries no CloudEvent, a batch,
 * or an event that is not valid.
 */
export function decodeMessage(headers: IncomingHttpHeaders, body: Buffer, validate = true): BrokerEvent {
  const check = validate ? validated : (event: BrokerEvent) => event;
  switch (contentModeOf(headers)) {
    case 'binary':
      return check(decodeBinary(headers, body));
    case 'structured':
      if (mediaType(header(headers, 'content-type')) !== STRUCTURED_JSON) {
        throw new EventFormatError(`unsupported event format ${header(headers, 'content-type')}; only ${STRUCTURED_JSON} is read`);
      }
      return check(decodeStructured(body));
    case 'batch':
      throw new EventFormatError('batched content mode is not supported; send one event per request');
    case 'none':
      throw new EventFormatError('not a CloudEvent: no ce-specversion header and no application/cloudevents content type');
  }
}

function decodeBinary(headers: IncomingHttpHeaders, body: Buffer): BrokerEvent {
  const attributes: Record<string, AttributeValue> = {};
  for (const name of Object.keys(headers)) {
    if (!name.startsWith('ce-')) continue;
    const value = header(headers, name);
    if (value !== undefined) attributes[name.slice(3)] = value;
  }
  const contentType = header(headers, 'content-type');
  if (contentType !== undefined && contentType !== '') attributes.datacontenttype = contentType;
  return { attributes, data: body.length > 0 ? body : undefined };
}

function decodeStructured(body: Buffer): BrokerEvent {
  let document: unknown;
  const text = body.toString('utf8');
  try {
    document = JSON.parse(text);
  } catch {
    throw new EventFormatError('structured event is not valid JSON');
  }
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    throw new EventFormatError('structured event is not a JSON object');
  }
  const members = document as Record<string, unknown>;
  const attributes: Record<string, AttributeValue> = {};
  for (const [name, value] of Object.entries(members)) {
    if (name === 'data' || name === 'data_base64' || value === null || value === undefined) continue;
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      throw new EventFormatError(`attribute ${name} must be a string, number or boolean`);
    }
    attributes[name] = value;
  }
  const base64 = members.data_base64;
  const hasData = members.data !== undefined && members.data !== null;
  if (base64 !== undefined && base64 !== null) {
    if (hasData) throw new EventFormatError('an event carries data or data_base64, not both');
    if (typeof base64 !== 'string') throw new EventFormatError('data_base64 must be a string');
    return { attributes, data: Buffer.from(base64, 'base64') };
  }
  if (!hasData) return { attributes, data: undefined };
  const contentType = typeof attributes.datacontenttype === 'string' ? attributes.datacontenttype : undefined;
  // In the JSON format, data is a JSON value when the content type is JSON (or
  // absent, which implies JSON); in binary mode that value, byte for byte as
  // the producer wrote it, is the body, and the implied content type becomes explicit.
  if (contentType === undefined || isJsonMedia(contentType) || typeof members.data !== 'string') {
    if (contentType === undefined) attributes.datacontenttype = 'application/json';
    return { attributes, data: Buffer.from(rawMember(text, 'data'), 'utf8') };
  }
  return { attributes, data: Buffer.from(members.data, 'utf8') };
}

/**
 * Checks an event against the CloudEvents specification: the required
 * attributes, their formats, attribute names.
 * @throws {EventFormatError}
 */
export function validated(event: BrokerEvent): BrokerEvent {
  const { specversion, id, source, type } = event.attributes;
  if (typeof specversion !== 'string' || !SPEC_VERSIONS.has(specversion)) {
    throw new EventFormatError(`specversion must be 1.0 or 0.3, got ${specversion === undefined ? 'none' : JSON.stringify(specversion)}`);
  }
  for (const [name, value] of [
    ['id', id],
    ['source', source],
    ['type', type],
  ] as const) {
    if (typeof value !== 'string' || value === '') throw new EventFormatError(`required attribute ${name} is missing or empty`);
  }
  if (specversion === '1.0') {
    try {
      // The SDK fills a missing id and time; both were checked or are optional, so
      // its schema validation sees exactly the attributes that arrived.
      new CloudEvent({ ...event.attributes }, false).validate();
    } catch (err) {
      throw new EventFormatError(`invalid CloudEvent: ${(err as Error).message.replace(/\s+/g, ' ')}`);
    }
  }
  return event;
}

/** A Broker event from a CloudEvents SDK event (data objects become JSON). */
export function fromCloudEvent(event: CloudEvent<unknown>): BrokerEvent {
  const attributes: Record<string, AttributeValue> = {};
  for (const [name, value] of Object.entries(event)) {
    if (name === 'data' || name === 'data_base64' || value === undefined || value === null) continue;
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') attributes[name] = value;
    else if (value instanceof Date) attributes[name] = value.toISOString();
    else if (ArrayBuffer.isView(value)) attributes[name] = Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
    else throw new EventFormatError(`attribute ${name} must be a string, number, boolean, timestamp or binary`);
  }
  const data: unknown = event.data;
  if (data === undefined || data === null) return validated({ attributes, data: undefined });
  if (ArrayBuffer.isView(data)) return validated({ attributes, data: Buffer.from(data.buffer, data.byteOffset, data.byteLength) });
  if (typeof data === 'string') return validated({ attributes, data: Buffer.from(data, 'utf8') });
  if (attributes.datacontenttype === undefined) attributes.datacontenttype = 'application/json';
  return validated({ attributes, data: Buffer.from(JSON.stringify(data), 'utf8') });
}

/** The event with extensions set (a value) or removed (`undefined`). */
export function withExtensions(event: BrokerEvent, changes: Record<string, AttributeValue | undefined>): BrokerEvent {
  const attributes = { ...event.attributes };
  for (const [name, value] of Object.entries(changes)) {
    if (value === undefined) delete attributes[name];
    else attributes[name] = value;
  }
  return { attributes, data: event.data };
}

// Node refuses header values outside these characters, and anything beyond
// printable ASCII would not survive a header unchanged.
const HEADER_SAFE = /^[\t\x20-\x7e]*$/;

/**
 * The HTTP message for an event: binary mode unless asked for structured, as
 * Knative's dispatcher sends; structured mode also when an attribute value
 * cannot travel in a header.
 */
export function encodeMessage(event: BrokerEvent, mode: 'binary' | 'structured' = 'binary'): HttpMessage {
  const safe = Object.values(event.attributes).every((v) => HEADER_SAFE.test(String(v)));
  return mode === 'binary' && safe ? encodeBinary(event) : encodeStructured(event);
}

function encodeBinary(event: BrokerEvent): HttpMessage {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(event.attributes)) {
    headers[name === 'datacontenttype' ? 'content-type' : `ce-${name}`] = String(value);
  }
  return { headers, body: event.data ?? Buffer.alloc(0) };
}

function encodeStructured(event: BrokerEvent): HttpMessage {
  const document: Record<string, unknown> = { ...event.attributes };
  const contentType = typeof event.attributes.datacontenttype === 'string' ? event.attributes.datacontenttype : undefined;
  const text = event.data?.toString('utf8');
  let json: string | undefined;
  if (event.data !== undefined && (contentType === undefined || isJsonMedia(contentType)) && isJson(text!)) json = text!.trim();
  else if (event.data !== undefined && contentType !== undefined && isTextMedia(contentType)) document.data = text;
  else if (event.data !== undefined) document.data_base64 = event.data.toString('base64');
  const attributes = JSON.stringify(document);
  // JSON data goes in as its bytes, not re-serialised: 1.50 stays 1.50.
  const body = json === undefined ? attributes : `${attributes.slice(0, -1)}${attributes.length > 2 ? ',' : ''}"data":${json}}`;
  return { headers: { 'content-type': STRUCTURED_CONTENT_TYPE }, body: Buffer.from(body, 'utf8') };
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * The text of the top-level member `name` of a JSON object, as written. A
 * small scanner over already-valid JSON: strings are skipped whole, and the
 * member ends where its nesting closes or the next comma at depth one comes.
 */
function rawMember(json: string, name: string): string {
  let depth = 0;
  let key: string | undefined;
  let start = -1;
  for (let i = 0; i < json.length; i++) {
    const c = json[i]!;
    if (c === '"') {
      const end = stringEnd(json, i);
      if (depth === 1 && start < 0 && key === undefined && /^\s*:/.test(json.slice(end + 1))) key = JSON.parse(json.slice(i, end + 1)) as string;
      i = end;
    } else if (c === ':' && depth === 1 && key !== undefined && start < 0) {
      if (key === name) start = i + 1;
      else key = undefined;
    } else if (c === '{' || c === '[') depth += 1;
    else if ((c === ',' && depth === 1) || ((c === '}' || c === ']') && --depth === 0)) {
      if (start >= 0) return json.slice(start, i).trim();
      key = undefined;
    }
  }
  throw new EventFormatError(`structured event has no member ${name}`);
}

function stringEnd(json: string, quote: number): number {
  let i = quote + 1;
  while (json[i] !== '"') i += json[i] === '\\' ? 2 : 1;
  return i;
}
