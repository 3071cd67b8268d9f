import { useState } from 'react';
import { api, type Constant, type Credential } from '../api';
import { ErrorLine, SortableTable, usePoll, type Column } from '../components';
import { FormDialog, TextArea, TextField } from '../forms';
import { Needs } from '../access';
import { showDate } from '../format';

function ConstantForm({ constant, onDone, onClose }: { constant?: Constant; onDone: () => void; onClose: () => void }) {
  const [name, setName] = useState(constant?.name ?? '');
  const [value, setValue] = useState(constant?.value ?? '');
  const path = constant && `/api/constants/${encodeURIComponent(constant.name)}`;
  return (
    <FormDialog
      title={constant ? `Constant: ${constant.name}` : 'New constant'}
      grid={false}
      onClose={onClose}
      onDone={onDone}
      onSubmit={() => (path ? api('PUT', path, { value }) : api('POST', '/api/constants', { name, value }))}
      submitLabel={constant ? 'Save' : 'Create'}
      onDelete={path ? () => api('DELETE', path) : undefined}
      deleteWhat={constant?.name}
      needs={{ table: 'Constants', submit: constant ? 'UPDATE' : 'INSERT' }}
    >
      <TextField name="name" label="Name" value={name} onChange={setName} readOnly={!!constant} maxLength={100} required />
      <TextArea name="value" label="Value" value={value} onChange={setValue} maxLength={1000} rows={4} />
    </FormDialog>
  );
}

function CredentialForm({ credential, hasKey, onDone, onClose }: { credential?: Credential; hasKey: boolean; onDone: () => void; onClose: () => void }) {
  const [name, setName] = useState(credential?.name ?? '');
  const [username, setUsername] = useState(credential?.username ?? '');
  const [password, setPassword] = useState('');
  const path = credential && `/api/credentials/${encodeURIComponent(credential.name)}`;
  return (
    <FormDialog
      title={credential ? `Credential: ${credential.name}` : 'New credential'}
      grid={false}
      onClose={onClose}
      onDone={onDone}
      onSubmit={() => (path ? api('PUT', path, { username, password }) : api('POST', '/api/credentials', { name, username, password }))}
      submitLabel={credential ? 'Save' : 'Create'}
      onDelete={path ? () => api('DELETE', path) : undefined}
      deleteWhat={credential?.name}
      needs={{ table: 'Credentials', submit: credential ? 'UPDATE' : 'INSERT' }}
      before={!hasKey && <p className="warning">No encryption key is set (Settings): passwords cannot be encrypted.</p>}
    >
      <TextField name="name" label="Name" value={name} onChange={setName} readOnly={!!credential} maxLength={100} required />
      <TextField name="username" label="Username" value={username} onChange={setUsername} maxLength={250} autoComplete="off" />
      <TextField
        name="password"
        label="Password"
        type="password"
        hint={credential ? 'The stored password is never shown; enter a new one to change it.' : 'Encrypted with the key before it is stored.'}
        value={password}
        onChange={setPassword}
        autoComplete="new-password"
        required
      />
    </FormDialog>
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
