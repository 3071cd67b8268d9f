/** Team mode's sign-in, sign-out and "who am I"; in token mode they say that there is no sign-in here. */
import type { FastifyInstance } from 'fastify';
import { failureOf, HttpError } from '../http-error.js';
import type { SignInThrottle } from '../sign-in-throttle.js';
import type { Team } from '../team.js';
import { errorReplies, errorReply, text } from '../schemas.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** in team mode: answered without a signed-in person (the sign-in itself, and who is signed in) */
    withoutSignIn?: boolean;
  }
}

const whoAmI = {
  type: 'object',
  properties: {
    mode: { type: 'string', enum: ['team', 'token'], description: 'team: each person signs in with their own database login' },
    signedIn: { type: 'boolean' },
    login: { type: ['string', 'null'] },
    roles: { type: 'array', items: { type: 'string' }, description: 'the roles (admin, scheduler, robot, viewer) the login holds' },
    summary: { type: ['string', 'null'] },
    idleMinutes: { type: ['number', 'null'], description: 'a session ends after this long without a request' },
    endsAt: { type: ['string', 'null'], description: 'the latest a session can last: the absolute limit, ISO 8601 UTC' },
  },
} as const;

export function registerSignInRoutes(app: FastifyInstance, team: Team | undefined, throttle: SignInThrottle): void {
  const tags = ['sign-in'];
  const notTeam = () => new HttpError(409, 'this server runs with one database login (token mode): there is no sign-in here');

  app.get('/api/session', { config: { withoutSignIn: true }, schema: { tags, summary: 'who is signed in (team mode)', response: { 200: whoAmI } } }, async (request) => {
    if (!team) return { mode: 'token', signedIn: false, login: null, roles: [], summary: null, idleMinutes: null, endsAt: null };
    const found = team.find(request.headers);
    const idleMinutes = team.idleMs / 60_000;
    if (!('person' in found)) return { mode: 'team', signedIn: false, login: null, roles: [], summary: null, idleMinutes, endsAt: null };
    const { person } = found;
    return {
      mode: 'team',
      signedIn: true,
      login: person.login,
      roles: person.access.roles,
      summary: person.access.summary,
      idleMinutes,
      endsAt: new Date(person.signedInAt + team.absoluteMs).toISOString(),
    };
  });

  app.post<{ Body: { user: string; password: string } }>(
    '/api/session/sign-in',
    {
      config: { withoutSignIn: true },
      schema: {
        tags,
        summary: 'sign in with your own database login (team mode); answers a session cookie',
        body: { type: 'object', additionalProperties: false, required: ['user', 'password'], properties: { user: text(128, 1), password: text(1024, 1) } },
        response: { 200: whoAmI, 429: errorReply, ...errorReplies },
      },
    },
    async (request, reply) => {
      if (!team) throw notTeam();
      const { user, password } = request.body;
      const decision = throttle.attempt(user, request.ip);
      if (!decision.allowed) {
        const seconds = Math.max(1, Math.ceil(decision.retryAfterMs / 1000));
        return reply
          .code(429)
          .header('retry-after', String(seconds))
          .send({ error: `too many sign-in attempts for this user or from this address: wait ${seconds} s and try again` });
      }
      let signedIn: Awaited<ReturnType<Team['signIn']>>;
      try {
        signedIn = await team.signIn(user, password);
      } catch (error) {
        // Whatever failed, the answer is scrubbed of the password tried (no connection holds it yet).
        const { status, message } = failureOf(error, { translate: (e) => e as Error, secrets: () => [password] });
        throw new HttpError(status, message);
      }
      const { id, person } = signedIn;
      throttle.succeeded(user, request.ip);
      return reply.header('set-cookie', team.cookie(id)).send({
        mode: 'team',
        signedIn: true,
        login: person.login,
        roles: person.access.roles,
        summary: person.access.summary,
        idleMinutes: team.idleMs / 60_000,
        endsAt: new Date(person.signedInAt + team.absoluteMs).toISOString(),
      });
    },
  );

  app.post(
    '/api/session/sign-out',
    { config: { withoutSignIn: true }, schema: { tags, summary: 'sign out: the session ends and its connections close', response: { 200: whoAmI, ...errorReplies } } },
    async (request, reply) => {
      if (!team) throw notTeam();
      await team.signOut(request.headers);
      return reply
        .header('set-cookie', team.clearedCookie())
        .send({ mode: 'team', signedIn: false, login: null, roles: [], summary: null, idleMinutes: team.idleMs / 60_000, endsAt: null });
    },
  );
}
