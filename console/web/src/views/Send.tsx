/** The send form: a type from the catalogue, data prefilled from its example, validated by the server before anything is sent, then followed live. */
import { useMemo, useState } from 'preact/hooks';
import type { SendResult } from '../../../server/api-types.js';
import asyncapi from '../../../../events/asyncapi.yaml';
import { api, ApiError } from '../api.js';
import { catalogueOf, prefill, type CatalogueEntry } from '../catalogue.js';
import { orderIdOf } from '../filters.js';
import type { LiveStore } from '../live.js';
import { DeliveryChips } from './Live.js';
import { clock, nameOfType } from '../format.js';

export function SendView({ store }: { store: LiveStore }) {
  const { entries } = useMemo(() => catalogueOf(asyncapi), []);
  const start = (entry: CatalogueEntry) => {
    const filled = prefill(entry, () => crypto.randomUUID());
    return { name: entry.name, subject: filled.subject, data: JSON.stringify(filled.data, null, 2) };
  };
  const [form, setForm] = useState(() => start(entries[0]!));
  const [errors, setErrors] = useState<{ path: string; message: string }[]>([]);
  const [message, setMessage] = useState<string | undefined>();
  const [sent, setSent] = useState<SendResult | undefined>();
  const entry = entries.find((e) => e.name === form.name)!;

  const submit = async (e: Event) => {
    e.preventDefault();
    setErrors([]);
    setMessage(undefined);
    let data: unknown;
    try {
      data = JSON.parse(form.data);
    } catch (err) {
      setMessage(`The data is not JSON: ${(err as Error).message}`);
      return;
    }
    try {
      setSent(await api<SendResult>('POST', 'send', { name: form.name, subject: form.subject, data }));
    } catch (err) {
      setMessage((err as Error).message);
      if (err instanceof ApiError) setErrors(err.errors);
    }
  };
  const following = sent ? store.about(sent.subject) : [];
  const orderId = sent && following[0] ? orderIdOf(following[0].item.attributes, following[0].item.data) : undefined;
  return (
    <section class="send">
      <form onSubmit={submit}>
        <label for="send-type">Type</label>
        <select id="send-type" value={form.name} onChange={(e) => setForm(start(entries.find((x) => x.name === e.currentTarget.value)!))}>
          {(['command', 'fact'] as const).map((kind) => (
            <optgroup label={kind === 'command' ? 'commands' : 'facts (to test a consumer)'}>
              {entries
                .filter((x) => x.kind === kind)
                .map((x) => (
                  <option value={x.name}>{x.type}</option>
                ))}
            </optgroup>
          ))}
        </select>
        <p class="muted">{entry.summary}</p>
        {entry.kind === 'fact' && (
          <p class="notice">A fact normally comes from the function that decided it; sent by hand it is taken as true, and can break the saga's invariants.</p>
        )}
        <label for="send-subject">Subject</label>
        <input id="send-subject" value={form.subject} onInput={(e) => setForm({ ...form, subject: e.currentTarget.value })} />
        <label for="send-data">Data</label>
        <textarea id="send-data" rows={12} spellcheck={false} value={form.data} onInput={(e) => setForm({ ...form, data: e.currentTarget.value })} />
        <button type="submit">Send</button>
        {message && (
          <div class="error" role="alert">
            {message}
            {errors.length > 0 && (
              <ul>
                {errors.map((x) => (
                  <li>
                    <code>{x.path}</code> {x.message}
                  </li>
                ))}
              </ul>
            )}
          </div>
        )}
      </form>
      {sent && (
        <div class="following" aria-label="following">
          <h3>
            Sent {nameOfType(sent.type)} <code>{sent.id}</code>; following subject <code>{sent.subject}</code>
            {orderId && (
              <>
                {' · '}
                <a href={`#/orders/${orderId}`}>open the order</a>
              </>
            )}
          </h3>
          {following.length === 0 && <p class="muted">Waiting for it to come through the Broker…</p>}
          <ol>
            {following.map((row) => (
              <li>
                {clock(row.item.at)} {nameOfType(row.item.attributes.type)} <span class="muted">from {String(row.item.attributes.source)}</span> <DeliveryChips row={row} />
              </li>
            ))}
          </ol>
        </div>
      )}
    </section>
  );
}
