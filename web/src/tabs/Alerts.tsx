import { useState } from 'react';
import { api, query, type Monitoring } from '../api';
import { ErrorLine, SortableTable, usePoll, type Column } from '../components';
import { CheckField, FormDialog, SelectField, TextArea, TextField } from '../forms';
import { Needs } from '../access';
import { label, showDate } from '../format';

interface Channel {
  id: string;
  name: string;
  kind: 'EMAIL' | 'WEBHOOK';
  settings: Record<string, unknown>;
  enabled: boolean;
  lastError: string | null;
  lastErrorAt: string | null;
  lastSentAt: string | null;
}
interface Rule {
  id: string;
  name: string;
  kind: string;
  target: string | null;
  threshold: number | null;
  channelIds: string[];
  enabled: boolean;
}
interface Incident {
  id: string;
  ruleId: string;
  state: string;
  subject: string;
  detail: string | null;
  openedAt: string;
  clearedAt: string | null;
}
interface Notification {
  id: string;
  incidentId: string;
  channelId: string;
  event: string;
  status: string;
  tries: number;
  sentAt: string | null;
  lastError: string | null;
  createdAt: string;
}

/** Each rule kind: what it watches, what its target names and what its threshold counts (if any). */
const RULE_KINDS: Record<string, { text: string; target: string; threshold?: string }> = {
  JOB_FAILED: { text: 'A job failed', target: 'process (empty: every process)' },
  TRIGGER_LATE: { text: 'A trigger is late', target: 'trigger name (empty: every trigger)', threshold: 'minutes late' },
  SCHEDULER_OFFLINE: { text: 'A Scheduler is offline', target: 'machine name (empty: every Scheduler)', threshold: 'minutes without a heartbeat' },
  QUEUE_BACKLOG: { text: 'A queue has a backlog', target: 'queue (empty: every queue)', threshold: 'New elements, more than' },
  QUEUE_OLDEST_NEW: { text: 'A queue has an old New element', target: 'queue (empty: every queue)', threshold: 'minutes since the oldest New was created' },
  STALE_IN_PROGRESS: { text: 'Stale In Progress elements', target: 'queue (empty: every queue)' },
};

