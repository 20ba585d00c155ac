import { Type, type Static } from 'typebox';
import { IsoTime, Uuid } from './common.ts';

// Water levels and low-water derating (API.md "Watches, offers, water levels, bid groups"; issue 14 item 3). What the
// schema cannot say (a known gauge, a measurement not in the future and not over 30 days old) the service checks: 400.

export const NewWaterLevel = Type.Object(
  {
    gauge: Type.String({ pattern: '^[A-Z][A-Z0-9_]{1,39}$', description: 'gauge code, e.g. KAUB' }),
    levelCm: Type.Integer({ minimum: 0, maximum: 2000, description: 'water level at the gauge, whole cm' }),
    measuredAt: { ...IsoTime, description: 'when it was measured (not in the future)' },
  },
  { additionalProperties: false },
);
export type NewWaterLevel = Static<typeof NewWaterLevel>;

const DeratedDeparture = Type.Object({
  departureId: Uuid,
  capacityBeforeTeu: Type.Integer(),
  capacityAfterTeu: Type.Integer(),
  movedBookings: Type.Array(Uuid, { description: 'bookings moved off it (cancelled without fee, refunded, offered rail alternatives)' }),
  cancelled: Type.Boolean({ description: 'it cannot sail at this level: cancelled with all its bookings' }),
});

export const WaterLevelRecorded = Type.Object({
  id: Uuid,
  gauge: Type.String(),
  levelCm: Type.Integer(),
  measuredAt: IsoTime,
  applied: Type.Boolean({ description: 'false when a later measurement of the gauge is already known (the latest one derates), or a departure could not be derated now' }),
  failed: Type.Array(Uuid, { description: 'departures that could not be derated now (contention): the next reading derates them' }),
  departures: Type.Array(DeratedDeparture, { description: 'the departures whose capacity this reading changed' }),
});

export const WaterLevels = Type.Object({
  gauges: Type.Array(
    Type.Object({
      gauge: Type.String(),
      name: Type.String(),
      corridors: Type.Array(Type.String()),
      levelCm: Type.Union([Type.Integer(), Type.Null()]),
      measuredAt: Type.Union([IsoTime, Type.Null()]),
    }),
  ),
  derated: Type.Array(
    Type.Object({
      departureId: Uuid,
      corridorCode: Type.String(),
      departsAt: IsoTime,
      gauge: Type.String(),
      levelCm: Type.Integer(),
      factor: Type.Number(),
      capacityBeforeTeu: Type.Integer({ description: 'the nominal capacity: what the departure carries at good water' }),
      capacityAfterTeu: Type.Integer({ description: 'its capacity at the latest reading' }),
      cancelled: Type.Boolean(),
      movedBookings: Type.Array(Uuid, { description: 'every booking its deratings moved off; schedulers and the departure\'s operator only' }),
      movedCount: Type.Integer({ description: 'how many bookings its deratings moved off, over all its readings' }),
      at: IsoTime,
    }),
  ),
  myMovedBookings: Type.Array(
    Type.Object({
      bookingId: Uuid,
      departureId: Uuid,
      from: Type.String({ description: "the departure's origin cluster code: where a new route starts" }),
      to: Type.String({ description: "the departure's destination cluster code" }),
      teu: Type.Integer(),
      tonnes: Type.Integer(),
      gauge: Type.String(),
      levelCm: Type.Integer(),
      at: IsoTime,
      alternatives: Type.Array(Type.Unknown(), { description: 'rail itineraries found when it moved (route search shape)' }),
    }),
    { description: "a forwarder's bookings moved off derated departures" },
  ),
});

export type WaterLevels = Static<typeof WaterLevels>;
export type WaterLevelRecorded = Static<typeof WaterLevelRecorded>;
