import { StrictMode, useEffect, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { api, SIGNED_OUT_EVENT, TABS, type Navigate, type Status, type Tab } from './api';
import { AccessProvider, readOnly, type Access } from './access';
import { SignIn, type WhoAmI } from './SignIn';
import { AuditTab } from './tabs/Audit';
import { SettingsTab } from './tabs/Settings';
import { TriggersTab } from './tabs/Triggers';
import { LogsTab } from './tabs/Logs';
import { ValuesTab } from './tabs/Values';
import { QueuesTab } from './tabs/Queues';
import { SchedulersTab } from './tabs/Schedulers';
import { JobsTab } from './tabs/Jobs';
import { DashboardTab } from './tabs/Dashboard';
import { AlertsTab } from './tabs/Alerts';
import './styles.css';

const THEME_KEY = 'oo-theme';

function initialTheme(): 'light' | 'dark' {
  const saved = localStorage.getItem(THEME_KEY);
  if (saved === 'light' || saved === 'dark') return saved;
  return window.matchMedia?.('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}


function App() {
  const [tab, setTab] = useState<Tab>('Settings');
  const [status, setStatus] = useState<Status | null>(null);
  const [theme, setTheme] = useState(initialTheme);
  const [tick, setTick] = useState(0);
  const [linkFilter, setLinkFilter] = useState<{ jobId?: string; processName?: string }>({});
  // undefined: not asked yet; null: the server does not say (an older server, or unreachable).
  const [who, setWho] = useState<WhoAmI | null | undefined>(undefined);
  const [signInNotice, setSignInNotice] = useState<string | null>(null);
  const [access, setAccess] = useState<Access | null>(null);

  useEffect(() => {
    document.documentElement.dataset.theme = theme;
    localStorage.setItem(THEME_KEY, theme);
  }, [theme]);

  // Team mode: who is signed in decides whether the app or the sign-in page shows.
  useEffect(() => {
    api<WhoAmI>('GET', '/api/session').then(setWho, () => setWho(null));
    const signedOut = (e: Event) => {
      setSignInNotice((e as CustomEvent<string>).detail);
      setWho((w) => (w?.mode === 'team' ? { ...w, signedIn: false } : w));
    };
    window.addEventListener(SIGNED_OUT_EVENT, signedOut);
    return () => window.removeEventListener(SIGNED_OUT_EVENT, signedOut);
  }, []);
  const signedOut = who?.mode === 'team' && !who.signedIn;

  useEffect(() => {
    if (who === undefined || signedOut) return;
    api<Status>('GET', '/api/settings')
      .then((s) => {
        setStatus(s);
        if (s.connected && !s.needsUpgrade) setTab((t) => (t === 'Settings' ? 'Dashboard' : t));
      })
      .catch(() => setStatus(null));
  }, [who === undefined, signedOut, who?.login]);

  const navigate: Navigate = (next, filter = {}) => {
    setLinkFilter(filter);
    setTab(next);
  };
  const ready = status?.connected && !status.needsUpgrade;
  useEffect(() => {
    setAccess(null);
    if (ready) api<Access>('GET', '/api/settings/access').then(setAccess, () => setAccess(null));
  }, [ready, who?.login, status?.connectionString]);

  if (signedOut) {
    const signedIn = (w: WhoAmI) => {
      setSignInNotice(null);
      setWho(w);
    };
    return <SignIn notice={signInNotice} onSignedIn={signedIn} />;
  }
  const signOut = () =>
    void api<WhoAmI>('POST', '/api/session/sign-out').then((w) => {
      setStatus(null);
      setWho(w);
    });

  return (
    <AccessProvider value={access}>
    <div className="app">
      <header>
        <h1>OpenOrchestrator</h1>
        <nav role="tablist">
          {TABS.map((t) => (
            <button key={t} role="tab" aria-selected={tab === t} className={tab === t ? 'active' : ''} onClick={() => navigate(t)}>
              {t}
            </button>
          ))}
        </nav>
        <div className="header-tools">
          {who?.mode === 'team' && (
            <span className="who" data-testid="signed-in-as">
              {who.login}
              {who.roles.length > 0 && <span className="muted"> ({who.roles.join(' + ')})</span>}
            </span>
          )}
          <span className={`conn ${ready ? 'ok' : 'off'}`} title={status?.connectionString ?? 'not connected'}>
            {status?.connected ? `${status.dialect}${status.needsUpgrade ? ' (needs upgrade)' : ''}` : 'not connected'}
          </span>
          <button type="button" onClick={() => setTick((n) => n + 1)} title="Refresh now (also every 10 s)">
            ⟳ Refresh
          </button>
          <button type="button" aria-label="Toggle dark mode" onClick={() => setTheme((t) => (t === 'dark' ? 'light' : 'dark'))}>
            {theme === 'dark' ? '☀ Light' : '☾ Dark'}
          </button>
          {who?.mode === 'team' && (
            <button type="button" onClick={signOut}>
              Sign out
            </button>
          )}
        </div>
      </header>
      <main>
        {ready && readOnly(access) && (
          <p className="notice read-only" role="note" data-testid="read-only">
            Read-only: your login {access?.login ? `(${access.login}) ` : ''}may view everything here but change nothing. Changes are shown as unavailable.
          </p>
        )}
        {tab === 'Settings' && <SettingsTab status={status} onStatus={setStatus} team={who?.mode === 'team'} />}
        {tab !== 'Settings' && !ready && (
          <p className="notice">
            {status?.connected ? 'The database needs an upgrade first: open Settings and press "Upgrade database".' : 'Not connected: open Settings and connect to a database.'}
          </p>
        )}
        {ready && tab === 'Dashboard' && <DashboardTab tick={tick} navigate={navigate} />}
        {ready && tab === 'Alerts' && <AlertsTab tick={tick} />}
        {ready && tab === 'Triggers' && <TriggersTab tick={tick} navigate={navigate} />}
        {ready && tab === 'Logs' && <LogsTab tick={tick} navigate={navigate} initial={linkFilter} />}
        {ready && tab === 'Constants & Credentials' && <ValuesTab tick={tick} hasKey={status.hasKey} />}
        {ready && tab === 'Queues' && <QueuesTab tick={tick} />}
        {ready && tab === 'Schedulers' && <SchedulersTab tick={tick} />}
        {ready && tab === 'Jobs' && <JobsTab tick={tick} navigate={navigate} initial={linkFilter} />}
        {ready && tab === 'Audit' && <AuditTab tick={tick} />}
      </main>
    </div>
    </AccessProvider>
  );
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
