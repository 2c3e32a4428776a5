/**
 * Sends letters through `@aws-sdk/client-sesv2`. In dry-run mode the client
 * gets a request handler that never leaves the process: it reads the
 * SendEmail request the SDK built (recipient, subject, body, tags), hands the
 * would-be email to the caller's recorder (which writes it to
 * `notifications` inside the caller's transaction), and answers as SES would,
 * with a message id. Real SES is the same code with the default handler,
 * selected by configuration.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';

export interface Letter {
  to: string;
  subject: string;
  body: string;
  /** Carried as SES email tags (`[A-Za-z0-9_-]` values). */
  tags: Record<string, string>;
}

/** The email as the dry-run handler saw it on the wire. */
export interface DryRunEmail extends Letter {
  from: string;
  messageId: string;
}

export interface Sent {
  messageId: string;
  status: 'dry-run' | 'sent';
}

export interface Mailer {
  /**
   * Sends `letter`. In dry-run mode `onDryRun` receives the would-be email
   * before SES "answers"; if it throws, the send fails.
   */
  send(letter: Letter, onDryRun: (email: DryRunEmail) => Promise<void>): Promise<Sent>;
}

export interface MailerConfig {
  mode: 'dry-run' | 'ses';
  region: string;
  from: string;
}

interface SesRequest {
  method: string;
  path: string;
  body?: unknown;
}

interface SendEmailBody {
  FromEmailAddress?: string;
  Destination?: { ToAddresses?: string[] };
  Content?: { Simple?: { Subject?: { Data?: string }; Body?: { Text?: { Data?: string } } } };
  EmailTags?: { Name: string; Value: string }[];
}

/** SES message ids look like `0100018c...-...-000000`; ours say where they came from. */
function dryRunMessageId(): string {
  return `dry-run-${Date.now().toString(16)}-${randomBytes(12).toString('hex')}`;
}

function createDryRunHandler(recorders: AsyncLocalStorage<(email: DryRunEmail) => Promise<void>>) {
  return {
    metadata: { handlerProtocol: 'h1' },
    async handle(request: SesRequest) {
      if (request.method !== 'POST' || !request.path.endsWith('/v2/email/outbound-emails')) {
        throw new Error(`dry-run SES handles SendEmail only, not ${request.method} ${request.path}`);
      }
      const wire = request.body;
      // Read the bytes as they are: `Buffer.from(wire)` would go through the
      // SDK body's string view (`valueOf`), which it warns against.
      const text =
        wire instanceof Uint8Array ? Buffer.from(wire.buffer, wire.byteOffset, wire.byteLength).toString('utf8') : String(wire);
      const payload = JSON.parse(text) as SendEmailBody;
      const messageId = dryRunMessageId();
      const record = recorders.getStore();
      if (!record) throw new Error('dry-run SES send outside Mailer.send');
      await record({
        from: payload.FromEmailAddress ?? '',
        to: payload.Destination?.ToAddresses?.[0] ?? '',
        subject: payload.Content?.Simple?.Subject?.Data ?? '',
        body: payload.Content?.Simple?.Body?.Text?.Data ?? '',
        tags: Object.fromEntries((payload.EmailTags ?? []).map((t) => [t.Name, t.Value])),
        messageId,
      });
      const body = Buffer.from(JSON.stringify({ MessageId: messageId }));
      return {
        response: {
          statusCode: 200,
          reason: 'OK',
          headers: { 'content-type': 'application/json', 'content-length': String(body.length), 'x-amzn-requestid': messageId },
          body: Readable.from([body]),
        },
      };
    },
    updateHttpClientConfig() {},
    httpHandlerConfigs() {
      return {};
    },
    destroy() {},
  };
}

export function createMailer(config: MailerConfig): Mailer {
  const recorders = new AsyncLocalStorage<(email: DryRunEmail) => Promise<void>>();
  const client =
    config.mode === 'dry-run'
      ? new SESv2Client({
          region: config.region,
          credentials: { accessKeyId: 'dry-run', secretAccessKey: 'dry-run' },
          // No request leaves the process, so none needs a signature (SigV4
          // was most of a dry-run send's CPU).
          signer: { sign: async (request) => request },
          // Nor an endpoint resolved from SES's rule set for every send.
          endpoint: `https://email.${config.region}.amazonaws.com`,
          requestHandler: createDryRunHandler(recorders) as never,
          maxAttempts: 1,
        })
      : new SESv2Client({ region: config.region });
  return {
    async send(letter, onDryRun) {
      const command = new SendEmailCommand({
        FromEmailAddress: config.from,
        Destination: { ToAddresses: [letter.to] },
        Content: {
          Simple: {
            Subject: { Data: letter.subject, Charset: 'UTF-8' },
            Body: { Text: { Data: letter.body, Charset: 'UTF-8' } },
          },
        },
        EmailTags: Object.entries(letter.tags).map(([Name, Value]) => ({ Name, Value })),
      });
      const result = await recorders.run(onDryRun, () => client.send(command));
      if (!result.MessageId) throw new Error('SES answered without a MessageId');
      return { messageId: result.MessageId, status: config.mode === 'dry-run' ? 'dry-run' : 'sent' };
    },
  };
}
