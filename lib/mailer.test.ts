import { describe, expect, it } from 'vitest';
import { createMailer, type DryRunEmail, type Letter } from './mailer.js';

describe('the dry-run mailer (SESv2 SendEmail, answered in-process)', () => {
  const mailer = createMailer({ mode: 'dry-run', region: 'us-east-1', from: 'orders@ordersaga.dev' });
  const letter: Letter = {
    to: 'ada@example.com',
    subject: 'Your order 42 is confirmed — merci',
    body: 'Hello Ada,\n\nGood news: "order 42" is confirmed.\n',
    tags: { order_id: 'c5d2e1f0-9a8b-4c7d-8e6f-5a4b3c2d1e0f', letter: 'happy' },
  };

  it('hands the recorder the email as the SDK put it on the wire, and answers with its message id', async () => {
    const seen: DryRunEmail[] = [];
    const sent = await mailer.send(letter, async (email) => {
      seen.push(email);
    });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toEqual({
      from: 'orders@ordersaga.dev',
      to: 'ada@example.com',
      subject: 'Your order 42 is confirmed — merci',
      body: 'Hello Ada,\n\nGood news: "order 42" is confirmed.\n',
      tags: { order_id: 'c5d2e1f0-9a8b-4c7d-8e6f-5a4b3c2d1e0f', letter: 'happy' },
      messageId: expect.stringMatching(/^dry-run-[0-9a-f]+-[0-9a-f]{24}$/),
    });
    // The id came back through the SDK's response parser, not around it.
    expect(sent).toEqual({ messageId: seen[0]!.messageId, status: 'dry-run' });
  });

  it('gives every email its own message id', async () => {
    const ids = new Set<string>();
    for (let i = 0; i < 5; i++) ids.add((await mailer.send(letter, async () => {})).messageId);
    expect(ids.size).toBe(5);
  });

  it('sends a letter without tags', async () => {
    let tags: Record<string, string> | undefined;
    await mailer.send({ ...letter, tags: {} }, async (email) => {
      tags = email.tags;
    });
    expect(tags).toEqual({});
  });

  it('fails the send when the recorder throws, so the letter is not reported sent', async () => {
    await expect(
      mailer.send(letter, async () => {
        throw new Error('notifications insert failed');
      }),
    ).rejects.toThrow('notifications insert failed');
  });

  it('keeps concurrent sends apart: each recorder gets its own email', async () => {
    const recipients = Array.from({ length: 8 }, (_, i) => `c${i}@example.com`);
    const got = await Promise.all(
      recipients.map(
        (to) =>
          new Promise<string>((resolve, reject) => {
            mailer
              .send({ ...letter, to }, async (email) => {
                await new Promise((r) => setTimeout(r, Math.random() * 10));
                resolve(email.to);
              })
              .catch(reject);
          }),
      ),
    );
    expect(got).toEqual(recipients);
  });
});
