/**
 * CloudEvents as the Broker carries them: context attributes (extensions
 * included) and the data as bytes, exactly as they arrived. The Broker never
 * interprets data, so it keeps the bytes rather than a parsed value: what a
 * subscriber receives is what the producer sent (the SDK's `DataEncoded`).
 *
 * Reads both HTTP content modes (binary, structured JSON); writes binary
 * mode as Knative's dispatcher does, structured mode when asked to. Also the
 * extensions the Broker reads and writes (the reply TTL, the arrival time,
 * the error attributes of dead-lettered events), and the HTTP headers that
 * travel with an event, by eventing `pkg/utils/headers.go` (`PassThroughHeaders`):
 * `x-request-id`, `retry-after`, and headers starting `knative-` or `x-b3-`,
 * from a producer's request and from a subscriber's response onto its reply.
 * Everything else stays behind, CloudEvent attributes included. And the
 * errors the Broker stand-in raises, named once.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { CloudEvent } from 'cloudevents';
import type { AttributeValue } from '../../knative/model/index.js';

/**
 * A Broker or Trigger manifest the stand-in cannot run (one Knative would
 * refuse, or a subscriber that does not resolve). Raised by `createBroker`,
 * so a bad manifest fails at start.
 */
export class BrokerConfigError extends Error {
  override name = 'BrokerConfigError';
}

/**
 * An event the ingress refused, with the HTTP status a POST would have got:
 * 400 (not a valid CloudEvent, or its TTL ran out), 404 (no such Broker),
 * 503 (the Broker is draining).
 */
