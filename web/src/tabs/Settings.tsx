import { useEffect, useState } from 'react';
import { api, type Status } from '../api';
import { ErrorLine } from '../components';
import { Field } from '../forms';

/** `team`: the server serves one database to signed-in people; connecting elsewhere is not offered. */
export function SettingsTab({ status, onStatus, team = false }: { status: Status | null; onStatus: (s: Status) => void; team?: boolean }) {
  const [connectionString, setConnectionString] = useState('');
  const [cryptoKey, setCryptoKey] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [newKey, setNewKey] = useState<string | null>(null);
  const [steps, setSteps] = useState<string[] | null>(null);
  const [access, setAccess] = useState<{ checked: boolean; roles: string[]; summary: string; login: string | null } | null>(null);
  const connectedTo = status?.connected ? status.connectionString : null;
  useEffect(() => {
    setAccess(null);
    if (!connectedTo) return;
    api<{ checked: boolean; roles: string[]; summary: string; login: string | null }>('GET', '/api/settings/access').then(setAccess, () => setAccess(null));
  }, [connectedTo]);

  const run = async (work: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    try {
      await work();
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };
  const connect = () =>
    run(async () => {
      const s = await api<Status>('POST', '/api/settings/connect', { connectionString, ...(cryptoKey ? { cryptoKey } : {}) });
      onStatus(s);
      setConnectionString('');
      setCryptoKey('');
      setSteps(null);
    });
  const disconnect = () => run(async () => onStatus(await api<Status>('POST', '/api/settings/disconnect')));
  const upgrade = () =>
    run(async () => {
      const result = await api<{ steps: string[]; from: string; to: string; status: Status }>('POST', '/api/settings/upgrade');
      setSteps(result.steps.length ? [...result.steps, `done: ${result.from} -> ${result.to}`] : [`already up to date (${result.to})`]);
      onStatus(result.status);
    });
  const generate = () => run(async () => setNewKey((await api<{ key: string }>('POST', '/api/settings/generate-key')).key));

  const connected = status?.connected;
  return (
    <section className="panel settings">
      <h2>Connection</h2>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void connect();
        }}
      >
        <Field label="Connection string" hint="SQLAlchemy-style URL, e.g. postgresql+psycopg2://user:password@host:5432/orchestrator or sqlite+pysqlite:///orchestrator.db">
          <input
            name="connectionString"
            value={connected ? (status?.connectionString ?? '') : connectionString}
            readOnly={connected}
            onChange={(e) => setConnectionString(e.target.value)}
            placeholder="sqlite+pysqlite:///orchestrator.db"
            autoComplete="off"
            spellCheck={false}
          />
        </Field>
        <Field
          label="Encryption key"
          hint={
            connected
              ? status?.hasKey
                ? `A key is set (never shown).${team ? ' The server holds it: credential passwords can be set and replaced here, never read.' : ''}`
                : 'No key set: credentials cannot be created.'
              : 'The Fernet key that encrypts credential passwords.'
          }
        >
          <input name="cryptoKey" type="password" value={cryptoKey} disabled={connected} onChange={(e) => setCryptoKey(e.target.value)} autoComplete="off" placeholder={connected && status?.hasKey ? '••••••••' : ''} />
        </Field>
        <div className="buttons">
          {team ? null : !connected ? (
            <button type="submit" className="primary" disabled={busy || connectionString.trim() === ''}>
              Connect
            </button>
          ) : (
            <button type="button" onClick={() => void disconnect()} disabled={busy}>
              Disconnect
            </button>
          )}
          <button type="button" onClick={() => void generate()} disabled={busy}>
            Generate key
          </button>
          <button
            type="button"
            onClick={() => void upgrade()}
            disabled={busy || !connected || (access?.checked === true && !access.roles.includes('admin'))}
            title={access?.checked === true && !access.roles.includes('admin') ? 'Only an admin login may change the schema' : undefined}
          >
            Upgrade database
          </button>
        </div>
      </form>
      <ErrorLine error={error} />
      {newKey && (
        <div className="warning" data-testid="new-key">
          <strong>Write this key down and keep it safe.</strong> Every robot and Orchestrator using this database needs the same key; credentials
          stored with it cannot be read without it, and it is not saved anywhere.
          <pre>{newKey}</pre>
        </div>
      )}
      {connected && (
        <dl className="facts" data-testid="db-facts">
          <dt>Database</dt>
          <dd>{status?.dialect}</dd>
          <dt>Schema revision</dt>
          <dd>{status?.revision}</dd>
          <dt>State</dt>
          <dd>{status?.needsUpgrade ? 'needs an upgrade (once per new database): press "Upgrade database"' : 'up to date'}</dd>
          {access && (
            <>
              <dt>Login's role</dt>
              <dd data-testid="login-role" className={access.roles.includes('admin') ? undefined : 'warning'}>
                {access.login ? `${access.login}: ` : ''}
                {access.summary}
                {access.roles.includes('admin') ? '' : ' (not an admin login: some Orchestrator actions will be refused)'}
              </dd>
            </>
          )}
        </dl>
      )}
      {steps && (
        <div className="steps" data-testid="upgrade-steps">
          <h3>Upgrade</h3>
          <pre>{steps.join('\n')}</pre>
        </div>
      )}
    </section>
  );
}
