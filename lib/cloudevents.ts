/**
 * CloudEvents over HTTP for the functions, in both content modes, as a
 * Knative Broker delivers them. The Functions Framework has already parsed
 * a JSON body, so an event is read from the request once: its attributes
 * from the `ce-*` headers (binary mode) or the document (structured mode),
 * its data from the parsed body, then validated once by the CloudEvents SDK.
 * Replies go out in binary mode, the mode Knative's dispatcher uses.
 */
import type { Request } from 'express';
import { CloudEvent, ValidationError as CloudEventValidationError } from 'cloudevents';
import { ValidationError } from './errors.js';

/** The bytes and headers of an HTTP message carrying one CloudEvent. */
export interface HttpMessage {
  headers: Record<string, string>;
  body: string;
}

const STRUCTURED = /^application\/cloudevents\+json\b/i;
const BATCH = /^application\/cloudevents-batch\b/i;
const JSON_MEDIA = /^application\/(.+\+)?json\b/i;

/** Whether a request carries a CloudEvent (binary or structured mode). */
export function isCloudEventRequest(req: Request): boolean {
  return req.header('ce-specversion') !== undefined || /^application\/cloudevents/i.test(req.header('content-type') ?? '');
}

function rawBodyOf(req: Request): Buffer {
  return (req as Request & { rawBody?: Buffer }).rawBody ?? Buffer.alloc(0);
}

/** The request's body as JSON: the framework's parse when it made one. */
function jsonOf(req: Request, what: string): unknown {
  if (req.body !== undefined && typeof req.body === 'object' && !Buffer.isBuffer(req.body)) return req.body;
  try {
    return JSON.parse(rawBodyOf(req).toString('utf8'));
  } catch {
    throw new ValidationError(`${what} is not valid JSON`);
  }
}

/**
 * The CloudEvent a request carries, validated.
 * @throws {ValidationError} for anything that is not one valid CloudEvent.
 */
export function readCloudEvent(req: Request): CloudEvent<unknown> {
  const contentType = req.header('content-type') ?? '';
  if (BATCH.test(contentType)) throw new ValidationError('Batched CloudEvents are not accepted; send one event per request');
  let attributes: Record<string, unknown>;
  if (STRUCTURED.test(contentType)) {
    const document = jsonOf(req, 'The structured CloudEvent');
    if (typeof document !== 'object' || document === null || Array.isArray(document)) {
      throw new ValidationError('A structured CloudEvent must be a JSON object');
    }
    attributes = { ...(document as Record<string, unknown>) };
    if (typeof attributes.data_base64 === 'string') {
      attributes.data = Buffer.from(attributes.data_base64, 'base64').toString('utf8');
      delete attributes.data_base64;
    }
  } else {
    attributes = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (name.startsWith('ce-') && value !== undefined) attributes[name.slice(3)] = Array.isArray(value) ? value.join(',') : value;
    }
    if (contentType !== '') attributes.datacontenttype = contentType;
    if (rawBodyOf(req).length > 0) {
      attributes.data = JSON_MEDIA.test(contentType) ? jsonOf(req, 'The event data') : rawBodyOf(req).toString('utf8');
    }
  }
  try {
    // The constructor validates against the CloudEvents specification.
    return new CloudEvent<unknown>(attributes as ConstructorParameters<typeof CloudEvent>[0]);
  } catch (err) {
    const detail = err instanceof CloudEventValidationError ? `${err.message}: ${JSON.stringify(err.errors ?? [])}` : (err as Error).message;
    throw new ValidationError(`Not a valid CloudEvent: ${detail}`);
  }
}

/** A produced event in binary mode: attributes as `ce-*` headers, data as the JSON body. */
export function binaryMessage(event: { datacontenttype?: string; data?: unknown; [attribute: string]: unknown }): HttpMessage {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(event)) {
    if (name === 'data' || value === undefined || value === null) continue;
    headers[name === 'datacontenttype' ? 'content-type' : `ce-${name}`] = String(value);
  }
  return { headers, body: event.data === undefined ? '' : JSON.stringify(event.data) };
}
