/**
 * dead-letters: the Broker's dead-letter sink. Records every event a Trigger
 * gave up on, with Knative's `knativeerror*` extensions, so an operator can
 * list them (`GET /dead-letters`) and send one back into the Broker
 * (`POST /dead-letters/{id}/replay`), both with the admin token.
 */
import type { CloudEvent } from 'cloudevents';
import { checkAdminToken } from '../../lib/auth.js';
import { opt } from '../../lib/config.js';
import { NotFoundError, TransientError } from '../../lib/errors.js';
import { defineFunction, type Runtime } from '../../lib/function.js';
import type { SagaEvent } from '../../lib/messaging.js';
import type { DeadLetter } from './dead-letter.js';
import { baseOptions } from '../../lib/runtime.js';

/** knativeerrordata is base64; the raw value is kept when it is not. */
function decodeErrorData(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  return Buffer.from(decoded, 'utf8').toString('base64') === value ? decoded : value;
}

export async function recordDeadLetter(rt: Runtime, event: CloudEvent<unknown>): Promise<void> {
  const code = Number(event['knativeerrorcode']);
  await rt.sql.query(
    `insert into dead_letters (event_id, source, type, event, error_dest, error_code, error_data) values ($1, $2, $3, $4, $5, $6, $7)
     on conflict (source, event_id, error_dest) do nothing`,
    [
      event.id,
      event.source,
      event.type,
      JSON.stringify(event.toJSON()),
      typeof event['knativeerrordest'] === 'string' ? event['knativeerrordest'] : null,
      Number.isInteger(code) ? code : null,
      decodeErrorData(event['knativeerrordata']),
    ],
  );
  rt.log.warn('dead letter', { type: event.type, id: event.id, source: event.source, dest: event['knativeerrordest'], code });
}

interface DeadLetterRow {
  id: number;
  event_id: string;
  source: string;
  type: string;
  error_dest: string | null;
  error_code: number | null;
  error_data: string | null;
  received_at: Date;
  replayed_at: Date | null;
  event: SagaEvent;
}

export default defineFunction({
  name: 'dead-letters',
  role: 'Keeps every event a Trigger gave up on, for an operator to read and replay.',
  options: { ...baseOptions, adminToken: opt.secret('ADMIN_TOKEN', 'token that may read and replay dead letters', 16) },
  setup: (_rt, config) => ({ adminToken: config.adminToken }),
  // A replay sends the event, of whatever type, back into the Broker through K_SINK.
  relays: true,
  sink: (event, { rt }) => recordDeadLetter(rt, event),
  routes: [
    {
      method: 'GET',
      path: '/dead-letters',
      async handle(req, { rt, deps }) {
        checkAdminToken(deps.adminToken, req.header('authorization'));
        const rows = await rt.sql.query<DeadLetterRow>('select * from dead_letters order by id desc limit 500');
        const body = rows.map((r): DeadLetter => ({
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
      async handle(req, { rt, deps }) {
        checkAdminToken(deps.adminToken, req.header('authorization'));
        const id = Number(req.params.id);
        const row = Number.isSafeInteger(id) ? await rt.sql.one<DeadLetterRow>('select * from dead_letters where id = $1', [id]) : undefined;
        if (!row) throw new NotFoundError(`No dead letter ${req.params.id}`);
        // Sent back without the error extensions, under its own (source, id): consumers dedupe.
        const { knativeerrordest: _d, knativeerrorcode: _c, knativeerrordata: _e, ...original } = row.event;
        const sent = await rt.publisher.publish([original as SagaEvent]);
        if (sent.length === 0) throw new TransientError('The Broker did not accept the event; nothing was replayed');
        await rt.sql.query('update dead_letters set replayed_at = now() where id = $1', [id]);
        return { status: 202, body: { id, replayed: true } };
      },
    },
  ],
});
