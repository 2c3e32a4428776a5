/**
 * OTLP/HTTP trace requests (`POST /v1/traces`), read into the console's
 * spans ({@link Span}): `application/x-protobuf` (http/protobuf) and
 * `application/json` (http/json), as the OpenTelemetry protocol defines
 * them (opentelemetry-proto `trace/v1/trace.proto`, `common/v1`,
 * `resource/v1`, and the JSON mapping of `docs/specification.md`: ids in
 * hex, 64-bit integers as strings or numbers, enums as integers).
 */
import protobuf from 'protobufjs';
import type { Span } from './api-types.js';

/** A request that is not an OTLP trace request: 400. */
export class OtlpFormatError extends Error {
  override name = 'OtlpFormatError';
}

const field = (id: number, type: string, rule?: 'repeated') => ({ id, type, ...(rule ? { rule } : {}) });

// The messages of ExportTraceServiceRequest, by field number; names as the JSON mapping spells them.
const root = protobuf.Root.fromJSON({
  nested: {
    ExportTraceServiceRequest: { fields: { resourceSpans: field(1, 'ResourceSpans', 'repeated') } },
    ResourceSpans: { fields: { resource: field(1, 'Resource'), scopeSpans: field(2, 'ScopeSpans', 'repeated'), schemaUrl: field(3, 'string') } },
    Resource: { fields: { attributes: field(1, 'KeyValue', 'repeated'), droppedAttributesCount: field(2, 'uint32') } },
    ScopeSpans: { fields: { scope: field(1, 'InstrumentationScope'), spans: field(2, 'Span', 'repeated'), schemaUrl: field(3, 'string') } },
    InstrumentationScope: { fields: { name: field(1, 'string'), version: field(2, 'string'), attributes: field(3, 'KeyValue', 'repeated') } },
    Span: {
      fields: {
        traceId: field(1, 'bytes'),
        spanId: field(2, 'bytes'),
        traceState: field(3, 'string'),
        parentSpanId: field(4, 'bytes'),
        flags: field(16, 'fixed32'),
        name: field(5, 'string'),
        kind: field(6, 'int32'),
        startTimeUnixNano: field(7, 'fixed64'),
        endTimeUnixNano: field(8, 'fixed64'),
        attributes: field(9, 'KeyValue', 'repeated'),
        events: field(11, 'SpanEvent', 'repeated'),
        links: field(13, 'SpanLink', 'repeated'),
        status: field(15, 'Status'),
      },
    },
    SpanEvent: { fields: { timeUnixNano: field(1, 'fixed64'), name: field(2, 'string'), attributes: field(3, 'KeyValue', 'repeated') } },
    SpanLink: { fields: { traceId: field(1, 'bytes'), spanId: field(2, 'bytes'), traceState: field(3, 'string'), attributes: field(4, 'KeyValue', 'repeated') } },
    Status: { fields: { message: field(2, 'string'), code: field(3, 'int32') } },
    KeyValue: { fields: { key: field(1, 'string'), value: field(2, 'AnyValue') } },
    AnyValue: {
      oneofs: { value: { oneof: ['stringValue', 'boolValue', 'intValue', 'doubleValue', 'arrayValue', 'kvlistValue', 'bytesValue'] } },
      fields: {
        stringValue: field(1, 'string'),
        boolValue: field(2, 'bool'),
        intValue: field(3, 'int64'),
        doubleValue: field(4, 'double'),
        arrayValue: field(5, 'ArrayValue'),
        kvlistValue: field(6, 'KeyValueList'),
        bytesValue: field(7, 'bytes'),
      },
    },
    ArrayValue: { fields: { values: field(1, 'AnyValue', 'repeated') } },
    KeyValueList: { fields: { values: field(1, 'KeyValue', 'repeated') } },
  },
});
const Request = root.lookupType('ExportTraceServiceRequest');

/** Longer attribute strings are cut: the store keeps what a waterfall shows, within its memory. */
const MAX_STRING = 1024;
const KINDS: readonly Span['kind'][] = ['internal', 'internal', 'server', 'client', 'producer', 'consumer'];
const STATUSES: readonly Span['status'][] = ['unset', 'ok', 'error'];

type Loose = Record<string, unknown>;
const list = (value: unknown): Loose[] => (Array.isArray(value) ? (value as Loose[]) : []);

function hex(value: unknown): string {
  if (typeof value === 'string') return value.toLowerCase();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  return '';
}

function nanos(value: unknown): string {
  const text = typeof value === 'number' ? BigInt(Math.trunc(value)).toString() : String(value ?? '0');
  if (!/^\d{1,25}$/.test(text)) throw new OtlpFormatError(`a time of ${JSON.stringify(value)} is not nanoseconds`);
  return text;
}

