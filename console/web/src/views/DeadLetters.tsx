/** Dead letters: Knative's error attributes decoded, a Replay button, and the replay's outcome as it happens. */
import { useEffect, useState } from 'preact/hooks';
import type { DeadLetter, DeliveryItem } from '../../../server/api-types.js';
import { api } from '../api.js';
import { orderIdOf } from '../filters.js';
import { clock, nameOfType, pretty } from '../format.js';
import { keyOf, type LiveStore } from '../live.js';

interface Replay {
  state: 'sending' | 'sent' | 'refused';
  message?: string;
  /** Attempts of the replayed event seen since the replay. */
  attempts: DeliveryItem[];
}

export function DeadLettersView({ store }: { store: LiveStore }) {
  const [letters, setLetters] = useState<DeadLetter[] | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [replays, setReplays] = useState<Record<number, Replay>>({});
  const load = () => api<DeadLetter[]>('GET', 'dead-letters').then(setLetters, (e: Error) => setError(e.message));
  useEffect(() => {
    void load();
  }, []);
  // Follow each replayed event's deliveries live.
  useEffect(
    () =>
      store.onItem((item) => {
        if (item.kind !== 'delivery' || !letters) return;
        const letter = letters.find((l) => keyOf(l.source, l.eventId) === keyOf(item.event.source, item.event.id));
        if (!letter) return;
        setReplays((r) => (r[letter.id] ? { ...r, [letter.id]: { ...r[letter.id]!, attempts: [...r[letter.id]!.attempts, item] } } : r));
      }),
    [store, letters],
  );
  const replay = async (letter: DeadLetter) => {
    setReplays((r) => ({ ...r, [letter.id]: { state: 'sending', attempts: [] } }));
    try {
      await api('POST', `dead-letters/${letter.id}/replay`, {});
      setReplays((r) => ({ ...r, [letter.id]: { ...r[letter.id]!, state: 'sent' } }));
      void load();
    } catch (err) {
      setReplays((r) => ({ ...r, [letter.id]: { state: 'refused', message: (err as Error).message, attempts: [] } }));
    }
  };
  if (error) return <p class="error">{error}</p>;
  if (!letters) return <p class="loading">Loading…</p>;
  return (
    <section class="dead-letters">
      <div class="toolbar">
        <button type="button" onClick={() => void load()}>
          Refresh
        </button>
        <span class="muted">{letters.length} dead letters (the newest 500)</span>
      </div>
      {letters.length === 0 && <p class="muted">No dead letters. An event lands here when a Trigger gives up on it.</p>}
      {letters.map((letter) => {
        const data = (letter.event as { data?: unknown }).data;
        const orderId = orderIdOf({ type: letter.type, subject: (letter.event as { subject?: string }).subject }, data === undefined ? null : JSON.stringify(data));
        const r = replays[letter.id];
        return (
          <article class="dead-letter" data-id={letter.id} data-event-id={letter.eventId}>
            <h3>
              #{letter.id} {nameOfType(letter.type)} <span class="muted">from {letter.source}</span>
              {orderId && (
                <>
                  {' · '}
                  <a href={`#/orders/${orderId}`}>order {orderId}</a>
                </>
              )}
            </h3>
            <table class="attributes">
              <tbody>
                <tr>
                  <th>knativeerrordest</th>
                  <td>{letter.errorDest ?? '—'}</td>
                </tr>
                <tr>
                  <th>knativeerrorcode</th>
                  <td>{letter.errorCode ?? '—'}</td>
                </tr>
                <tr>
                  <th>knativeerrordata</th>
                  <td>
                    <pre class="data">{letter.errorData === null ? '—' : pretty(letter.errorData)}</pre>
                  </td>
                </tr>
                <tr>
                  <th>received</th>
                  <td>
                    {clock(letter.receivedAt)}
                    {letter.replayedAt && ` · last replayed ${clock(letter.replayedAt)}`}
                  </td>
                </tr>
              </tbody>
            </table>
            <details>
              <summary>event {letter.eventId}</summary>
              <pre class="data">{JSON.stringify(letter.event, null, 2)}</pre>
            </details>
            <button type="button" disabled={r?.state === 'sending'} onClick={() => void replay(letter)}>
              Replay
            </button>
            {r && (
              <div class="replay" role="status">
                {r.state === 'sending' && 'Replaying…'}
                {r.state === 'refused' && <span class="error">Not replayed: {r.message}</span>}
                {r.state === 'sent' && r.attempts.length === 0 && 'Replayed: waiting for its delivery…'}
                {r.attempts.map((a) => (
                  <span class={`chip outcome-${a.outcome}`}>
                    {a.deadLetterSink ? 'dead-lettered again' : `${a.trigger}: attempt ${a.attempt}, ${a.status ?? 'no answer'} ${a.outcome}`}
                  </span>
                ))}
              </div>
            )}
          </article>
        );
      })}
    </section>
  );
}
