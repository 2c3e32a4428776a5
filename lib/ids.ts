import { createHash, randomUUID } from 'node:crypto';

/** Namespace for ids derived from a CloudEvent's (source, id). */
const EVENT_NAMESPACE = 'a4f7e1c2-3b5d-4e6f-9a8b-7c6d5e4f3a2b';

/** RFC 4122 version-5 UUID of `name` in `namespace`. */
export function uuidV5(name: string, namespace: string = EVENT_NAMESPACE): string {
  const ns = Buffer.from(namespace.replace(/-/g, ''), 'hex');
  const hash = createHash('sha1').update(ns).update(name, 'utf8').digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/**
 * The id of the entity a command creates when the command names none:
 * derived from (source, id) so a redelivered command never creates a second one.
 */
export function entityIdFor(kind: string, event: { source: string; id: string }): string {
  return uuidV5(`${kind}\n${event.source}\n${event.id}`);
}

export const newId = randomUUID;

export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
