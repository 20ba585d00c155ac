import { Type, type Static, type TSchema } from 'typebox';
import { IsoTime, LoCode, Mode, StringEnum, Uuid } from './common.ts';

// GET /api/stats/… (API.md "Statistics"; issue 11 contract). Query strings are closed; every answer has a
// CSV variant (`Accept: text/csv` or `?format=csv`): the same rows, flattened, with a header row.

const Day = Type.String({ pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$', description: 'a UTC departure day, YYYY-MM-DD' });
/**
 * `T | null` published as `{ type: [T's type, 'null'] }` rather than an anyOf: the plainer schema for OpenAPI
 * readers and for any compiled serialiser (the statistics routes themselves send JSON.stringify's output:
 * server/http/routes/stats.ts).
 */
const Nullable = <T extends TSchema>(t: T) => {
  const plain = JSON.parse(JSON.stringify(t)) as { type: string } & Record<string, unknown>;
  return Type.Unsafe<Static<T> | null>({ ...plain, type: [plain.type, 'null'] });
};
const Int = Type.Integer();
const Cents = Type.Integer({ description: 'integer EUR cents' });

export const GROUP_BY = ['corridor-day', 'cluster-day', 'operator', 'mode', 'day', 'corridor', 'departure'] as const;
export type GroupBy = (typeof GROUP_BY)[number];

const filters = {
  from: Type.Optional({ ...Day, description: 'first departure day (inclusive); default: to − 29 days' }),
  to: Type.Optional({ ...Day, description: 'last departure day (inclusive); default: today (UTC)' }),
  corridorId: Type.Optional(Uuid),
  cluster: Type.Optional({ ...LoCode, description: 'departures from or to this cluster (UN/LOCODE)' }),
  mode: Type.Optional(Mode),
  operatorOrgId: Type.Optional(Uuid),
  format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('csv')], { description: 'csv: the same rows as text/csv (also with Accept: text/csv)' })),
};

export const DETAIL = ['slim', 'full'] as const;
export type Detail = (typeof DETAIL)[number];

export const UtilisationQuery = Type.Object(
  {
    ...filters,
    groupBy: Type.Optional(StringEnum(GROUP_BY, { description: 'row key; default day' })),
    detail: Type.Optional(
      StringEnum(DETAIL, {
        description:
          'slim (default): each row carries its key fields and departures, capacityTeu, bookedTeu, heldTeu, loadFactor, revenueCents, ' +
          'avgUnitPriceCents, co2eKg, roadCo2eKg, co2eSavedKg, trucksAvoided. full: each row also carries freeTeu, bookings, the ' +
          'cancellations (cancellations, cancelledTeu, cancellationFeesCents), byFormat and auction. `totals`, `network` and the CSV ' +
          'variant always carry every figure.',
      }),
    ),
  },
  { additionalProperties: false },
);
export type UtilisationQuery = Static<typeof UtilisationQuery>;

export const KpisQuery = Type.Object({ ...filters }, { additionalProperties: false });
export type KpisQuery = Static<typeof KpisQuery>;

export const PriceIndexQuery = Type.Object(
  { ...filters, bucket: Type.Optional(Type.Union([Type.Literal('week'), Type.Literal('day')], { default: 'week', description: 'period length; weeks start on Monday' })) },
  { additionalProperties: false },
);
export type PriceIndexQuery = Static<typeof PriceIndexQuery>;

/** The filters of the answers about the moment (at-risk, activity): no period. */
const scopeFilters = { corridorId: filters.corridorId, cluster: filters.cluster, mode: filters.mode, operatorOrgId: filters.operatorOrgId };

export const AtRiskQuery = Type.Object(
  {
    hours: Type.Optional(Type.Integer({ minimum: 1, maximum: 336, default: 48, description: 'cut-offs within the next N hours' })),
    ...scopeFilters,
    format: filters.format,
  },
  { additionalProperties: false },
);
export type AtRiskQuery = Static<typeof AtRiskQuery>;

export const ActivityQuery = Type.Object(
  {
    minutes: Type.Optional(Type.Integer({ minimum: 1, maximum: 1440, default: 60, description: 'bookings made in the last N minutes' })),
    ...scopeFilters,
  },
  { additionalProperties: false },
);
export type ActivityQuery = Static<typeof ActivityQuery>;