function ChannelDialog({ channel, onDone, onClose }: { channel: Channel | null; onDone: () => void; onClose: () => void }) {
  const s = channel?.settings ?? {};
  const [name, setName] = useState(channel?.name ?? '');
  const [kind, setKind] = useState<'EMAIL' | 'WEBHOOK'>(channel?.kind ?? 'EMAIL');
  const [enabled, setEnabled] = useState(channel?.enabled ?? true);
  const [host, setHost] = useState(String(s.host ?? ''));
  const [port, setPort] = useState(String(s.port ?? 587));
  const [security, setSecurity] = useState(String(s.security ?? 'starttls'));
  const [verify, setVerify] = useState(s.verifyCertificate !== false);
  const [allowPlainLogin, setAllowPlainLogin] = useState(s.allowLoginWithoutTls === true);
  const [from, setFrom] = useState(String(s.from ?? ''));
  const [to, setTo] = useState(Array.isArray(s.to) ? (s.to as string[]).join(', ') : '');
  const [credential, setCredential] = useState(String(s.credential ?? ''));
  const [url, setUrl] = useState(String(s.url ?? ''));
  const [template, setTemplate] = useState(String(s.template ?? 'json'));
  const [body, setBody] = useState(String(s.body ?? ''));
  const settings =
    kind === 'EMAIL'
      ? {
          host,
          port: Number(port),
          security,
          allowLoginWithoutTls: security === 'none' && allowPlainLogin,
          verifyCertificate: verify,
          from,
          to: to.split(/[,;\s]+/).filter(Boolean),
          credential: credential.trim() || null,
        }
      : { url, template, body: template === 'custom' ? body : null, credential: credential.trim() || null };
  const payload = { name, kind, settings, enabled };
  return (
    <FormDialog
      title={channel ? `Channel ${channel.name}` : 'New channel'}
      wide
      onClose={onClose}
      onDone={onDone}
      onSubmit={() => (channel ? api('PUT', `/api/operations/channels/${channel.id}`, payload) : api('POST', '/api/operations/channels', payload))}
      onDelete={channel ? () => api('DELETE', `/api/operations/channels/${channel.id}`) : undefined}
      needs={{ table: 'oo_alert_channels', submit: channel ? 'UPDATE' : 'INSERT' }}
      deleteWhat={channel?.name}
    >
      <TextField name="name" label="Name" value={name} onChange={setName} required maxLength={100} />
      <SelectField
        name="kind"
        label="Kind"
        value={kind}
        onChange={setKind}
        options={[
          ['EMAIL', 'E-mail (SMTP)'],
          ['WEBHOOK', 'Webhook (JSON POST)'],
        ]}
      />
      {kind === 'EMAIL' ? (
        <>
          <TextField name="host" label="SMTP host" value={host} onChange={setHost} required />
          <TextField name="port" label="Port" type="number" min={1} max={65535} value={port} onChange={setPort} required />
          <SelectField
            name="security"
            label="Security"
            hint="TLS: from the start (465); STARTTLS: upgraded (587); none: plain"
            value={security}
            onChange={setSecurity}
            options={[
              ['tls', 'TLS'],
              ['starttls', 'STARTTLS'],
              ['none', 'None'],
            ]}
          />
          {security === 'none' && (
            <CheckField
              name="allowLoginWithoutTls"
              label="Allow login without TLS"
              hint="sends the login's password as plain text: only for a server on a network you trust"
              checked={allowPlainLogin}
              onChange={setAllowPlainLogin}
            />
          )}
          <CheckField name="verifyCertificate" label="Verify certificate" checked={verify} onChange={setVerify} />
          <TextField name="from" label="From" value={from} onChange={setFrom} required />
          <TextField name="to" label="To" hint="addresses, separated by commas" value={to} onChange={setTo} required />
          <TextField name="credential" label="Login credential" hint="the name of a Credential holding the SMTP user and password; empty: no login" value={credential} onChange={setCredential} maxLength={100} />
        </>
      ) : (
        <>
          <TextField name="url" label="URL" hint="no user:password in it: use a login credential" value={url} onChange={setUrl} required placeholder="https://..." />
          <TextField name="credential" label="Login credential" hint="the name of a Credential sent as HTTP Basic auth; empty: no login" value={credential} onChange={setCredential} maxLength={100} />
          <SelectField
            name="template"
            label="Body style"
            value={template}
            onChange={setTemplate}
            options={[
              ['json', 'Plain JSON'],
              ['teams', 'Microsoft Teams'],
              ['slack', 'Slack'],
              ['custom', 'Custom'],
            ]}
          />
          {template === 'custom' && <TextArea name="body" label="Body" hint="JSON with {{subject}}, {{detail}}, {{event}}, {{rule}}, {{at}}" value={body} onChange={setBody} rows={4} maxLength={2000} />}
        </>
      )}
      <CheckField name="enabled" label="Enabled" checked={enabled} onChange={setEnabled} />
    </FormDialog>
  );
}

