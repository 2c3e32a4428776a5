/**
 * The one logger of every process: pino. Functions write one JSON line per
 * record (what a cluster's log collector reads); the local stand-in prints
 * the same records as readable text, `HH:MM:SS.mmm message key=value …`,
 * unless asked for JSON. A record written while a span is active carries
 * its `trace_id` and `span_id` (OpenTelemetry's log fields), so logs join
 * traces. Secrets never go in `fields`.
 */
import { trace } from '@opentelemetry/api';
import { pino, type DestinationStream, type Logger as Pino } from 'pino';
import pretty from 'pino-pretty';

/** What the code logs through: a message and structured fields. */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export type LogFormat = 'json' | 'text';
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

export interface LoggerOptions {
  format?: LogFormat;
  level?: LogLevel;
  /** Where lines go (default: standard output). */
  destination?: DestinationStream;
  /** Fields added to every record, computed when it is written, beside the active trace's. */
  mixin?: () => Record<string, unknown>;
}

/** `key=value` pairs of a record, for the text format. */
function keyValues(record: Record<string, unknown>): string {
  const skip = new Set(['level', 'time', 'message', 'pid', 'hostname', 'component']);
  return Object.entries(record)
    .filter(([key, value]) => !skip.has(key) && value !== undefined)
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(' ');
}

function textDestination(): DestinationStream {
  return pretty({
    sync: true,
    colorize: false,
    messageKey: 'message',
    hideObject: true,
    ignore: 'pid,hostname,component,time,level',
    // `12:00:01.120 WARN message key=value`; info, the common case, carries no label.
    messageFormat: (log, messageKey) => {
      const time = new Date(String(log.time)).toTimeString().slice(0, 8) + '.' + String(new Date(String(log.time)).getMilliseconds()).padStart(3, '0');
      const level = log.level === 'info' ? '' : `${String(log.level).toUpperCase()} `;
      return `${time} ${level}${String(log[messageKey] ?? '')} ${keyValues(log as Record<string, unknown>)}`.trimEnd();
    },
  }) as unknown as DestinationStream;
}

/** The active span's ids, for every record (none outside a traced request). */
export function activeTraceFields(): Record<string, unknown> {
  const span = trace.getActiveSpan();
  if (span === undefined) return {};
  const { traceId, spanId, traceFlags } = span.spanContext();
  return { trace_id: traceId, span_id: spanId, trace_flags: `0${traceFlags & 1}` };
}

/** Wraps pino in the project's `(message, fields)` interface. */
function wrap(p: Pino): Logger {
  return {
    debug: (message, fields) => p.debug(fields ?? {}, message),
    info: (message, fields) => p.info(fields ?? {}, message),
    warn: (message, fields) => p.warn(fields ?? {}, message),
    error: (message, fields) => p.error(fields ?? {}, message),
  };
}

/** A logger for `component` (a function's name, `broker`, `stand-in`). */
export function createLogger(component: string, options: LoggerOptions = {}): Logger {
  const destination = options.destination ?? (options.format === 'text' ? textDestination() : pino.destination({ sync: true }));
  return wrap(
    pino(
      {
        level: options.level ?? 'info',
        base: { component },
        messageKey: 'message',
        timestamp: pino.stdTimeFunctions.isoTime,
        formatters: { level: (label) => ({ level: label }) },
        mixin: options.mixin ? () => ({ ...activeTraceFields(), ...options.mixin!() }) : activeTraceFields,
      },
      destination,
    ),
  );
}

/** A logger that drops everything (tests that assert on behaviour, not logs). */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