const FormatMetrics = Type.Object({ teu: Int, revenueCents: Cents, avgUnitPriceCents: Nullable(Cents) });

/** The figures every utilisation row carries (API.md "Statistics"; the dashboards' charts and tables need no more). */
const slimMetricsProps = {
  departures: Nullable(Type.Integer({ description: 'null for a forwarder' })),
  capacityTeu: Nullable(Int),
  bookedTeu: Int,
  heldTeu: Nullable(Int),
  loadFactor: Nullable(Type.Number({ description: 'bookedTeu / capacityTeu, 0..1' })),
  revenueCents: Type.Integer({ description: 'Σ total of non-cancelled bookings (a forwarder: its spend)' }),
  avgUnitPriceCents: Nullable(Cents),
  co2eKg: Int,
  roadCo2eKg: Int,
  co2eSavedKg: Type.Integer({ description: 'roadCo2eKg − co2eKg' }),
  trucksAvoided: Type.Integer({ description: 'round(bookedTeu / teuPerTruck), teuPerTruck = 2 (server/data/emission-factors.json)' }),
};
/** The figures a utilisation row carries only with `detail=full` (and `totals`, `network`, the KPIs and the CSV always). */
const detailMetricsProps = {
  freeTeu: Nullable(Int),
  bookings: Int,
  cancellations: Int,
  cancelledTeu: Int,
  cancellationFeesCents: Cents,
  byFormat: Type.Object({ fixed: FormatMetrics, falling: FormatMetrics, ascending: FormatMetrics, sealed: FormatMetrics }),
  auction: Type.Object({
    awardedTeu: Int,
    clearingCents: Type.Integer({ description: 'Σ clearing price × awarded TEU' }),
    reserveCents: Type.Integer({ description: 'Σ reserve price × awarded TEU' }),
    clearingVsReservePct: Nullable(Type.Number()),
  }),
};
const metricsProps = { ...slimMetricsProps, ...detailMetricsProps };
export const Metrics = Type.Object(metricsProps);
export type Metrics = Static<typeof Metrics>;
export const SlimMetrics = Type.Object(slimMetricsProps);
/** The figures of a utilisation row without `detail=full`. */
export type SlimMetrics = Static<typeof SlimMetrics>;

const Scope = StringEnum(['network', 'operator', 'forwarder']);

export const UtilisationRow = Type.Object(
  {
    corridorId: Type.Optional(Uuid),
    corridorCode: Type.Optional(Type.String()),
    fromCode: Type.Optional(Type.String()),
    toCode: Type.Optional(Type.String()),
    clusterCode: Type.Optional(Type.String({ description: 'cluster-day: the origin cluster of the corridor' })),
    mode: Type.Optional(Type.String()),
    day: Type.Optional(Type.String()),
    operatorOrgId: Type.Optional(Uuid),
    operatorName: Type.Optional(Type.String()),
    departureId: Type.Optional(Uuid),
    departsAt: Type.Optional(IsoTime),
    cutoffAt: Type.Optional(IsoTime),
    assetName: Type.Optional(Type.String()),
    minLoadTeu: Type.Optional(Int),
    status: Type.Optional(Type.String()),
    ...slimMetricsProps,
    // with detail=full only (the query's `detail`):
    freeTeu: Type.Optional(detailMetricsProps.freeTeu),
    bookings: Type.Optional(detailMetricsProps.bookings),
    cancellations: Type.Optional(detailMetricsProps.cancellations),
    cancelledTeu: Type.Optional(detailMetricsProps.cancelledTeu),
    cancellationFeesCents: Type.Optional(detailMetricsProps.cancellationFeesCents),
    byFormat: Type.Optional(detailMetricsProps.byFormat),
    auction: Type.Optional(detailMetricsProps.auction),
  },
  { description: 'a row: the key fields of its grouping and its figures (freeTeu, bookings, the cancellations, byFormat and auction with detail=full only)' },
);
export type UtilisationRow = Static<typeof UtilisationRow>;