function RuleDialog({ rule, channels, onDone, onClose }: { rule: Rule | null; channels: Channel[]; onDone: () => void; onClose: () => void }) {
  const [name, setName] = useState(rule?.name ?? '');
  const [kind, setKind] = useState(rule?.kind ?? 'JOB_FAILED');
  const [target, setTarget] = useState(rule?.target ?? '');
  const [threshold, setThreshold] = useState(rule?.threshold === null || rule?.threshold === undefined ? '' : String(rule.threshold));
  const [channelIds, setChannelIds] = useState<string[]>(rule?.channelIds ?? []);
  const [enabled, setEnabled] = useState(rule?.enabled ?? true);
  const info = RULE_KINDS[kind]!;
  const payload = { name, kind, target: target.trim() || null, threshold: info.threshold && threshold !== '' ? Number(threshold) : null, channelIds, enabled };
  return (
    <FormDialog
      title={rule ? `Rule ${rule.name}` : 'New rule'}
      wide
      onClose={onClose}
      onDone={onDone}
      onSubmit={() => (rule ? api('PUT', `/api/operations/rules/${rule.id}`, payload) : api('POST', '/api/operations/rules', payload))}
      onDelete={rule ? () => api('DELETE', `/api/operations/rules/${rule.id}`) : undefined}
      needs={{ table: 'oo_alert_rules', submit: rule ? 'UPDATE' : 'INSERT' }}
      deleteWhat={rule?.name}
    >
      <TextField name="name" label="Name" value={name} onChange={setName} required maxLength={100} />
      <SelectField name="kind" label="Kind" value={kind} onChange={setKind} options={Object.entries(RULE_KINDS).map(([k, v]) => [k, v.text] as const)} />
      <TextField name="target" label="Target" hint={info.target} value={target} onChange={setTarget} maxLength={100} />
      {info.threshold && <TextField name="threshold" label="Threshold" hint={info.threshold} type="number" min={0} value={threshold} onChange={setThreshold} required />}
      <fieldset className="field checks-field">
        <legend className="field-label">Channels</legend>
        <div className="checks">
          {channels.length === 0 && <span className="muted">No channels yet: add one first.</span>}
          {channels.map((c) => (
            <CheckField
              key={c.id}
              name={`channel-${c.name}`}
              label={c.name}
              checked={channelIds.includes(c.id)}
              onChange={(checked) => setChannelIds((ids) => (checked ? [...ids, c.id] : ids.filter((id) => id !== c.id)))}
            />
          ))}
        </div>
      </fieldset>
      <CheckField name="enabled" label="Enabled" checked={enabled} onChange={setEnabled} />
    </FormDialog>
  );
}

/** Who evaluates the rules: each monitor with its last heartbeat, and a warning when none runs. */
function MonitorsPanel({ monitoring }: { monitoring: Monitoring | undefined }) {
  if (!monitoring) return null;
  return (
    <div className="monitors" data-testid="monitors">
      {monitoring.warning && (
        <p className="warning" role="status" data-testid="monitor-warning">
          {monitoring.warning}
        </p>
      )}
      <p>
        <strong>Monitors:</strong>{' '}
        {monitoring.monitors.length === 0
          ? 'none has run on this database yet. `openorchestrator start` runs one beside its Scheduler; elsewhere run `openorchestrator monitor` (or `scheduler --monitor`).'
          : monitoring.monitors.map((m, i) => (
              <span key={m.name}>
                {i > 0 && ', '}
                <span className={`status ${m.alive ? 'status-idle' : 'status-failed'}`}>{m.alive ? 'alive' : 'silent'}</span> {m.name} (last beat {showDate(m.lastBeat)}, every {m.intervalSeconds} s)
              </span>
            ))}
      </p>
    </div>
  );
}

/** A coloured status word in the theme's status colours (the same look as job statuses). */
function Badge({ tone, text }: { tone: string; text: string }) {
  return <span className={`status status-${tone}`}>{text}</span>;
}

const NOTIFICATION_STATUS: Record<string, { tone: string; text: string }> = {
  PENDING: { tone: 'paused', text: 'Pending' },
  SENDING: { tone: 'running', text: 'Sending' },
  SENT: { tone: 'idle', text: 'Sent' },
  FAILED: { tone: 'failed', text: 'Given up' },
};

function channelTarget(c: Channel): string {
  if (c.kind === 'EMAIL') return `${String(c.settings.host)}:${String(c.settings.port)} → ${((c.settings.to as string[] | undefined) ?? []).join(', ')}`;
  return `${String(c.settings.url)} (${String(c.settings.template)})`;
}

