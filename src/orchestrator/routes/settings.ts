/** Settings: connect / disconnect, generate a key, upgrade the database. */
import type { FastifyInstance } from 'fastify';
import { probeAccess } from '../../access/probe.js';
import { generateKey } from '../../crypto/fernet.js';
import { recordAudit } from '../../db/store/audit.js';
import type { Session } from '../session.js';
import { errorReplies, text } from '../schemas.js';

const status = {
  type: 'object',
  properties: {
    connected: { type: 'boolean' },
    connectionString: { type: ['string', 'null'], description: 'with its password masked' },
    dialect: { type: ['string', 'null'] },
    revision: { type: ['string', 'null'] },
    needsUpgrade: { type: 'boolean' },
    hasKey: { type: 'boolean', description: 'the key itself is never sent' },
  },
} as const;

export function registerSettingsRoutes(app: FastifyInstance, session: Session): void {
  const tags = ['settings'];
  app.get('/api/settings', { schema: { tags, summary: 'connection status', response: { 200: status } } }, async () => session.status());

  app.get(
    '/api/settings/access',
    {
      schema: {
        tags,
        summary: 'which role (admin, scheduler, robot) the connected login appears to have, from its privileges',
        response: {
          200: {
            type: 'object',
            properties: {
              checked: { type: 'boolean' },
              login: { type: ['string', 'null'] },
              roles: { type: 'array', items: { type: 'string' } },
              summary: { type: 'string' },
              missing: { type: 'object', additionalProperties: { type: 'array', items: { type: 'string' } } },
              privileges: { type: 'object', additionalProperties: { type: 'array', items: { type: 'string' } }, description: 'per table: SELECT, INSERT, UPDATE, DELETE as held' },
            },
          },
          ...errorReplies,
        },
      },
    },
    async () => {
      const store = session.requireConnection();
      try {
        return await probeAccess(store);
      } catch (error) {
        throw session.translate(error);
      }
    },
  );

  app.post<{ Body: { connectionString: string; cryptoKey?: string } }>(
    '/api/settings/connect',
    {
      schema: {
        tags,
        summary: 'connect to a database (and set the encryption key)',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['connectionString'],
          properties: { connectionString: text(2000, 1), cryptoKey: text(200) },
        },
        response: { 200: status, ...errorReplies },
      },
    },
    async (request) => session.connect(request.body.connectionString, request.body.cryptoKey || undefined),
  );

  app.post('/api/settings/disconnect', { schema: { tags, summary: 'disconnect', response: { 200: status } } }, async () => {
    await session.disconnect();
    return session.status();
  });

  app.post(
    '/api/settings/generate-key',
    {
      schema: {
        tags,
        summary: 'a new random encryption key (not stored anywhere: write it down)',
        response: { 200: { type: 'object', properties: { key: { type: 'string' } } } },
      },
    },
    async () => ({ key: generateKey() }),
  );

  app.post(
    '/api/settings/upgrade',
    {
      schema: {
        tags,
        summary: 'create or upgrade the schema of the connected database',
        response: {
          200: {
            type: 'object',
            properties: { from: { type: 'string' }, to: { type: 'string' }, steps: { type: 'array', items: { type: 'string' } }, status },
          },
          ...errorReplies,
        },
      },
    },
    async (request) => {
      const lines: string[] = [];
      const result = await session.upgrade((line) => lines.push(line));
      if (result.steps.length > 0) {
        // DDL cannot share a transaction with a row on every dialect: the upgrade is recorded after it.
        try {
          await recordAudit(session.requireConnection(), {
            login: session.login() ?? '(unknown)',
            action: 'schema.upgrade',
            target: null,
            clientAddress: request.ip ?? null,
            before: JSON.stringify({ revision: result.from }),
            after: JSON.stringify({ revision: result.to, steps: result.steps }),
          });
        } catch (error) {
          lines.push(`not recorded in the audit trail: ${session.translate(error).message.split('\n')[0]}`);
        }
      }
      return { from: result.from, to: result.to, steps: lines, status: session.status() };
    },
  );
}
