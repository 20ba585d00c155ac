import { Type, type Static } from 'typebox';
import { IsoTime, StringEnum, Uuid } from './common.ts';

/** An organisation's people and its audit log, for its admins (API.md additions; README "Team, keys and audit"). */

const RoleIn = Type.Union([Type.Literal('admin'), Type.Literal('member')]);

export const Member = Type.Object({
  userId: Uuid,
  email: Type.String(),
  name: Type.String(),
  role: StringEnum(['admin', 'member']),
  disabled: Type.Boolean(),
  memberSince: IsoTime,
  lastSignInAt: Type.Union([IsoTime, Type.Null()]),
});
export type Member = Static<typeof Member>;

export const AddMemberBody = Type.Object(
  {
    email: Type.String({ minLength: 3, maxLength: 254, description: 'normalised (NFKC, trimmed, lower case) before it is checked and stored' }),
    name: Type.String({ minLength: 1, maxLength: 100 }),
    role: Type.Optional(RoleIn),
  },
  { additionalProperties: false },
);
export type AddMemberBody = Static<typeof AddMemberBody>;

export const MemberAdded = Type.Object({
  ...Member.properties,
  temporaryPassword: Type.String({ description: 'shown once; the member signs in with it and sets a password of their own' }),
});
export type MemberAdded = Static<typeof MemberAdded>;

export const MemberPasswordReset = Type.Object({
  userId: Uuid,
  temporaryPassword: Type.String({ description: 'shown once; the member signs in with it and sets a password of their own' }),
});
export type MemberPasswordReset = Static<typeof MemberPasswordReset>;

export const UpdateMemberBody = Type.Object(
  { role: Type.Optional(RoleIn), disabled: Type.Optional(Type.Boolean()) },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdateMemberBody = Static<typeof UpdateMemberBody>;

export const MemberParams = Type.Object({ userId: Uuid }, { additionalProperties: false });
export type MemberParams = Static<typeof MemberParams>;

export const ChangePasswordBody = Type.Object(
  {
    currentPassword: Type.String({ minLength: 1, maxLength: 1024 }),
    newPassword: Type.String({ minLength: 12, maxLength: 1024, description: 'at least 12 characters' }),
  },
  { additionalProperties: false },
);
export type ChangePasswordBody = Static<typeof ChangePasswordBody>;

export const AuditQuery = Type.Object(
  {
    before: Type.Optional(Type.String({ pattern: '^[0-9]{1,16}\\.[0-9]{1,15}$', description: 'the `next` cursor of the previous page' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
    action: Type.Optional(Type.String({ pattern: '^[a-z_]+(\\.[a-z_]*)*$', maxLength: 60, description: 'one action (`session.sign_in`) or a prefix ending in a dot (`session.`)' })),
  },
  { additionalProperties: false },
);
export type AuditQuery = Static<typeof AuditQuery>;

export const AuditEntry = Type.Object({
  id: Type.Integer(),
  at: IsoTime,
  action: Type.String(),
  entityType: Type.String(),
  entityId: Type.Union([Type.String(), Type.Null()]),
  actor: Type.Object({
    kind: StringEnum(['user', 'apiKey', 'system']),
    userId: Type.Union([Uuid, Type.Null()]),
    apiKeyId: Type.Union([Uuid, Type.Null()]),
    name: Type.Union([Type.String(), Type.Null()]),
  }),
  ip: Type.Union([Type.String(), Type.Null()]),
  data: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
});
export type AuditEntry = Static<typeof AuditEntry>;

export const AuditPage = Type.Object({
  entries: Type.Array(AuditEntry),
  next: Type.Union([Type.String(), Type.Null()], { description: 'pass as `before` for the next (older) page; null at the end' }),
});
export type AuditPage = Static<typeof AuditPage>;
