import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Context } from '../../context.ts';
import { principalOf } from '../plugins/auth.ts';
import { errors } from '../../domain/schemas/common.ts';
import { AddMemberBody, AuditPage, AuditQuery, ChangePasswordBody, Member, MemberAdded, MemberParams, MemberPasswordReset, UpdateMemberBody } from '../../domain/schemas/team.ts';

/** An organisation's people and audit log (its admins), and a person's own password. Handlers stay thin. */
export const teamRoutes: FastifyPluginAsyncTypebox<{ ctx: Context }> = async (app, { ctx }) => {
  const { team } = ctx.services;
  const tags = ['team'];

  app.get(
    '/api/team/members',
    { schema: { tags, summary: "The organisation's members", response: { 200: Type.Array(Member), ...errors(401, 403) } } },
    async (req) => team.members(principalOf(req)),
  );

  app.post(
    '/api/team/members',
    { schema: { tags, summary: 'Add a member; the temporary password is shown once', body: AddMemberBody, response: { 201: MemberAdded, ...errors(400, 401, 403, 409) } } },
    async (req, reply) => reply.status(201).header('cache-control', 'no-store').send(await team.addMember(principalOf(req), req.body, req.ip)),
  );

  app.patch(
    '/api/team/members/:userId',
    {
      schema: {
        tags, summary: "Change a member's role or access", params: MemberParams, body: UpdateMemberBody,
        response: { 200: Member, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (req) => team.updateMember(principalOf(req), req.params.userId, req.body, req.ip),
  );

  app.post(
    '/api/team/members/:userId/reset-password',
    {
      schema: {
        tags, summary: "Give a member a new temporary password (shown once); their sessions end", params: MemberParams,
        response: { 200: MemberPasswordReset, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (req, reply) => {
      void reply.header('cache-control', 'no-store');
      return team.resetPassword(principalOf(req), req.params.userId, req.ip);
    },
  );

  app.get(
    '/api/team/audit',
    { schema: { tags, summary: "The organisation's audit log, newest first", querystring: AuditQuery, response: { 200: AuditPage, ...errors(400, 401, 403) } } },
    async (req, reply) => {
      void reply.header('cache-control', 'no-store');
      return team.auditLog(principalOf(req), req.query);
    },
  );

  app.post(
    '/api/me/password',
    { config: { limit: 'password' }, schema: { tags, summary: 'Change your own password', body: ChangePasswordBody, response: { 204: Type.Null(), ...errors(400, 401, 403, 429, 503) } } },
    async (req, reply) => {
      await team.changePassword(principalOf(req), req.body, req.ip);
      return reply.status(204).send(null);
    },
  );
};
