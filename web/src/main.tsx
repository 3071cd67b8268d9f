import { StrictMode, useEffect, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { Link, Route, Switch, useLocation } from 'wouter';
import { api, SIGNED_OUT_EVENT, TABS, type Status, type Tab } from './api';
import { AccessProvider, readOnly, type Access } from './access';
import { CopyLinkButton } from './components';
import { SignIn, type WhoAmI } from './SignIn';
import { TAB_PATHS } from './url';
import { AuditTab } from './tabs/Audit';
import { SettingsTab } from './tabs/Settings';
import { TriggersTab } from './tabs/Triggers';
import { LogsTab } from './tabs/Logs';
import { ValuesTab } from './tabs/Values';
import { QueuesTab } from './tabs/Queues';
import { SchedulersTab } from './tabs/Schedulers';
import { JobsTab } from './tabs/Jobs';
import { JobPage } from './tabs/Job';
import { DashboardTab } from './tabs/Dashboard';
import { AlertsTab } from './tabs/Alerts';
import './styles.css';

const THEME_KEY = 'oo-theme';

function initialTheme(): 'light' | 'dark' {
  const saved = localStorage.getItem(THEME_KEY);
  if (saved === 'light' || saved === 'dark') return saved;
  return window.matchMedia?.('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

/** The tab a path belongs to: its first segment. */
function tabOf(path: string): Tab | undefined {
  const first = `/${path.split('/')[1] ?? ''}`;
  return TABS.find((t) => TAB_PATHS[t] === first);
}

/** A path segment from the address (wouter gives it as written, percent-encoded). */
function segment(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

function App() {
  const [status, setStatus] = useState<Status | null>(null);
  const [loaded, setLoaded] = useState(false);
  const [theme, setTheme] = useState(initialTheme);
  const [tick, setTick] = useState(0);
  const [location, navigate] = useLocation();
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
      .then(setStatus)
      .catch(() => setStatus(null))
      .finally(() => setLoaded(true));
  }, [who === undefined, signedOut, who?.login]);

  const ready = Boolean(status?.connected && !status.needsUpgrade);
  useEffect(() => {
    setAccess(null);
    if (ready) api<Access>('GET', '/api/settings/access').then(setAccess, () => setAccess(null));
  }, [ready, who?.login, status?.connectionString]);
  const tab = tabOf(location);
  // The bare address opens the Dashboard once connected, else Settings (without a history entry).
  useEffect(() => {
    if (loaded && !tab) navigate(ready ? TAB_PATHS.Dashboard : TAB_PATHS.Settings, { replace: true });
  }, [loaded, tab, ready]);
  useEffect(() => {
    document.title = tab ? `${tab} · OpenOrchestrator` : 'OpenOrchestrator';
  }, [tab]);

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
        <nav role="tablist" aria-label="Tabs">
          {TABS.map((t) => (
            <Link key={t} href={TAB_PATHS[t]} role="tab" aria-selected={tab === t} className={tab === t ? 'active' : ''}>
              {t}
            </Link>
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
            <span aria-hidden="true">⟳ </span>Refresh
          </button>
          <CopyLinkButton />
          <button type="button" aria-pressed={theme === 'dark'} onClick={() => setTheme((t) => (t === 'dark' ? 'light' : 'dark'))}>
            <span aria-hidden="true">{theme === 'dark' ? '☾ ' : '☀ '}</span>Dark mode
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
        {loaded && tab !== 'Settings' && tab && !ready && (
          <p className="notice">
            {status?.connected ? 'The database needs an upgrade first: open Settings and press "Upgrade database".' : 'Not connected: open Settings and connect to a database.'}{' '}
            <Link href={TAB_PATHS.Settings}>Open Settings</Link>
          </p>
        )}
        <Switch>
          <Route path="/settings">
            <SettingsTab status={status} onStatus={setStatus} team={who?.mode === 'team'} />
          </Route>
          {ready && (
            <>
              <Route path="/dashboard">
                <DashboardTab tick={tick} />
              </Route>
              <Route path="/alerts">
                <AlertsTab tick={tick} />
              </Route>
              <Route path="/triggers/:id?">{(params: { id?: string }) => <TriggersTab tick={tick} openId={segment(params.id)} />}</Route>
              <Route path="/logs">
                <LogsTab tick={tick} />
              </Route>
              <Route path="/values">
                <ValuesTab tick={tick} hasKey={status!.hasKey} />
              </Route>
              <Route path="/queues/:queue?">{(params: { queue?: string }) => <QueuesTab tick={tick} queueName={segment(params.queue)} />}</Route>
              <Route path="/schedulers">
                <SchedulersTab tick={tick} />
              </Route>
              <Route path="/jobs/:id">{(params: { id: string }) => <JobPage key={params.id} id={segment(params.id)!} tick={tick} />}</Route>
              <Route path="/jobs">
                <JobsTab tick={tick} />
              </Route>
              <Route path="/audit">
                <AuditTab tick={tick} />
              </Route>
            </>
          )}
        </Switch>
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
