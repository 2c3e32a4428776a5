/** The catalogue, rendered from events/asyncapi.yaml (AsyncAPI 3.0): one card per message. */
import { useMemo } from 'preact/hooks';
import asyncapi from '../../../../events/asyncapi.yaml';
import asyncapiUrl from '../../../../events/asyncapi.yaml?url';
import { catalogueOf } from '../catalogue.js';

export function CatalogueView() {
  const { info, entries } = useMemo(() => catalogueOf(asyncapi), []);
  return (
    <section class="catalogue">
      <h2>
        {info.title} <span class="muted">{info.version} · AsyncAPI 3.0</span>
      </h2>
      <p>
        {info.description} <a href={asyncapiUrl} download="asyncapi.yaml">asyncapi.yaml</a>
      </p>
      <p class="muted">Every message travels as a CloudEvent in HTTP binary mode: ce-id, ce-source, ce-type and ce-specversion headers, the data as a JSON body.</p>
      {entries.map((e) => (
        <article class={`message kind-${e.kind}`} id={`message-${e.name}`}>
          <h3>
            {e.type} <span class="tag">{e.kind}</span>
            {e.compensates && <span class="tag compensation">compensates {e.compensates}</span>}
          </h3>
          <p>{e.summary}</p>
          <p class="muted">
            sent by {e.sentBy.length > 0 ? e.sentBy.join(', ') : 'clients (kn event send, the Send page)'} · received by {e.receivedBy.length > 0 ? e.receivedBy.join(', ') : 'no function (a terminal fact)'}
          </p>
          <details>
            <summary>schema</summary>
            <pre class="data">{JSON.stringify(e.payload, null, 2)}</pre>
          </details>
          {e.example && (
            <details>
              <summary>example</summary>
              <pre class="data">{JSON.stringify(e.example, null, 2)}</pre>
            </details>
          )}
        </article>
      ))}
    </section>
  );
}