export const UtilisationAnswer = Type.Object({
  from: Type.String(),
  to: Type.String(),
  groupBy: Type.String(),
  scope: Scope,
  asOf: IsoTime,
  rows: Type.Array(UtilisationRow),
  totals: Metrics,
  network: Type.Optional({ ...Metrics, description: 'operators only: the whole network with the same filters except operatorOrgId' }),
});
export type UtilisationAnswer = Static<typeof UtilisationAnswer>;

export const KpisAnswer = Type.Object({
  from: Type.String(),
  to: Type.String(),
  previousFrom: Type.String(),
  previousTo: Type.String(),
  scope: Scope,
  asOf: IsoTime,
  current: Metrics,
  previous: Metrics,
  change: Type.Object({
    loadFactorPts: Nullable(Type.Number({ description: 'percentage points' })),
    bookedTeuPct: Nullable(Type.Number()),
    co2eSavedKgPct: Nullable(Type.Number()),
    trucksAvoidedPct: Nullable(Type.Number()),
    revenueCentsPct: Nullable(Type.Number()),
  }),
});
export type KpisAnswer = Static<typeof KpisAnswer>;

export const PriceIndexAnswer = Type.Object({
  from: Type.String(),
  to: Type.String(),
  bucket: Type.String(),
  scope: Scope,
  asOf: IsoTime,
  rows: Type.Array(
    Type.Object({
      corridorId: Uuid,
      corridorCode: Type.String(),
      period: Type.String({ description: 'YYYY-MM-DD, start of the bucket' }),
      bookedTeu: Int,
      avgUnitPriceCents: Nullable(Cents),
      index: Nullable(Type.Number({ description: "100 = the corridor's first period with bookings in the range" })),
    }),
  ),
});
export type PriceIndexAnswer = Static<typeof PriceIndexAnswer>;

export const AtRiskRow = Type.Object({
  departureId: Uuid,
  corridorId: Uuid,
  corridorCode: Type.String(),
  fromCode: Type.String(),
  toCode: Type.String(),
  mode: Type.String(),
  operatorOrgId: Uuid,
  operatorName: Type.String(),
  assetName: Type.String(),
  departsAt: IsoTime,
  cutoffAt: IsoTime,
  capacityTeu: Int,
  bookedTeu: Int,
  heldTeu: Int,
  minLoadTeu: Int,
  shortfallTeu: Type.Integer({ description: 'minLoadTeu − bookedTeu' }),
  loadFactor: Nullable(Type.Number()),
  proposalId: Type.Union([Uuid, Type.Null()], { description: "the optimiser's proposal for this departure, where one exists" }),
  proposalAction: Type.Union([StringEnum(['cancel', 'merge']), Type.Null()], { description: 'what that proposal would do: cancel the departure, or merge its bookings into another' }),
  proposalStatus: Type.Union([StringEnum(['open', 'consenting']), Type.Null()], { description: 'open: waiting for the operator; consenting: the operator accepted a merge, its forwarders are being asked' }),
  mergeInto: Type.Union([Type.Object({ departureId: Uuid, assetName: Type.String(), departsAt: IsoTime }), Type.Null()], { description: "a merge's target departure" }),
});
export type AtRiskRow = Static<typeof AtRiskRow>;

export const AtRiskAnswer = Type.Object({ asOf: IsoTime, hours: Int, rows: Type.Array(AtRiskRow) });
export type AtRiskAnswer = Static<typeof AtRiskAnswer>;

/** The market right now: what the dashboards show moving (bookings by the time they were made, not the day they run). */
export const ActivityAnswer = Type.Object({
  asOf: IsoTime,
  since: IsoTime,
  minutes: Int,
  scope: Scope,
  bookings: Type.Integer({ description: 'bookings made in (since, asOf], whatever they became since' }),
  bookedTeu: Int,
  revenueCents: Cents,
  wonAtAuction: Type.Integer({ description: 'of those bookings, the ones an auction awarded' }),
  activeHolds: Type.Integer({ description: 'holds active at asOf' }),
  heldTeu: Int,
});
export type ActivityAnswer = Static<typeof ActivityAnswer>;