/** An enum, as a number or (leniently) its proto name. */
function enumOf(value: unknown, names: readonly string[]): number {
  if (typeof value === 'number') return value;
  const index = names.indexOf(String(value));
  return index < 0 ? 0 : index;
}

function valueOf(any: Loose | undefined): unknown {
  if (!any) return null;
  if (typeof any.stringValue === 'string') return any.stringValue.length > MAX_STRING ? `${any.stringValue.slice(0, MAX_STRING)}…` : any.stringValue;
  if (any.boolValue !== undefined) return any.boolValue === true || any.boolValue === 'true';
  if (any.intValue !== undefined) {
    const n = Number(any.intValue);
    return Number.isSafeInteger(n) ? n : String(any.intValue);
  }
  if (any.doubleValue !== undefined) return Number(any.doubleValue);
  if (any.arrayValue !== undefined) return list((any.arrayValue as Loose).values).map(valueOf);
  if (any.kvlistValue !== undefined) return attributesOf((any.kvlistValue as Loose).values);
  if (any.bytesValue !== undefined) return typeof any.bytesValue === 'string' ? any.bytesValue : Buffer.from(any.bytesValue as Uint8Array).toString('base64');
  return null;
}

function attributesOf(keyValues: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const kv of list(keyValues)) if (typeof kv.key === 'string') out[kv.key] = valueOf(kv.value as Loose | undefined);
  return out;
}

/** The spans of a decoded request (protobufjs's object or the JSON mapping: the same shape). */
function spansOf(request: Loose): Span[] {
  const spans: Span[] = [];
  for (const resourceSpans of list(request.resourceSpans)) {
    const service = String(attributesOf((resourceSpans.resource as Loose | undefined)?.attributes)['service.name'] ?? 'unknown');
    for (const scopeSpans of list(resourceSpans.scopeSpans)) {
      for (const s of list(scopeSpans.spans)) {
        const status = (s.status ?? {}) as Loose;
        const code = STATUSES[enumOf(status.code, ['STATUS_CODE_UNSET', 'STATUS_CODE_OK', 'STATUS_CODE_ERROR'])] ?? 'unset';
        const parent = hex(s.parentSpanId);
        const span: Span = {
          traceId: hex(s.traceId),
          spanId: hex(s.spanId),
          ...(parent && !/^0+$/.test(parent) ? { parentSpanId: parent } : {}),
          name: String(s.name ?? ''),
          service,
          kind: KINDS[enumOf(s.kind, ['SPAN_KIND_UNSPECIFIED', 'SPAN_KIND_INTERNAL', 'SPAN_KIND_SERVER', 'SPAN_KIND_CLIENT', 'SPAN_KIND_PRODUCER', 'SPAN_KIND_CONSUMER'])] ?? 'internal',
          startUnixNano: nanos(s.startTimeUnixNano),
          endUnixNano: nanos(s.endTimeUnixNano),
          status: code,
          ...(typeof status.message === 'string' && status.message !== '' ? { statusMessage: status.message } : {}),
          attributes: attributesOf(s.attributes),
          events: list(s.events).map((e) => ({ name: String(e.name ?? ''), timeUnixNano: nanos(e.timeUnixNano), attributes: attributesOf(e.attributes) })),
          links: list(s.links).map((l) => ({ traceId: hex(l.traceId), spanId: hex(l.spanId), attributes: attributesOf(l.attributes) })),
        };
        if (!/^[0-9a-f]{32}$/.test(span.traceId) || !/^[0-9a-f]{16}$/.test(span.spanId)) throw new OtlpFormatError('a span without a valid traceId and spanId');
        spans.push(span);
      }
    }
  }
  return spans;
}

/**
 * The spans of an OTLP trace request body, by its content type.
 * @throws {OtlpFormatError} for a body that is not one, or a content type that is neither.
 */
export function decodeTraceRequest(contentType: string, body: Buffer): Span[] {
  const media = contentType.split(';')[0]!.trim().toLowerCase();
  if (media === 'application/x-protobuf' || media === 'application/protobuf') {
    let decoded: protobuf.Message;
    try {
      decoded = Request.decode(body);
    } catch (err) {
      throw new OtlpFormatError(`not an OTLP protobuf trace request: ${(err as Error).message}`);
    }
    return spansOf(Request.toObject(decoded, { longs: String, enums: Number, defaults: false }) as Loose);
  }
  if (media === 'application/json') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      throw new OtlpFormatError('not valid JSON');
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new OtlpFormatError('an OTLP JSON request is an object');
    return spansOf(parsed as Loose);
  }
  throw new OtlpFormatError(`content type ${contentType || 'none'} is neither application/x-protobuf nor application/json`);
}
