/**
 * dead-letters: the Broker's dead-letter sink. Records every event a Trigger
 * gave up on, with Knative's `knativeerror*` extensions, so an operator can
 * list them (`GET /dead-letters`) and send one back into the Broker
 * (`POST /dead-letters/{id}/replay`), both with the admin token.
 */
import type { CloudEvent } from 'cloudevents';
import { checkAdminToken } from '../../lib/auth.js';
import { opt, readConfig } from '../../lib/config.js';
import { NotFoundError, TransientError } from '../../lib/errors.js';
import { createHttpFunction, type HttpFunction } from '../../lib/http-function.js';
import { eventFromRow } from '../../lib/inbox.js';
import { baseOptions, createRuntime, type Runtime } from '../../lib/runtime.js';

export const options = {
  ...baseOptions,
  adminToken: opt.secret('ADMIN_TOKEN', 'token that may read and replay dead letters', 16),
};

function decodeErrorData(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  // knativeerrordata is base64; keep the raw value if it was not.
  return Buffer.from(decoded, 'utf8').toString('base64') === value ? decoded : value;
}

export async function recordDeadLetter(rt: Runtime, event: CloudEvent<unknown>): Promise<void> {
  const code = Number(event['knativeerrorcode']);
  await rt.db('dead_letters')
    .insert({
      event_id: event.id,
      source: event.source,
      type: event.type,
      event: JSON.stringify(event.toJSON()),
      error_dest: typeof event['knativeerrordest'] === 'string' ? event['knativeerrordest'] : null,
      error_code: Number.isInteger(code) ? code : null,
      error_data: decodeErrorData(event['knativeerrordata']),
    })
    .onConflict(['source', 'event_id', 'error_dest'])
    .ignore();
  rt.log.warn('dead letter', { type: event.type, id: event.id, source: event.source, dest: event['knativeerrordest'], code });
}

export function createDeadLettersFunction(rt: Runtime, adminToken: string): HttpFunction {
  const admin = (authorization: string | undefined) => checkAdminToken(adminToken, authorization);
  return createHttpFunction(rt, {
    routes: [
      {
        method: 'GET',
        path: '/dead-letters',
        async handle(req) {
          admin(req.header('authorization'));
          const rows = await rt.db('dead_letters').orderBy('id', 'desc').limit(500);
          const body = rows.map((r) => ({
            id: Number(r.id),
            eventId: r.event_id,
            source: r.source,
            type: r.type,
            errorDest: r.error_dest,
            errorCode: r.error_code,
            errorData: r.error_data,
            receivedAt: r.received_at.toISOString(),
            replayedAt: r.replayed_at?.toISOString() ?? null,
            event: r.event,
          }));
          return { status: 200, body };
        },
      },
      {
        method: 'POST',
        path: '/dead-letters/:id/replay',
        async handle(req) {
          admin(req.header('authorization'));
          const id = Number(req.params.id);
          const row = Number.isSafeInteger(id) ? await rt.db('dead_letters').where({ id }).first() : undefined;
          if (!row) throw new NotFoundError(`No dead letter ${req.params.id}`);
          const original = eventFromRow(row);
          // Sent back without the error extensions, under its own (source, id): consumers dedupe.
          const { knativeerrordest: _d, knativeerrorcode: _c, knativeerrordata: _e, ...attributes } = original.toJSON() as Record<string, unknown>;
          const sent = await rt.emitter.publish([eventFromRow({ event: attributes })]);
          if (sent.length === 0) throw new TransientError('The Broker did not accept the event; nothing was replayed');
          await rt.db('dead_letters').where({ id }).update({ replayed_at: rt.db.fn.now() });
          return { status: 202, body: { id, replayed: true } };
        },
      },
    ],
    anyEvent: (event) => recordDeadLetter(rt, event),
  });
}

export function fromEnv(env: NodeJS.ProcessEnv = process.env): HttpFunction {
  const config = readConfig(options, env);
  return createDeadLettersFunction(createRuntime('dead-letters', config), config.adminToken);
}
