import { StrictMode, useEffect, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { api, TABS, type Navigate, type Status, type Tab } from './api';
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

  useEffect(() => {
    document.documentElement.dataset.theme = theme;
    localStorage.setItem(THEME_KEY, theme);
  }, [theme]);

  useEffect(() => {
    api<Status>('GET', '/api/settings')
      .then((s) => {
        setStatus(s);
        if (s.connected && !s.needsUpgrade) setTab((t) => (t === 'Settings' ? 'Dashboard' : t));
      })
      .catch(() => setStatus(null));
  }, []);

  const navigate: Navigate = (next, filter = {}) => {
    setLinkFilter(filter);
    setTab(next);
  };
  const ready = status?.connected && !status.needsUpgrade;

  return (
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
          <span className={`conn ${ready ? 'ok' : 'off'}`} title={status?.connectionString ?? 'not connected'}>
            {status?.connected ? `${status.dialect}${status.needsUpgrade ? ' (needs upgrade)' : ''}` : 'not connected'}
          </span>
          <button type="button" onClick={() => setTick((n) => n + 1)} title="Refresh now (also every 10 s)">
            ⟳ Refresh
          </button>
          <button type="button" aria-label="Toggle dark mode" onClick={() => setTheme((t) => (t === 'dark' ? 'light' : 'dark'))}>
            {theme === 'dark' ? '☀ Light' : '☾ Dark'}
          </button>
        </div>
      </header>
      <main>
        {tab === 'Settings' && <SettingsTab status={status} onStatus={setStatus} />}
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
      </main>
    </div>
  );
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
