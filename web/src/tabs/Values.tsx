import { useState } from 'react';
import { api, type Constant, type Credential } from '../api';
import { DeleteButton, Dialog, ErrorLine, Field, SortableTable, useAction, usePoll, type Column } from '../components';
import { showDate } from '../format';
import { Needs } from '../access';

function ConstantForm({ constant, onDone, onClose }: { constant?: Constant; onDone: () => void; onClose: () => void }) {
  const [name, setName] = useState(constant?.name ?? '');
  const [value, setValue] = useState(constant?.value ?? '');
  const { error, act } = useAction(onDone);
  return (
    <Dialog title={constant ? `Constant: ${constant.name}` : 'New constant'} onClose={onClose}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void act(() => (constant ? api('PUT', `/api/constants/${encodeURIComponent(constant.name)}`, { value }) : api('POST', '/api/constants', { name, value })));
        }}
      >
        <Field label="Name">
          <input name="name" value={name} onChange={(e) => setName(e.target.value)} readOnly={!!constant} maxLength={100} required />
        </Field>
        <Field label="Value">
          <textarea name="value" value={value} onChange={(e) => setValue(e.target.value)} maxLength={1000} rows={4} />
        </Field>
        <ErrorLine error={error} />
        <div className="buttons">
          <Needs table="Constants" privilege={constant ? 'UPDATE' : 'INSERT'}>
            <button type="submit" className="primary">
              {constant ? 'Save' : 'Create'}
            </button>
          </Needs>
          {constant && (
            <Needs table="Constants" privilege="DELETE">
            <DeleteButton what={constant.name} onDelete={() => void act(() => api('DELETE', `/api/constants/${encodeURIComponent(constant.name)}`))} />
            </Needs>
          )}
          <button type="button" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function CredentialForm({ credential, hasKey, onDone, onClose }: { credential?: Credential; hasKey: boolean; onDone: () => void; onClose: () => void }) {
  const [name, setName] = useState(credential?.name ?? '');
  const [username, setUsername] = useState(credential?.username ?? '');
  const [password, setPassword] = useState('');
  const { error, act } = useAction(onDone);
  return (
    <Dialog title={credential ? `Credential: ${credential.name}` : 'New credential'} onClose={onClose}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void act(() =>
            credential
              ? api('PUT', `/api/credentials/${encodeURIComponent(credential.name)}`, { username, password })
              : api('POST', '/api/credentials', { name, username, password }),
          );
        }}
      >
        {!hasKey && <p className="warning">No encryption key is set (Settings): passwords cannot be encrypted.</p>}
        <Field label="Name">
          <input name="name" value={name} onChange={(e) => setName(e.target.value)} readOnly={!!credential} maxLength={100} required />
        </Field>
        <Field label="Username">
          <input name="username" value={username} onChange={(e) => setUsername(e.target.value)} maxLength={250} autoComplete="off" />
        </Field>
        <Field label="Password" hint={credential ? 'The stored password is never shown; enter a new one to change it.' : 'Encrypted with the key before it is stored.'}>
          <input name="password" type="password" value={password} onChange={(e) => setPassword(e.target.value)} autoComplete="new-password" required />
        </Field>
        <ErrorLine error={error} />
        <div className="buttons">
          <Needs table="Credentials" privilege={credential ? 'UPDATE' : 'INSERT'}>
            <button type="submit" className="primary">
              {credential ? 'Save' : 'Create'}
            </button>
          </Needs>
          {credential && (
            <Needs table="Credentials" privilege="DELETE">
            <DeleteButton what={credential.name} onDelete={() => void act(() => api('DELETE', `/api/credentials/${encodeURIComponent(credential.name)}`))} />
            </Needs>
          )}
          <button type="button" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Dialog>
  );
}

export function ValuesTab({ tick, hasKey }: { tick: number; hasKey: boolean }) {
  const constants = usePoll(() => api<Constant[]>('GET', '/api/constants'), [], tick);
  const credentials = usePoll(() => api<Credential[]>('GET', '/api/credentials'), [], tick);
  const [constant, setConstant] = useState<Constant | 'new' | null>(null);
  const [credential, setCredential] = useState<Credential | 'new' | null>(null);
  const constantColumns: Column<Constant>[] = [
    { key: 'name', title: 'Name', render: (c) => c.name, sortValue: (c) => c.name.toLowerCase() },
    { key: 'value', title: 'Value', render: (c) => <span title={c.value}>{c.value}</span>, sortValue: (c) => c.value, grow: true },
    { key: 'changed', title: 'Changed', render: (c) => showDate(c.changedAt), sortValue: (c) => c.changedAt ?? '' },
  ];
  const credentialColumns: Column<Credential>[] = [
    { key: 'name', title: 'Name', render: (c) => c.name, sortValue: (c) => c.name.toLowerCase() },
    { key: 'username', title: 'Username', render: (c) => c.username, sortValue: (c) => c.username },
    {
      key: 'password',
      title: 'Password',
      render: (c) => (
        <span title={c.sizeText}>
          {c.sizeText} {c.readable === false && <span className="badge overdue">encrypted with another key</span>}
        </span>
      ),
      grow: true,
    },
    { key: 'changed', title: 'Changed', render: (c) => showDate(c.changedAt), sortValue: (c) => c.changedAt ?? '' },
  ];
  return (
    <section className="panel two">
      <div>
        <div className="toolbar">
          <h2>Constants</h2>
          <Needs table="Constants" privilege="INSERT">
            <button type="button" className="primary" onClick={() => setConstant('new')}>
              New constant
            </button>
          </Needs>
        </div>
        <ErrorLine error={constants.error} />
        <SortableTable rows={constants.data ?? []} columns={constantColumns} rowKey={(c) => c.name} onRowClick={setConstant} testId="constants-table" empty="No constants yet." />
      </div>
      <div>
        <div className="toolbar">
          <h2>Credentials</h2>
          <Needs table="Credentials" privilege="INSERT">
            <button type="button" className="primary" onClick={() => setCredential('new')}>
              New credential
            </button>
          </Needs>
        </div>
        <ErrorLine error={credentials.error} />
        <SortableTable rows={credentials.data ?? []} columns={credentialColumns} rowKey={(c) => c.name} onRowClick={setCredential} testId="credentials-table" empty="No credentials yet." />
      </div>
      {constant && (
        <ConstantForm
          constant={constant === 'new' ? undefined : constant}
          onClose={() => setConstant(null)}
          onDone={() => {
            setConstant(null);
            constants.reload();
          }}
        />
      )}
      {credential && (
        <CredentialForm
          credential={credential === 'new' ? undefined : credential}
          hasKey={hasKey}
          onClose={() => setCredential(null)}
          onDone={() => {
            setCredential(null);
            credentials.reload();
          }}
        />
      )}
    </section>
  );
}
