/**
 * Constants and credentials. Credential passwords go in (encrypted here with the session's key)
 * but never come out: listings carry the token's size and the plain-size estimate only.
 */
import type { FastifyInstance } from 'fastify';
import { createConstant, deleteConstant, listConstants, updateConstant } from '../../db/store/constants.js';
import { createCredential, deleteCredential, listCredentialsWithKeyCheck, updateCredential } from '../../db/store/credentials.js';
import type { Session } from '../session.js';
import { errorReplies, nullableDateTime, text, toApiDate } from '../schemas.js';

const nameParams = { type: 'object', required: ['name'], properties: { name: text(100, 1) } } as const;
const constantItem = { type: 'object', properties: { name: { type: 'string' }, value: { type: 'string' }, changedAt: nullableDateTime } } as const;
const credentialItem = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    username: { type: 'string' },
    changedAt: nullableDateTime,
    encryptedLength: { type: 'integer' },
    decryptedLengthRange: { type: 'array', items: { type: 'integer' } },
    sizeText: { type: 'string', description: 'as the Python Orchestrator shows it' },
    readable: { type: ['boolean', 'null'], description: 'false: encrypted with another key; null: no key set' },
  },
} as const;
const deleted = { type: 'object', properties: { deleted: { type: 'string' } } } as const;

export function registerValueRoutes(app: FastifyInstance, session: Session): void {
  const tags = ['constants and credentials'];
  app.get('/api/constants', { schema: { tags, summary: 'all constants, by name', response: { 200: { type: 'array', items: constantItem }, ...errorReplies } } }, async () =>
    (await listConstants(session.requireStore())).map((c) => ({ ...c, changedAt: toApiDate(c.changedAt) })),
  );
  app.post<{ Body: { name: string; value: string } }>(
    '/api/constants',
    {
      schema: {
        tags,
        summary: 'create a constant (names are unique)',
        body: { type: 'object', additionalProperties: false, required: ['name', 'value'], properties: { name: text(100, 1), value: text(1000) } },
        response: { 201: constantItem, ...errorReplies },
      },
    },
    async (request, reply) => {
      await createConstant(session.requireStore(), request.body.name, request.body.value);
      return reply.code(201).send({ name: request.body.name, value: request.body.value, changedAt: null });
    },
  );
  app.put<{ Params: { name: string }; Body: { value: string } }>(
    '/api/constants/:name',
    {
      schema: {
        tags,
        summary: "change a constant's value",
        params: nameParams,
        body: { type: 'object', additionalProperties: false, required: ['value'], properties: { value: text(1000) } },
        response: { 200: constantItem, ...errorReplies },
      },
    },
    async (request) => {
      await updateConstant(session.requireStore(), request.params.name, request.body.value);
      return { name: request.params.name, value: request.body.value, changedAt: null };
    },
  );
  app.delete<{ Params: { name: string } }>(
    '/api/constants/:name',
    { schema: { tags, summary: 'delete a constant', params: nameParams, response: { 200: deleted, ...errorReplies } } },
    async (request) => {
      await deleteConstant(session.requireStore(), request.params.name);
      return { deleted: request.params.name };
    },
  );

  app.get(
    '/api/credentials',
    { schema: { tags, summary: 'all credentials, by name, without passwords', response: { 200: { type: 'array', items: credentialItem }, ...errorReplies } } },
    async () =>
      (await listCredentialsWithKeyCheck(session.requireStore(), session.optionalKey())).map((c) => ({
        name: c.name,
        username: c.username,
        changedAt: toApiDate(c.changedAt),
        encryptedLength: c.encryptedLength,
        decryptedLengthRange: c.decryptedLengthRange,
        sizeText: `${c.encryptedLength} encrypted bytes. ${c.decryptedLengthRange[0]}-${c.decryptedLengthRange[1]} decrypted bytes.`,
        readable: c.readable,
      })),
  );
  const credentialBody = (withName: boolean) =>
    ({
      type: 'object',
      additionalProperties: false,
      required: withName ? ['name', 'username', 'password'] : ['username', 'password'],
      properties: { ...(withName ? { name: text(100, 1) } : {}), username: text(250), password: text(600, 1) },
    }) as const;
  const summary = { type: 'object', properties: { name: { type: 'string' }, username: { type: 'string' } } } as const;
  app.post<{ Body: { name: string; username: string; password: string } }>(
    '/api/credentials',
    { schema: { tags, summary: 'create a credential; the password is encrypted with the key set in Settings', body: credentialBody(true), response: { 201: summary, ...errorReplies } } },
    async (request, reply) => {
      const store = session.requireStore();
      await createCredential(store, session.requireKey(), request.body.name, request.body.username, request.body.password);
      return reply.code(201).send({ name: request.body.name, username: request.body.username });
    },
  );
  app.put<{ Params: { name: string }; Body: { username: string; password: string } }>(
    '/api/credentials/:name',
    { schema: { tags, summary: "change a credential's username and password", params: nameParams, body: credentialBody(false), response: { 200: summary, ...errorReplies } } },
    async (request) => {
      const store = session.requireStore();
      await updateCredential(store, session.requireKey(), request.params.name, request.body.username, request.body.password);
      return { name: request.params.name, username: request.body.username };
    },
  );
  app.delete<{ Params: { name: string } }>(
    '/api/credentials/:name',
    { schema: { tags, summary: 'delete a credential', params: nameParams, response: { 200: deleted, ...errorReplies } } },
    async (request) => {
      await deleteCredential(session.requireStore(), request.params.name);
      return { deleted: request.params.name };
    },
  );
}
