/**
 * The console's page: sign-in, then the live feed, orders, dead letters,
 * the send form and the catalogue, routed by the URL's hash (so a view can
 * be linked and reloaded; no token ever goes in it).
 */
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { SessionInfo } from '../../server/api-types.js';
import { currentSession, signOut, whenSignedOut } from './api.js';
import { connect, LiveStore } from './live.js';
import { CatalogueView } from './views/Catalogue.js';
import { SagaView } from './views/Saga.js';
import { DeadLettersView } from './views/DeadLetters.js';
import { LiveView } from './views/Live.js';
import { OrdersView, OrderView } from './views/Order.js';
import { SendView } from './views/Send.js';
import { SignIn } from './views/SignIn.js';
import './styles.css';

/** The view a hash names: `#/orders/<id>` and so on. */
export function routeOf(hash: string): { view: string; id?: string } {
  const [, view = 'live', id] = hash.replace(/^#/, '').split('/');
  return id ? { view, id: decodeURIComponent(id) } : { view };
}

function useHash(): string {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const update = () => setHash(location.hash);
    addEventListener('hashchange', update);
    return () => removeEventListener('hashchange', update);
  }, []);
  return hash;
}

const NAV: [string, string][] = [
  ['live', 'Live'],
  ['orders', 'Orders'],
  ['dead-letters', 'Dead letters'],
  ['send', 'Send'],
  ['saga', 'Saga'],
  ['catalogue', 'Catalogue'],
];

function Console({ session, onSignedOut }: { session: SessionInfo; onSignedOut: () => void }) {
  const [store] = useState(() => new LiveStore());
  const [, setVersion] = useState(0);
  const route = routeOf(useHash());
  useEffect(() => connect(store), [store]);
  useEffect(() => store.subscribe(() => setVersion(store.version)), [store]);
  const out = async () => {
    await signOut().catch(() => undefined);
    onSignedOut();
  };
  return (
    <div class="console">
      <header>
        <h1>ordersaga console</h1>
        <nav>
          {NAV.map(([view, label]) => (
            <a href={`#/${view}`} class={route.view === view || (view === 'orders' && route.view === 'order') ? 'current' : ''}>
              {label}
            </a>
          ))}
        </nav>
        <span class={`connection ${store.connected ? 'up' : 'down'}`} title="the live stream">
          {store.connected ? 'live' : 'reconnecting…'}
        </span>
        <button type="button" onClick={out}>
          Sign out
        </button>
      </header>
      {session.mode === 'cluster' && (
        <p class="notice">
          In a cluster the console sees each event as its catch-all Trigger delivers it; delivery outcomes (attempts, status, latency) are the Broker's
          and are not visible here.
        </p>
      )}
      <main>
        {route.view === 'live' && <LiveView store={store} session={session} />}
        {route.view === 'orders' && (route.id ? <OrderView id={route.id} store={store} /> : <OrdersView store={store} />)}
        {route.view === 'order' && route.id && <OrderView id={route.id} store={store} />}
        {route.view === 'dead-letters' && <DeadLettersView store={store} />}
        {route.view === 'send' && <SendView store={store} />}
        {route.view === 'catalogue' && <CatalogueView />}
        {route.view === 'saga' && <SagaView />}
      </main>
      <footer>
        The server keeps the newest {session.feed.maxItems.toLocaleString()} items (at most {Math.round(session.feed.maxBytes / 1048576)} MiB, data cut at{' '}
        {Math.round(session.feed.maxDataBytes / 1024)} KiB each); this page keeps {store.limits.maxRows.toLocaleString()} events.
      </footer>
    </div>
  );
}

function App() {
  const [session, setSession] = useState<SessionInfo | null | undefined>(undefined);
  useEffect(() => {
    whenSignedOut(() => setSession(null));
    currentSession().then(
      (s) => setSession(s ?? null),
      () => setSession(null),
    );
  }, []);
  if (session === undefined) return <p class="loading">Loading…</p>;
  if (session === null) return <SignIn onSignedIn={setSession} />;
  return <Console session={session} onSignedOut={() => setSession(null)} />;
}

render(<App />, document.getElementById('app')!);
