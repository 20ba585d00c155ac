import { Type, type Static } from 'typebox';
import { IsoTime, LoCode, Mode, StringEnum, Uuid } from './common.ts';
import { MAX_WINDOW_DAYS } from './routes.ts';

// The pool (API.md "Pooling and optimisation"; issue 13 item 1). What the schemas cannot say (known cluster codes,
// from ≠ to, deliverBy in the future and after readyAt, the window's length, ≥ 1 t per TEU) the shipments service
// checks, answering 400 in the API shape with the route search's codes.

/**
 * Most TEU one shipment may ask for. The optimiser places a shipment whole on one itinerary (it never splits one),
 * so a request larger than the largest departure could never be placed; the demo network's largest departure
 * carries 400 TEU (Rhine barges of the Jowi class), block trains 80–100. Larger volumes are several shipments.
 */
export const MAX_SHIPMENT_TEU = 500;
/** Most tonnes (500 TEU at a heavy 40 t gross each). */
export const MAX_SHIPMENT_TONNES = 20_000;
/** Latest readyAt, in days from now (departures are published at most a year ahead). */
export const MAX_READY_AHEAD_DAYS = 366;
export { MAX_WINDOW_DAYS };

export const SHIPMENT_STATUSES = ['pooled', 'proposed', 'booked', 'withdrawn', 'unplaced'] as const;
export type ShipmentStatus = (typeof SHIPMENT_STATUSES)[number];
/** Statuses in which the forwarder may still change a shipment (PATCH). */
export const CHANGEABLE_STATUSES: readonly ShipmentStatus[] = ['pooled', 'unplaced', 'proposed'];
/** Statuses from which a shipment may be withdrawn (DELETE). */
export const WITHDRAWABLE_STATUSES: readonly ShipmentStatus[] = ['pooled', 'unplaced', 'proposed'];

const Modes = Type.Array(Mode, {
  minItems: 1,
  maxItems: 2,
  uniqueItems: true,
  description: 'modes the cargo may travel by; default ["rail","barge"]',
});
const fields = {
  from: { ...LoCode, description: 'origin cluster (UN/LOCODE, e.g. DEDUI)' },
  to: { ...LoCode, description: 'destination cluster (UN/LOCODE), not the origin' },
  teu: Type.Integer({ minimum: 1, maximum: MAX_SHIPMENT_TEU, description: `whole TEU, 1–${MAX_SHIPMENT_TEU} (placed whole on one itinerary)` }),
  tonnes: Type.Integer({ minimum: 1, maximum: MAX_SHIPMENT_TONNES, description: 'integer tonnes, at least 1 per TEU' }),
  readyAt: { ...IsoTime, description: 'when the cargo is ready at the origin: no leg\'s cut-off before it' },
  deliverBy: {
    ...IsoTime,
    description: `when it must have arrived: in the future, after readyAt, at most ${MAX_WINDOW_DAYS} days after it`,
  },
  maxTotalCents: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: 'the most the forwarder pays in total (all legs and handling), EUR cents' }),
  modes: Modes,
  consolidate: Type.Boolean({ description: "may share a departure with other forwarders' pooled cargo (default true)" }),
  reference: Type.String({ minLength: 1, maxLength: 120, description: 'your own reference (e.g. an order number)' }),
};

export const NewShipmentBody = Type.Object(
  {
    from: fields.from,
    to: fields.to,
    teu: fields.teu,
    tonnes: fields.tonnes,
    readyAt: fields.readyAt,
    deliverBy: fields.deliverBy,
    maxTotalCents: fields.maxTotalCents,
    modes: Type.Optional(fields.modes),
    consolidate: Type.Optional(fields.consolidate),
    reference: Type.Optional(fields.reference),
  },
  { additionalProperties: false },
);
export type NewShipmentBody = Static<typeof NewShipmentBody>;

export const ShipmentChangeBody = Type.Object(
  {
    from: Type.Optional(fields.from),
    to: Type.Optional(fields.to),
    teu: Type.Optional(fields.teu),
    tonnes: Type.Optional(fields.tonnes),
    readyAt: Type.Optional(fields.readyAt),
    deliverBy: Type.Optional(fields.deliverBy),
    maxTotalCents: Type.Optional(fields.maxTotalCents),
    modes: Type.Optional(fields.modes),
    consolidate: Type.Optional(fields.consolidate),
    reference: Type.Optional(Type.Union([fields.reference, Type.Null()])),
    expectVersion: Type.Optional(Type.Integer({
      minimum: 1,
      maximum: 2_147_483_647,
      description: 'the version the change is based on: if the shipment has changed since, 409 `shipment_state_changed` and nothing changes',
    })),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type ShipmentChangeBody = Static<typeof ShipmentChangeBody>;

export const ShipmentsQuery = Type.Object(
  {
    status: Type.Optional(StringEnum(SHIPMENT_STATUSES, { description: 'only shipments in this status' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'at most this many (default 200)' })),
  },
  { additionalProperties: false },
);
export type ShipmentsQuery = Static<typeof ShipmentsQuery>;

export const ShipmentStatus = StringEnum(SHIPMENT_STATUSES, {
  description:
    'pooled: waiting for the optimiser; proposed: a plan proposes an itinerary for it; booked: the proposal was accepted (an itinerary, itineraryId); ' +
    'withdrawn: taken back by the forwarder; unplaced: the last plan found no itinerary within its window, modes and price (it stays in the pool)',
});

export const Shipment = Type.Object({
  id: Uuid,
  from: LoCode,
  to: LoCode,
  teu: Type.Integer(),
  tonnes: Type.Integer(),
  readyAt: IsoTime,
  deliverBy: IsoTime,
  maxTotalCents: Type.Integer(),
  modes: Type.Array(Mode),
  consolidate: Type.Boolean(),
  status: ShipmentStatus,
  version: Type.Integer({ description: 'bumped on every change (PATCH expectVersion)' }),
  reference: Type.Union([Type.String(), Type.Null()]),
  itineraryId: Type.Union([Uuid, Type.Null()], { description: 'the itinerary it was booked as (booked only)' }),
  createdAt: IsoTime,
  updatedAt: IsoTime,
});
export type Shipment = Static<typeof Shipment>;

// ---- operating costs of a departure (operators) ----------------------------------------------------------

export const OperatingCostsBody = Type.Object(
  {
    fixedCostCents: Type.Integer({ minimum: 0, maximum: 100_000_000, description: 'what running the departure at all costs (EUR cents per run)' }),
    variableCostCentsPerTeu: Type.Integer({ minimum: 0, maximum: 1_000_000, description: 'what each TEU carried adds (EUR cents)' }),
    minLoadTeu: Type.Integer({ minimum: 0, maximum: 10_000, description: 'below this load the operator would rather cancel or merge the departure; at most its capacityTeu' }),
  },
  { additionalProperties: false },
);
export type OperatingCostsBody = Static<typeof OperatingCostsBody>;

export const OperatingCosts = Type.Object({
  departureId: Uuid,
  fixedCostCents: Type.Union([Type.Integer(), Type.Null()], { description: 'null: not stated (the optimiser uses its default)' }),
  variableCostCentsPerTeu: Type.Union([Type.Integer(), Type.Null()], { description: 'null: not stated (the optimiser uses its default)' }),
  minLoadTeu: Type.Integer(),
  capacityTeu: Type.Integer(),
});
export type OperatingCosts = Static<typeof OperatingCosts>;