export function AlertsTab({ tick }: { tick: number }) {
  const channels = usePoll(() => api<{ items: Channel[] }>('GET', '/api/operations/channels'), [], tick);
  const rules = usePoll(() => api<{ items: Rule[] }>('GET', '/api/operations/rules'), [], tick);
  const incidents = usePoll(() => api<{ items: Incident[] }>('GET', `/api/operations/incidents${query({ limit: 50 })}`), [], tick);
  const notifications = usePoll(() => api<{ items: Notification[] }>('GET', `/api/operations/notifications${query({ limit: 50 })}`), [], tick);
  const monitoring = usePoll(() => api<Monitoring>('GET', '/api/operations/monitors'), [], tick);
  const [editChannel, setEditChannel] = useState<Channel | 'new' | null>(null);
  const [editRule, setEditRule] = useState<Rule | 'new' | null>(null);
  const [testResult, setTestResult] = useState<{ id: string; text: string; ok: boolean } | null>(null);
  const channelList = channels.data?.items ?? [];
  const ruleList = rules.data?.items ?? [];
  const channelName = (id: string) => channelList.find((c) => c.id === id)?.name ?? id.slice(0, 8);
  const ruleName = (id: string) => ruleList.find((r) => r.id === id)?.name ?? id.slice(0, 8);
  const sendTest = (c: Channel) => {
    setTestResult({ id: c.id, text: 'sending…', ok: true });
    api('POST', `/api/operations/channels/${c.id}/test`)
      .then(() => setTestResult({ id: c.id, text: 'test message sent', ok: true }))
      .catch((e: Error) => setTestResult({ id: c.id, text: e.message, ok: false }))
      .finally(() => channels.reload());
  };
  const channelColumns: Column<Channel>[] = [
    { key: 'name', title: 'Channel', render: (c) => c.name, sortValue: (c) => c.name.toLowerCase() },
    { key: 'kind', title: 'Kind', render: (c) => (c.kind === 'EMAIL' ? 'E-mail' : 'Webhook') },
    { key: 'where', title: 'Sends to', render: (c) => <span className="ellipsis">{channelTarget(c)}</span> },
    { key: 'enabled', title: 'Enabled', render: (c) => (c.enabled ? 'yes' : 'no') },
    { key: 'sent', title: 'Last sent', render: (c) => showDate(c.lastSentAt) },
    {
      key: 'error',
      title: 'Last failure',
      grow: true,
      render: (c) =>
        c.lastError ? (
          <span className="error-text" title={c.lastError}>
            {c.lastError} <span className="muted">({showDate(c.lastErrorAt)})</span>
          </span>
        ) : (
          <span className="muted">none</span>
        ),
    },
    {
      key: 'test',
      title: 'Test',
      interactive: true,
      render: (c) => (
        <span>
          <button type="button" onClick={() => sendTest(c)}>
            Send test
          </button>{' '}
          {testResult?.id === c.id && <span className={testResult.ok ? 'muted' : 'error-text'} data-testid="test-result">{testResult.text}</span>}
        </span>
      ),
    },
  ];
  const ruleColumns: Column<Rule>[] = [
    { key: 'name', title: 'Rule', render: (r) => r.name, sortValue: (r) => r.name.toLowerCase() },
    { key: 'kind', title: 'When', render: (r) => RULE_KINDS[r.kind]?.text ?? r.kind },
    { key: 'target', title: 'Target', render: (r) => r.target ?? <span className="muted">all</span> },
    { key: 'threshold', title: 'Threshold', render: (r) => (r.threshold === null ? '' : `${r.threshold} ${RULE_KINDS[r.kind]?.threshold ?? ''}`) },
    { key: 'channels', title: 'Channels', render: (r) => r.channelIds.map(channelName).join(', ') },
    { key: 'enabled', title: 'Enabled', render: (r) => (r.enabled ? 'yes' : 'no') },
  ];
  const incidentColumns: Column<Incident>[] = [
    { key: 'state', title: 'State', render: (i) => <Badge tone={i.state === 'OPEN' ? 'failed' : 'done'} text={i.state === 'OPEN' ? 'Open' : 'Cleared'} />, sortValue: (i) => i.state },
    { key: 'subject', title: 'Incident', render: (i) => <span title={i.detail ?? undefined}>{i.subject}</span>, grow: true },
    { key: 'rule', title: 'Rule', render: (i) => ruleName(i.ruleId) },
    { key: 'opened', title: 'Opened', render: (i) => showDate(i.openedAt), sortValue: (i) => i.openedAt },
    { key: 'cleared', title: 'Cleared', render: (i) => showDate(i.clearedAt) },
  ];
  const notificationColumns: Column<Notification>[] = [
    { key: 'created', title: 'Queued', render: (n) => showDate(n.createdAt), sortValue: (n) => n.createdAt },
    { key: 'event', title: 'Event', render: (n) => label(n.event) },
    { key: 'channel', title: 'Channel', render: (n) => channelName(n.channelId) },
    { key: 'status', title: 'Status', render: (n) => <Badge {...NOTIFICATION_STATUS[n.status] ?? { tone: 'done', text: n.status }} />, sortValue: (n) => n.status },
    { key: 'tries', title: 'Tries', render: (n) => n.tries, sortValue: (n) => n.tries },
    { key: 'error', title: 'Last error', render: (n) => <span className="error-text">{n.lastError ?? ''}</span>, grow: true },
  ];
  return (
    <section className="panel alerts">
      <ErrorLine error={channels.error ?? rules.error ?? incidents.error ?? notifications.error ?? monitoring.error} />
      <MonitorsPanel monitoring={monitoring.data} />
      <div className="toolbar">
        <h2>Channels</h2>
        <Needs table="oo_alert_channels" privilege="INSERT">
          <button type="button" className="primary" onClick={() => setEditChannel('new')}>
            New channel
          </button>
        </Needs>
      </div>
      <SortableTable rows={channelList} columns={channelColumns} rowKey={(c) => c.id} onRowClick={setEditChannel} testId="channels-table" empty="No channels: add an e-mail or webhook channel for rules to notify." />
      <div className="toolbar">
        <h2>Rules</h2>
        <Needs table="oo_alert_rules" privilege="INSERT">
          <button type="button" className="primary" onClick={() => setEditRule('new')}>
            New rule
          </button>
        </Needs>
      </div>
      <SortableTable rows={ruleList} columns={ruleColumns} rowKey={(r) => r.id} onRowClick={setEditRule} testId="rules-table" empty="No rules: nothing is watched. A monitor evaluates the rules you add (see Monitors above)." />
      <h2>Incidents</h2>
      <SortableTable rows={incidents.data?.items ?? []} columns={incidentColumns} rowKey={(i) => i.id} testId="incidents-table" empty="No incidents yet." />
      <h2>Recent notifications</h2>
      <SortableTable rows={notifications.data?.items ?? []} columns={notificationColumns} rowKey={(n) => n.id} testId="notifications-table" empty="No notifications yet." />
      {editChannel && (
        <ChannelDialog
          channel={editChannel === 'new' ? null : editChannel}
          onClose={() => setEditChannel(null)}
          onDone={() => {
            setEditChannel(null);
            channels.reload();
            rules.reload();
          }}
        />
      )}
      {editRule && (
        <RuleDialog
          rule={editRule === 'new' ? null : editRule}
          channels={channelList}
          onClose={() => setEditRule(null)}
          onDone={() => {
            setEditRule(null);
            rules.reload();
            monitoring.reload();
          }}
        />
      )}
    </section>
  );
}
