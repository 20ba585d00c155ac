import { Type, type Static } from 'typebox';
import { Uuid } from './common.ts';

export const SignInBody = Type.Object(
  {
    email: Type.String({ minLength: 3, maxLength: 254 }),
    password: Type.String({ minLength: 1, maxLength: 1024 }),
  },
  { additionalProperties: false },
);
export type SignInBody = Static<typeof SignInBody>;

export const Me = Type.Object({
  user: Type.Union([Type.Object({ id: Uuid, email: Type.String(), name: Type.String() }), Type.Null()]),
  org: Type.Object({
    id: Uuid,
    name: Type.String(),
    kind: Type.Union([Type.Literal('operator'), Type.Literal('forwarder'), Type.Literal('scheduler'), Type.Literal('platform')]),
  }),
  role: Type.Union([Type.Literal('admin'), Type.Literal('member')]),
  csrfToken: Type.Optional(Type.String()),
});
export type Me = Static<typeof Me>;

/** `GET /api/session`: whether the caller is signed in and, if so, the same figures as `GET /api/me`. */
export const SessionState = Type.Union([
  Type.Object({ signedIn: Type.Literal(true), ...Me.properties }),
  Type.Object({ signedIn: Type.Literal(false) }),
]);
export type SessionState = Static<typeof SessionState>;

export const ApiKeyBody = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    role: Type.Optional(Type.Union([Type.Literal('admin'), Type.Literal('member')])),
  },
  { additionalProperties: false },
);
export type ApiKeyBody = Static<typeof ApiKeyBody>;
export const ApiKeyCreated = Type.Object({
  id: Uuid,
  key: Type.String({ description: 'shown once; send as Authorization: Bearer <key>' }),
  name: Type.String(),
  role: Type.String(),
  prefix: Type.String(),
  createdAt: Type.String(),
});
export type ApiKeyCreated = Static<typeof ApiKeyCreated>;
export const ApiKeyListItem = Type.Object({
  id: Uuid,
  name: Type.String(),
  prefix: Type.String(),
  role: Type.String(),
  createdAt: Type.String(),
  revokedAt: Type.Union([Type.String(), Type.Null()]),
  lastUsedAt: Type.Union([Type.String(), Type.Null()], { description: 'when a request last signed in with it, to the minute; null: never' }),
});
export type ApiKeyListItem = Static<typeof ApiKeyListItem>;

/** POST /api/noop: nothing — an empty object (or no body) and no query. */
export const PingBody = Type.Object({}, { additionalProperties: false });