export class IngressError extends Error {
  override name = 'IngressError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** A message that is not one valid CloudEvent: the ingress answers it 400. */
export class EventFormatError extends IngressError {
  override name = 'EventFormatError';
  constructor(message: string) {
    super(400, message);
  }
}

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

/** Hops an event may still take through the Broker by replies. */
export const TTL = 'knativebrokerttl';
/** When the ingress accepted the event (RFC 3339). */
export const ARRIVAL_TIME = 'knativearrivaltime';
/** The TTL an event gets when it enters a Broker without one. */
export const DEFAULT_TTL = 255;

const STRUCTURED_JSON = 'application/cloudevents+json';
const header = (headers: IncomingHttpHeaders, name: string) => (Array.isArray(headers[name]) ? headers[name].join(', ') : headers[name]);
const mediaType = (contentType: unknown) => String(contentType ?? '').split(';')[0]!.trim().toLowerCase();
const isJsonMedia = (media: string) => media === 'application/json' || media === 'text/json' || media.endsWith('+json');
const isTextMedia = (media: string) => media.startsWith('text/') || media === 'application/xml' || media.endsWith('+xml');

/** How a message carries a CloudEvent (CloudEvents HTTP binding): structured and batch by content type, binary by `ce-specversion`. */
export function contentModeOf(headers: IncomingHttpHeaders): 'binary' | 'structured' | 'batch' | 'none' {
  const media = mediaType(header(headers, 'content-type'));
  if (media.startsWith('application/cloudevents-batch')) return 'batch';
  if (media.startsWith('application/cloudevents')) return 'structured';
  return header(headers, 'ce-specversion') !== undefined ? 'binary' : 'none';
}

/**
 * The CloudEvent in an HTTP request or response; `validate` false reads it as the SDK's
 * `binding.ToEvent` does, leaving the checks to an ingress.
 * @throws {EventFormatError} when the message carries no CloudEvent, a batch, or an event that is not valid.
 */
export function decodeMessage(headers: IncomingHttpHeaders, body: Buffer, validate = true): BrokerEvent {
  const mode = contentModeOf(headers);
  if (mode === 'batch') throw new EventFormatError('batched content mode is not supported; send one event per request');
  if (mode === 'none') throw new EventFormatError('not a CloudEvent: no ce-specversion header and no application/cloudevents content type');
  if (mode === 'structured' && mediaType(header(headers, 'content-type')) !== STRUCTURED_JSON) {
    throw new EventFormatError(`unsupported event format ${header(headers, 'content-type')}; only ${STRUCTURED_JSON} is read`);
  }
  const event = mode === 'binary' ? decodeBinary(headers, body) : decodeStructured(body.toString('utf8'));
  return validate ? validated(event) : event;
}

function decodeBinary(headers: IncomingHttpHeaders, body: Buffer): BrokerEvent {
  const attributes: Record<string, AttributeValue> = {};
  for (const name of Object.keys(headers).filter((n) => n.startsWith('ce-'))) attributes[name.slice(3)] = header(headers, name)!;
  if (header(headers, 'content-type')) attributes.datacontenttype = header(headers, 'content-type')!;
  return { attributes, data: body.length > 0 ? body : undefined };
}

function decodeStructured(text: string): BrokerEvent {
  let members: unknown;
  try {
    members = JSON.parse(text);
  } catch {
    throw new EventFormatError('structured event is not valid JSON');
  }
  if (typeof members !== 'object' || members === null || Array.isArray(members)) throw new EventFormatError('structured event is not a JSON object');
  const { data, data_base64: base64, ...rest } = members as Record<string, unknown>;
  const attributes: Record<string, AttributeValue> = {};
  for (const [name, value] of Object.entries(rest).filter(([, v]) => v !== null)) {
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') throw new EventFormatError(`attribute ${name} must be a string, number or boolean`);
    attributes[name] = value;
  }
  const hasData = data !== undefined && data !== null;
  if (base64 !== undefined && base64 !== null) {
    if (hasData) throw new EventFormatError('an event carries data or data_base64, not both');
    if (typeof base64 !== 'string') throw new EventFormatError('data_base64 must be a string');
    return { attributes, data: Buffer.from(base64, 'base64') };
  }
  if (!hasData) return { attributes, data: undefined };
  // In the JSON format, data is a JSON value when the content type is JSON (or absent, which implies
  // JSON); in binary mode that value, byte for byte as written, is the body, and the content type explicit.
  const media = mediaType(attributes.datacontenttype);
  if (typeof data === 'string' && media !== '' && !isJsonMedia(media)) return { attributes, data: Buffer.from(data, 'utf8') };
  attributes.datacontenttype ??= 'application/json';
  return { attributes, data: Buffer.from(rawMember(text, 'data'), 'utf8') };
}

/**
 * Checks an event against the CloudEvents specification: the required attributes, their formats, attribute names.
 * @throws {EventFormatError}
 */
export function validated(event: BrokerEvent): BrokerEvent {
  const { specversion, id, source, type } = event.attributes;
  if (specversion !== '1.0' && specversion !== '0.3') throw new EventFormatError(`specversion must be 1.0 or 0.3, got ${specversion === undefined ? 'none' : JSON.stringify(specversion)}`);
  for (const [name, value] of Object.entries({ id, source, type })) {
    if (typeof value !== 'string' || value === '') throw new EventFormatError(`required attribute ${name} is missing or empty`);
  }
  try {
    // The SDK fills a missing id and time; both were checked or are optional, so its schema validation sees what arrived.
    if (specversion === '1.0') new CloudEvent({ ...event.attributes }, false).validate();
  } catch (err) {
    throw new EventFormatError(`invalid CloudEvent: ${(err as Error).message.replace(/\s+/g, ' ')}`);
  }
  return event;
}

/** A Broker event from a CloudEvents SDK event (data objects become JSON). @throws {EventFormatError} */
export function fromCloudEvent(event: CloudEvent<unknown>): BrokerEvent {
  const attributes: Record<string, AttributeValue> = {};
  const bytes = (v: ArrayBufferView) => Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  for (const [name, value] of Object.entries(event).filter(([n, v]) => n !== 'data' && n !== 'data_base64' && v !== undefined && v !== null)) {
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') attributes[name] = value;
    else if (value instanceof Date) attributes[name] = value.toISOString();
    else if (ArrayBuffer.isView(value)) attributes[name] = bytes(value).toString('base64');
    else throw new EventFormatError(`attribute ${name} must be a string, number, boolean, timestamp or binary`);
  }
  const data: unknown = event.data;
  if (data === undefined || data === null) return validated({ attributes, data: undefined });
  if (ArrayBuffer.isView(data) || typeof data === 'string') return validated({ attributes, data: typeof data === 'string' ? Buffer.from(data) : bytes(data) });
  attributes.datacontenttype ??= 'application/json';
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

/** The event's TTL, or undefined when it has none or one that is not an integer. */
export function ttlOf(event: BrokerEvent): number | undefined {
  const raw = event.attributes[TTL];
  const ttl = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
  return typeof ttl === 'number' && Number.isInteger(ttl) ? ttl : undefined;
}

/** The TTL an event carries past the ingress: the default when it has none, else one less (never below 0; 0 is dropped). */
export const ingressTtl = (event: BrokerEvent): number => (ttlOf(event) === undefined ? DEFAULT_TTL : Math.max(ttlOf(event)! - 1, 0));

/**
 * The error extensions Knative adds to an event it dead-letters (`pkg/channel/attributes`): where delivery failed,
 * its last status, and its last response body, base64 cut to 1024 characters.
 */
export function withDeliveryError(event: BrokerEvent, destination: string, code: number, body: Buffer): BrokerEvent {
  return withExtensions(event, { knativeerrordest: destination, knativeerrorcode: code, knativeerrordata: body.toString('base64').slice(0, 1024) });
}

// Node refuses header values outside these characters, and beyond printable ASCII a value would not survive a header.
const HEADER_SAFE = /^[\t\x20-\x7e]*$/;

/** The HTTP message for an event: binary mode unless asked for structured, as Knative's dispatcher sends; structured when a value cannot be a header. */
export function encodeMessage(event: BrokerEvent, mode: 'binary' | 'structured' = 'binary'): HttpMessage {
  if (mode === 'binary' && Object.values(event.attributes).every((v) => HEADER_SAFE.test(String(v)))) {
    const headers = Object.fromEntries(Object.entries(event.attributes).map(([name, v]) => [name === 'datacontenttype' ? 'content-type' : `ce-${name}`, String(v)]));
    return { headers, body: event.data ?? Buffer.alloc(0) };
  }
  const document: Record<string, unknown> = { ...event.attributes };
  const media = mediaType(event.attributes.datacontenttype);
  const text = event.data?.toString('utf8');
  let json: string | undefined;
  if (text !== undefined && (media === '' || isJsonMedia(media)) && isJson(text)) json = text.trim();
  else if (text !== undefined && isTextMedia(media)) document.data = text;
  else if (event.data !== undefined) document.data_base64 = event.data.toString('base64');
  const attributes = JSON.stringify(document);
  // JSON data goes in as its bytes, not re-serialised: 1.50 stays 1.50.
  const body = json === undefined ? attributes : `${attributes.slice(0, -1)}${attributes.length > 2 ? ',' : ''}"data":${json}}`;
  return { headers: { 'content-type': `${STRUCTURED_JSON}; charset=utf-8` }, body: Buffer.from(body, 'utf8') };
}

function isJson(text: string): boolean {
  try {
    return JSON.parse(text) !== undefined;
  } catch {
    return false;
  }
}

/**
 * The text of the top-level member `name` of a JSON object, as written: a small scanner over valid JSON that
 * skips strings whole and ends the member where its nesting closes or the next comma at depth one comes.
 */
function rawMember(json: string, name: string): string {
  let [depth, start, key] = [0, -1, undefined as string | undefined];
  for (let i = 0; i < json.length; i++) {
    const c = json[i]!;
    if (c === '"') {
      let end = i + 1;
      while (json[end] !== '"') end += json[end] === '\\' ? 2 : 1;
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

/** Asks a subscriber to answer with a reply event if it has one. */
export const PREFER = 'prefer';
/** Tells a subscriber the namespace of the Trigger that delivers to it. */
export const KN_NAMESPACE = 'kn-namespace';

const FORWARDED = new Set([
  'x-request-id',
  'retry-after',
  // Not headers.go's: Knative's tracing instrumentation carries W3C trace
  // context on every hop. With no tracing of its own the stand-in hands the
  // producer's context on, so a subscriber's spans join its trace.
  'traceparent',
  'tracestate',
]);
const FORWARDED_PREFIXES = ['knative-', 'x-b3-'];

/** The headers of a request or response that Knative passes through with its event. */
export function passThroughHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (value !== undefined && (FORWARDED.has(lower) || FORWARDED_PREFIXES.some((prefix) => lower.startsWith(prefix)))) {
      kept[lower] = Array.isArray(value) ? value.join(', ') : value;
    }
  }
  return kept;
}
