/** The sign-in page: one password field, the admin token; the server answers with an HttpOnly session cookie. */
import { useState } from 'preact/hooks';
import type { SessionInfo } from '../../../server/api-types.js';
import { signIn } from '../api.js';

export function SignIn({ onSignedIn }: { onSignedIn: (session: SessionInfo) => void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      onSignedIn(await signIn(token));
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
      setToken('');
    }
  };
  return (
    <form class="sign-in" onSubmit={submit} method="post">
      <h1>ordersaga console</h1>
      <p>Events carry customers' emails: sign in with the admin token that <code>npm start</code> printed.</p>
      <label for="admin-token">Admin token</label>
      <input id="admin-token" name="token" type="password" autocomplete="current-password" required value={token} onInput={(e) => setToken(e.currentTarget.value)} />
      <button type="submit" disabled={busy}>
        Sign in
      </button>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}
