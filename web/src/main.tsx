import { StrictMode, useEffect, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { Link, Route, Switch, useLocation } from 'wouter';
import { api, TABS, type Status, type Tab } from './api';
import { CopyLinkButton } from './components';
import { TAB_PATHS } from './url';
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

  useEffect(() => {
    document.documentElement.dataset.theme = theme;
    localStorage.setItem(THEME_KEY, theme);
  }, [theme]);

  useEffect(() => {
    api<Status>('GET', '/api/settings')
      .then(setStatus)
      .catch(() => setStatus(null))
      .finally(() => setLoaded(true));
  }, []);

  const ready = Boolean(status?.connected && !status.needsUpgrade);
  const tab = tabOf(location);
  // The bare address opens the Dashboard once connected, else Settings (without a history entry).
  useEffect(() => {
    if (loaded && !tab) navigate(ready ? TAB_PATHS.Dashboard : TAB_PATHS.Settings, { replace: true });
  }, [loaded, tab, ready]);
  useEffect(() => {
    document.title = tab ? `${tab} · OpenOrchestrator` : 'OpenOrchestrator';
  }, [tab]);

  return (
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
        </div>
      </header>
      <main>
        {loaded && tab !== 'Settings' && tab && !ready && (
          <p className="notice">
            {status?.connected ? 'The database needs an upgrade first: open Settings and press "Upgrade database".' : 'Not connected: open Settings and connect to a database.'}{' '}
            <Link href={TAB_PATHS.Settings}>Open Settings</Link>
          </p>
        )}
        <Switch>
          <Route path="/settings">
            <SettingsTab status={status} onStatus={setStatus} />
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
            </>
          )}
        </Switch>
      </main>
    </div>
  );
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
