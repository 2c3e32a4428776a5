/**
 * The CloudEvents extensions Knative's Broker reads and writes: the reply
 * TTL, the arrival time, and the error attributes of dead-lettered events.
 */
import { withExtensions, type BrokerEvent } from './events.js';

/** Hops an event may still take through the Broker by replies. */
export const TTL = 'knativebrokerttl';
/** When the ingress accepted the event (RFC 3339). */
export const ARRIVAL_TIME = 'knativearrivaltime';
/** The URL whose delivery failed, on a dead-lettered event. */
export const ERROR_DEST = 'knativeerrordest';
/** The last HTTP status of a failed delivery. */
export const ERROR_CODE = 'knativeerrorcode';
/** The last response body of a failed delivery, base64. */
export const ERROR_DATA = 'knativeerrordata';

/** The TTL an event gets when it enters a Broker without one. */
export const DEFAULT_TTL = 255;
/** Knative truncates the base64 error data to this many characters. */
export const ERROR_DATA_MAX_LENGTH = 1024;

/** The event's TTL, or undefined when it has none or one that is not an integer. */
export function ttlOf(event: BrokerEvent): number | undefined {
  const raw = event.attributes[TTL];
  const ttl = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
  return typeof ttl === 'number' && Number.isInteger(ttl) ? ttl : undefined;
}

/**
 * The TTL an event carries past the ingress: the default when it has none,
 * otherwise one less than it had (never below 0). Zero means the ingress
 * drops it.
 */
export function ingressTtl(event: BrokerEvent): number {
  const ttl = ttlOf(event);
  return ttl === undefined ? DEFAULT_TTL : Math.max(ttl - 1, 0);
}

/** The error extensions Knative adds to an event it dead-letters. */
export function withDeliveryError(event: BrokerEvent, destination: string, code: number, body: Buffer): BrokerEvent {
  return withExtensions(event, {
    [ERROR_DEST]: destination,
    [ERROR_CODE]: code,
    [ERROR_DATA]: body.toString('base64').slice(0, ERROR_DATA_MAX_LENGTH),
  });
}
