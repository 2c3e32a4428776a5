/**
 * The send form's back end: an event of the catalogue, validated against its
 * schema by the same validators the functions use, then posted to the
 * Broker in binary mode as `/ordersaga/console`. Nothing invalid is sent.
 */
import { HTTP } from 'cloudevents';
import { EVENT_NAMES, makeEvent, type EventName } from '../../events/index.js';
import { TransientError } from '../../lib/errors.js';
import { bodyValidator } from '../../lib/validate.js';
import type { SendRequest, SendResult } from './api-types.js';

export const CONSOLE_FUNCTION = 'console';

export interface EventSender {
  /** @throws ValidationError (nothing sent) or TransientError (the Broker did not take it) */
  send(request: unknown): Promise<SendResult>;
}

const checkRequest = bodyValidator<SendRequest>({
  type: 'object',
  additionalProperties: false,
  required: ['name', 'subject', 'data'],
  properties: {
    name: { type: 'string', enum: EVENT_NAMES },
    subject: { type: 'string', minLength: 1, maxLength: 200 },
    data: {},
  },
});

export interface EventSenderOptions {
  brokerUrl: string | undefined;
  timeoutMs?: number;
  /** The console's `Authorization` for the Broker, when sender authentication is on. */
  authorization?: () => Promise<string | undefined> | string | undefined;
}

export function createEventSender({ brokerUrl, timeoutMs = 10_000, authorization }: EventSenderOptions): EventSender {
  return {
    async send(request) {
      const { name, subject, data } = checkRequest(request);
      const event = makeEvent(CONSOLE_FUNCTION, { name: name as EventName, subject, data: data as never });
      if (brokerUrl === undefined) throw new TransientError('There is no Broker to send to (K_SINK is not set)');
      const message = HTTP.binary(event);
      const auth = await authorization?.();
      let status: number;
      try {
        const res = await fetch(brokerUrl, {
          method: 'POST',
          headers: { ...(message.headers as Record<string, string>), ...(auth === undefined ? {} : { authorization: auth }) },
          body: message.body as string,
          signal: AbortSignal.timeout(timeoutMs),
        });
        await res.body?.cancel();
        status = res.status;
      } catch (err) {
        throw new TransientError(`The Broker is not answering (${(err as Error).message})`);
      }
      if (status < 200 || status > 299) throw new TransientError(`The Broker refused the event with ${status}`);
      return { id: event.id, source: event.source, type: event.type, subject };
    },
  };
}
