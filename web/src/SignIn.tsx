/**
 * Team mode's sign-in page: the person's own database user and password. The server proves
 * them by connecting; the password goes to the server once and is never kept by the page.
 */
import { useState } from 'react';
import { api } from './api';
import { ErrorLine } from './components';
import { Field } from './forms';

export interface WhoAmI {
  mode: 'team' | 'token';
  signedIn: boolean;
  login: string | null;
  roles: string[];
  summary: string | null;
  idleMinutes: number | null;
  endsAt: string | null;
}

export function SignIn({ notice, onSignedIn }: { notice: string | null; onSignedIn: (who: WhoAmI) => void }) {
  const [user, setUser] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async () => {
    setBusy(true);
    setError(null);
    try {
      const who = await api<WhoAmI>('POST', '/api/session/sign-in', { user, password });
      setPassword('');
      onSignedIn(who);
    } catch (e) {
      setError((e as Error).message);
      setPassword('');
    } finally {
      setBusy(false);
    }
  };
  return (
    <main className="sign-in">
      <section className="panel" aria-labelledby="sign-in-title">
        <h1 id="sign-in-title">OpenOrchestrator</h1>
        <p>Sign in with your own database login. What you may see and change is what the database grants that login.</p>
        {notice && (
          <p className="notice" role="status">
            {notice}
          </p>
        )}
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void submit();
          }}
        >
          <Field label="Database user">
            <input name="user" value={user} onChange={(e) => setUser(e.target.value)} autoComplete="username" autoCapitalize="none" spellCheck={false} required autoFocus maxLength={128} />
          </Field>
          <Field label="Password">
            <input name="password" type="password" value={password} onChange={(e) => setPassword(e.target.value)} autoComplete="current-password" required maxLength={1024} />
          </Field>
          <ErrorLine error={error} />
          <div className="buttons">
            <button type="submit" className="primary" disabled={busy || user.trim() === '' || password === ''}>
              {busy ? 'Signing in…' : 'Sign in'}
            </button>
          </div>
        </form>
      </section>
    </main>
  );
}
