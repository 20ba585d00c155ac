import { Type, type Static, type TSchema } from 'typebox';

export const Uuid = Type.String({ format: 'uuid', description: 'UUID' });
export type Uuid = Static<typeof Uuid>;
export const IsoTime = Type.String({ format: 'date-time', description: 'ISO 8601 UTC time' });
export type IsoTime = Static<typeof IsoTime>;
export const LoCode = Type.String({ pattern: '^[A-Z]{5}$', description: 'UN/LOCODE, e.g. DEDUI' });
export type LoCode = Static<typeof LoCode>;
export const Mode = Type.Union([Type.Literal('rail'), Type.Literal('barge')]);
export type Mode = Static<typeof Mode>;

/**
 * A string answered with one of `values` (for response schemas): typed as their union and published as an
 * `enum`, but serialised as a plain string. fast-json-stringify ignores `enum`; a union of literals would be
 * checked with Ajv on every answer, and a value missing from it would turn the answer into a 500.
 */
export function StringEnum<const T extends readonly [string, ...string[]]>(values: T, options: { description?: string } = {}) {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...options });
}

export const ErrorBody = Type.Object(
  { error: Type.Object({ code: Type.String(), message: Type.String() }, { additionalProperties: true }) },
  { description: 'Every 4xx/5xx answer has this shape' },
);
export type ErrorBody = Static<typeof ErrorBody>;

export const IdParams = Type.Object({ id: Uuid }, { additionalProperties: false });
export type IdParams = Static<typeof IdParams>;

/** `GET /health`: 200 when both dependencies answer, 503 (status `degraded`) otherwise. */
export const Health = Type.Object({
  status: Type.String({ description: 'ok or degraded' }),
  postgres: Type.String({ description: 'ok or down' }),
  redis: Type.String({ description: 'ok or down' }),
});
export type Health = Static<typeof Health>;

/** Standard error answers to document on a route. */
export function errors(...codes: number[]): Record<number, TSchema> {
  const out: Record<number, TSchema> = {};
  for (const c of codes) out[c] = ErrorBody;
  return out;
}
