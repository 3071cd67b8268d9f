import { useState } from 'react';
import { api, query } from '../api';
import { DeleteButton, Dialog, ErrorLine, Field, SortableTable, useAction, usePoll, type Column } from '../components';
import { label, showDate } from '../format';
import { Needs } from '../access';

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
  const [from, setFrom] = useState(String(s.from ?? ''));
  const [to, setTo] = useState(Array.isArray(s.to) ? (s.to as string[]).join(', ') : '');
  const [credential, setCredential] = useState(String(s.credential ?? ''));
  const [url, setUrl] = useState(String(s.url ?? ''));
  const [template, setTemplate] = useState(String(s.template ?? 'json'));
  const [body, setBody] = useState(String(s.body ?? ''));
  const { error, act } = useAction(onDone);
  const settings =
    kind === 'EMAIL'
      ? { host, port: Number(port), security, verifyCertificate: verify, from, to: to.split(/[,;\s]+/).filter(Boolean), credential: credential.trim() || null }
      : { url, template, body: template === 'custom' ? body : null };
  return (
    <Dialog title={channel ? `Channel ${channel.name}` : 'New channel'} onClose={onClose} wide>
      <form
        className="grid-form"
        onSubmit={(e) => {
          e.preventDefault();
          void act(() => (channel ? api('PUT', `/api/operations/channels/${channel.id}`, { name, kind, settings, enabled }) : api('POST', '/api/operations/channels', { name, kind, settings, enabled })));
        }}
      >
        <Field label="Name">
          <input name="name" value={name} onChange={(e) => setName(e.target.value)} required maxLength={100} />
        </Field>
        <Field label="Kind">
          <select name="kind" value={kind} onChange={(e) => setKind(e.target.value as 'EMAIL' | 'WEBHOOK')}>
            <option value="EMAIL">E-mail (SMTP)</option>
            <option value="WEBHOOK">Webhook (JSON POST)</option>
          </select>
        </Field>
        {kind === 'EMAIL' ? (
          <>
            <Field label="SMTP host">
              <input name="host" value={host} onChange={(e) => setHost(e.target.value)} required />
            </Field>
            <Field label="Port">
              <input name="port" type="number" min={1} max={65535} value={port} onChange={(e) => setPort(e.target.value)} required />
            </Field>
            <Field label="Security" hint="TLS: from the start (465); STARTTLS: upgraded (587); none: plain">
              <select name="security" value={security} onChange={(e) => setSecurity(e.target.value)}>
                <option value="tls">TLS</option>
                <option value="starttls">STARTTLS</option>
                <option value="none">None</option>
              </select>
            </Field>
            <Field label="Verify certificate">
              <input name="verifyCertificate" type="checkbox" checked={verify} onChange={(e) => setVerify(e.target.checked)} />
            </Field>
            <Field label="From">
              <input name="from" value={from} onChange={(e) => setFrom(e.target.value)} required />
            </Field>
            <Field label="To" hint="addresses, separated by commas">
              <input name="to" value={to} onChange={(e) => setTo(e.target.value)} required />
            </Field>
            <Field label="Login credential" hint="the name of a Credential holding the SMTP user and password; empty: no login">
              <input name="credential" value={credential} onChange={(e) => setCredential(e.target.value)} maxLength={100} />
            </Field>
          </>
        ) : (
          <>
            <Field label="URL">
              <input name="url" value={url} onChange={(e) => setUrl(e.target.value)} required placeholder="https://..." />
            </Field>
            <Field label="Body style">
              <select name="template" value={template} onChange={(e) => setTemplate(e.target.value)}>
                <option value="json">Plain JSON</option>
                <option value="teams">Microsoft Teams</option>
                <option value="slack">Slack</option>
                <option value="custom">Custom</option>
              </select>
            </Field>
            {template === 'custom' && (
              <Field label="Body" hint="JSON with {{subject}}, {{detail}}, {{event}}, {{rule}}, {{at}}">
                <textarea name="body" value={body} onChange={(e) => setBody(e.target.value)} rows={4} maxLength={2000} />
              </Field>
            )}
          </>
        )}
        <Field label="Enabled">
          <input name="enabled" type="checkbox" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} />
        </Field>
        <ErrorLine error={error} />
        <div className="buttons">
          <Needs table="oo_alert_channels" privilege={channel ? 'UPDATE' : 'INSERT'}>
            <button type="submit" className="primary">
              Save
            </button>
          </Needs>
          <Needs table="oo_alert_channels" privilege="DELETE">
            {channel && <DeleteButton what={channel.name} onDelete={() => void act(() => api('DELETE', `/api/operations/channels/${channel.id}`))} />}
          </Needs>
          <button type="button" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function RuleDialog({ rule, channels, onDone, onClose }: { rule: Rule | null; channels: Channel[]; onDone: () => void; onClose: () => void }) {
  const [name, setName] = useState(rule?.name ?? '');
  const [kind, setKind] = useState(rule?.kind ?? 'JOB_FAILED');
  const [target, setTarget] = useState(rule?.target ?? '');
  const [threshold, setThreshold] = useState(rule?.threshold === null || rule?.threshold === undefined ? '' : String(rule.threshold));
  const [channelIds, setChannelIds] = useState<string[]>(rule?.channelIds ?? []);
  const [enabled, setEnabled] = useState(rule?.enabled ?? true);
  const { error, act } = useAction(onDone);
  const info = RULE_KINDS[kind]!;
  const payload = { name, kind, target: target.trim() || null, threshold: info.threshold && threshold !== '' ? Number(threshold) : null, channelIds, enabled };
  return (
    <Dialog title={rule ? `Rule ${rule.name}` : 'New rule'} onClose={onClose} wide>
      <form
        className="grid-form"
        onSubmit={(e) => {
          e.preventDefault();
          void act(() => (rule ? api('PUT', `/api/operations/rules/${rule.id}`, payload) : api('POST', '/api/operations/rules', payload)));
        }}
      >
        <Field label="Name">
          <input name="name" value={name} onChange={(e) => setName(e.target.value)} required maxLength={100} />
        </Field>
        <Field label="Kind">
          <select name="kind" value={kind} onChange={(e) => setKind(e.target.value)}>
            {Object.entries(RULE_KINDS).map(([k, v]) => (
              <option key={k} value={k}>
                {v.text}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Target" hint={info.target}>
          <input name="target" value={target} onChange={(e) => setTarget(e.target.value)} maxLength={100} />
        </Field>
        {info.threshold && (
          <Field label="Threshold" hint={info.threshold}>
            <input name="threshold" type="number" min={0} value={threshold} onChange={(e) => setThreshold(e.target.value)} required />
          </Field>
        )}
        <fieldset className="field checks-field">
          <legend className="field-label">Channels</legend>
          <div className="checks">
            {channels.length === 0 && <span className="muted">No channels yet: add one first.</span>}
            {channels.map((c) => (
              <label key={c.id}>
                <input
                  type="checkbox"
                  name={`channel-${c.name}`}
                  checked={channelIds.includes(c.id)}
                  onChange={(e) => setChannelIds((ids) => (e.target.checked ? [...ids, c.id] : ids.filter((id) => id !== c.id)))}
                />{' '}
                {c.name}
              </label>
            ))}
          </div>
        </fieldset>
        <Field label="Enabled">
          <input name="enabled" type="checkbox" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} />
        </Field>
        <ErrorLine error={error} />
        <div className="buttons">
          <Needs table="oo_alert_rules" privilege={rule ? 'UPDATE' : 'INSERT'}>
            <button type="submit" className="primary">
              Save
            </button>
          </Needs>
          <Needs table="oo_alert_rules" privilege="DELETE">
            {rule && <DeleteButton what={rule.name} onDelete={() => void act(() => api('DELETE', `/api/operations/rules/${rule.id}`))} />}
          </Needs>
          <button type="button" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Dialog>
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
      <ErrorLine error={channels.error ?? rules.error ?? incidents.error ?? notifications.error} />
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
      <SortableTable rows={ruleList} columns={ruleColumns} rowKey={(r) => r.id} onRowClick={setEditRule} testId="rules-table" empty="No rules: nothing is watched. Run `openorchestrator monitor` to evaluate the rules you add." />
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
          }}
        />
      )}
    </section>
  );
}
