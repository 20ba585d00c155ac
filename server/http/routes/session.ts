import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Context } from '../../context.ts';
import { meOf } from '../../services/auth.ts';
import { SESSION_COOKIE, principalOf } from '../plugins/auth.ts';
import { errors, IdParams, IsoTime } from '../../domain/schemas/common.ts';
import { ApiKeyBody, ApiKeyCreated, ApiKeyListItem, Me, PingBody, SessionState, SignInBody } from '../../domain/schemas/session.ts';

export const sessionRoutes: FastifyPluginAsyncTypebox<{ ctx: Context }> = async (app, { ctx }) => {
  const { auth } = ctx.services;

  app.post(
    '/api/session',
    {
      config: { auth: 'public', limit: 'sign-in' },
      schema: { tags: ['session'], summary: 'Sign in', body: SignInBody, response: { 200: Me, ...errors(400, 401, 429, 503) } },
    },
    async (req, reply) => {
      const { cookieValue, principal } = await auth.signIn(req.body.email, req.body.password, {
        ip: req.ip,
        userAgent: req.headers['user-agent'],
      });
      reply.setCookie(SESSION_COOKIE, cookieValue, {
        path: '/',
        httpOnly: true,
        sameSite: 'lax',
        secure: req.protocol === 'https',
        maxAge: Math.floor(ctx.cfg.sessionTtlMs / 1000),
      });
      return meOf(principal);
    },
  );

  app.delete(
    '/api/session',
    { schema: { tags: ['session'], summary: 'Sign out', response: { 204: Type.Null(), ...errors(401, 403) } } },
    async (req, reply) => {
      await auth.signOut(principalOf(req), req.ip);
      reply.clearCookie(SESSION_COOKIE, { path: '/' });
      return reply.status(204).send(null);
    },
  );

  // "who am I, if anyone" for a page checking its session on load: signed out is an answer (200), not an error,
  // whereas GET /api/me answers 401 then (API.md); an unknown API key is still refused (401, by the auth hook)
  app.get(
    '/api/session',
    {
      config: { auth: 'public' },
      schema: { tags: ['session'], summary: 'Whether the caller is signed in, and as whom', response: { 200: SessionState, ...errors(401) } },
    },
    async (req, reply): Promise<SessionState> => {
      void reply.header('cache-control', 'no-store'); // the answer depends on the cookie and carries its CSRF token
      return req.principal ? { signedIn: true, ...meOf(req.principal) } : { signedIn: false };
    },
  );

  app.get(
    '/api/me',
    { schema: { tags: ['session'], summary: 'Who am I', response: { 200: Me, ...errors(401) } } },
    async (req, reply) => {
      void reply.header('cache-control', 'no-store');
      return meOf(principalOf(req));
    },
  );

  // the ceiling of the stack (issue 16): an authenticated change that does no work — credentials, CSRF, rate limit
  // and error shape like every trading call; integrations use it to check a key
  app.post(
    '/api/noop',
    {
      // no body at all is an empty one; anything else must be `{}` (every input validated, as every change's)
      preValidation: async (req) => {
        if (req.body === undefined) req.body = {};
      },
      schema: {
        tags: ['session'], summary: 'An authenticated no-op', body: PingBody, querystring: PingBody,
        response: { 200: Type.Object({ ok: Type.Literal(true), at: IsoTime }), ...errors(400, 401, 403, 429) },
      },
    },
    async () => ({ ok: true as const, at: new Date().toISOString() }),
  );

  app.post(
    '/api/api-keys',
    {
      schema: {
        tags: ['api keys'],
        summary: 'Create an API key (organisation admin); the key is shown once',
        body: Type.Optional(ApiKeyBody),
        response: { 201: ApiKeyCreated, ...errors(400, 401, 403) },
      },
    },
    async (req, reply) => {
      const created = await auth.createApiKey(principalOf(req), req.body ?? {}, req.ip);
      return reply.status(201).send(created);
    },
  );

  app.get(
    '/api/api-keys',
    { schema: { tags: ['api keys'], summary: "List the organisation's API keys", response: { 200: Type.Array(ApiKeyListItem), ...errors(401, 403) } } },
    async (req) => auth.listApiKeys(principalOf(req)),
  );

  app.delete(
    '/api/api-keys/:id',
    { schema: { tags: ['api keys'], summary: 'Revoke an API key; it stops working at once', params: IdParams, response: { 204: Type.Null(), ...errors(400, 401, 403, 404) } } },
    async (req, reply) => {
      await auth.revokeApiKey(principalOf(req), req.params.id, req.ip);
      return reply.status(204).send(null);
    },
  );
};
