import { Type, type TSchema } from 'typebox';

export const Uuid = Type.String({ format: 'uuid', description: 'UUID' });
export const IsoTime = Type.String({ format: 'date-time', description: 'ISO 8601 UTC time' });
export const LoCode = Type.String({ pattern: '^[A-Z]{5}$', description: 'UN/LOCODE, e.g. DEDUI' });
export const Mode = Type.Union([Type.Literal('rail'), Type.Literal('barge')]);

export const ErrorBody = Type.Object(
  { error: Type.Object({ code: Type.String(), message: Type.String() }, { additionalProperties: true }) },
  { description: 'Every 4xx/5xx answer has this shape' },
);

export const IdParams = Type.Object({ id: Uuid }, { additionalProperties: false });

/** Standard error answers to document on a route. */
export function errors(...codes: number[]): Record<number, TSchema> {
  const out: Record<number, TSchema> = {};
  for (const c of codes) out[c] = ErrorBody;
  return out;
}
