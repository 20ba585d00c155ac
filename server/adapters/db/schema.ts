import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';
import type { LedgerAccountKind, ListingFormat, Mode, OrgKind, Role } from '../../domain/enums.ts';

/** Typed view of the database (kept in step with migrations/). */
type Timestamp = ColumnType<Date, Date | string, Date | string>;
type CreatedAt = ColumnType<Date, Date | string | undefined, Date | string>;


export interface OrganisationsTable {
  id: Generated<string>;
  slug: string;
  name: string;
  kind: OrgKind;
  created_at: CreatedAt;
}
export interface UsersTable {
  id: Generated<string>;
  email: string;
  name: string;
  password_hash: string;
  disabled_at: Timestamp | null;
  created_at: CreatedAt;
}
export interface MembershipsTable {
  user_id: string;
  org_id: string;
  role: Role;
  created_at: CreatedAt;
}
export interface SessionsTable {
  id: string;
  user_id: string;
  org_id: string;
  csrf_token: string;
  ip: string | null;
  user_agent: string | null;
  created_at: CreatedAt;
  expires_at: Timestamp;
  revoked_at: Timestamp | null;
}
export interface ApiKeysTable {
  id: Generated<string>;
  org_id: string;
  created_by: string | null;
  name: string;
  prefix: string;
  key_hash: string;
  role: Role;
  created_at: CreatedAt;
  last_used_at: Timestamp | null;
  revoked_at: Timestamp | null;
}
export interface ClustersTable {
  id: Generated<string>;
  code: string;
  name: string;
  country: string;
  lat: number;
  lon: number;
  terminals: string[];
  gateway: boolean;
}
export interface CorridorsTable {
  id: Generated<string>;
  code: string;
  from_cluster_id: string;
  to_cluster_id: string;
  mode: Mode;
  distance_km: number;
}
export interface ServicesTable {
  id: Generated<string>;
  code: string;
  operator_org_id: string;
  corridor_id: string;
  asset_name: string;
  weekdays: number[];
  depart_time_utc: string;
  transit_minutes: number;
  cutoff_minutes_before: number;
  capacity_teu: number;
  capacity_tonnes: number;
  listed_teu: number;
  unit_price_cents: number;
  active: ColumnType<boolean, boolean | undefined, boolean>;
  created_at: CreatedAt;
  /** Operating costs of a run (migration 20261203T1700): copied onto its new departures by a trigger; null = not stated. */
  fixed_cost_cents: ColumnType<number | null, number | null | undefined, number | null>;
  variable_cost_cents_per_teu: ColumnType<number | null, number | null | undefined, number | null>;
}
export interface DeparturesTable {
  id: Generated<string>;
  corridor_id: string;
  operator_org_id: string;
  service_id: string | null;
  asset_name: string;
  departs_at: Timestamp;
  arrives_at: Timestamp;
  cutoff_at: Timestamp;
  capacity_teu: number;
  capacity_tonnes: number;
  held_teu: Generated<number>;
  held_tonnes: Generated<number>;
  booked_teu: Generated<number>;
  booked_tonnes: Generated<number>;
  reefer_plugs: Generated<number>;
  dangerous_goods: Generated<boolean>;
  seq: Generated<number>;
  status: Generated<'scheduled' | 'cancelled'>;
  created_at: CreatedAt;
  updated_at: CreatedAt;
  /** Filled by a trigger with ceil(40 % of capacity_teu) when an insert leaves it out. */
  min_load_teu: Generated<number>;
  /**
   * What running it costs (migration 20261203T1700): a fixed amount per run and an amount per TEU carried, stated by
   * its operator (PUT /api/departures/:id/operating-costs); a new departure of a service gets the service's figures.
   * Null = not stated (the optimiser uses its documented default).
   */
  fixed_cost_cents: ColumnType<number | null, number | null | undefined, number | null>;
  variable_cost_cents_per_teu: ColumnType<number | null, number | null | undefined, number | null>;
  /** Low-water derating (migration 20261203T2300): the capacity before any derating (null: never derated), what set it. */
  nominal_capacity_teu: ColumnType<number | null, number | null | undefined, number | null>;
  nominal_capacity_tonnes: ColumnType<number | null, number | null | undefined, number | null>;
  derated_gauge: ColumnType<string | null, string | null | undefined, string | null>;
  derated_level_cm: ColumnType<number | null, number | null | undefined, number | null>;
  derated_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
}
export interface ListingsTable {
  id: Generated<string>;
  departure_id: string;
  format: ListingFormat;
  teu: number;
  remaining_teu: number;
  status: Generated<'open' | 'closed' | 'cancelled'>;
  unit_price_cents: number | null;
  reserve_price_cents: number | null;
  min_increment_cents: number | null;
  floor_price_cents: number | null;
  step_cents: number | null;
  step_every_minutes: number | null;
  opens_at: Timestamp | null;
  closes_at: Timestamp | null;
  fee_rule: unknown;
  unsold_action: Generated<'return' | 'relist'>;
  created_by: string | null;
  created_at: CreatedAt;
  updated_at: CreatedAt;
  closed_at: Timestamp | null;
  bid_seq: Generated<number>;
  max_close_at: Timestamp | null;
  awarded_teu: number | null;
  clearing_price_cents: number | null;
}
export interface HoldsTable {
  id: Generated<string>;
  listing_id: string;
  departure_id: string;
  org_id: string;
  user_id: string | null;
  teu: number;
  tonnes: number;
  unit_price_cents: number;
  status: Generated<'active' | 'confirmed' | 'released' | 'expired' | 'cancelled'>;
  expires_at: Timestamp;
  created_at: CreatedAt;
  ended_at: Timestamp | null;
  /** The itinerary this hold is a leg of (migration 20261203T1500), with the leg's position; null for a single hold. */
  itinerary_id: ColumnType<string | null, string | null | undefined, string | null>;
  leg_index: ColumnType<number | null, number | null | undefined, number | null>;
}
export interface BookingsTable {
  id: Generated<string>;
  departure_id: string;
  listing_id: string;
  hold_id: string | null;
  forwarder_org_id: string;
  user_id: string | null;
  teu: number;
  tonnes: number;
  unit_price_cents: number;
  total_cents: number;
  status: Generated<'confirmed' | 'cancelled' | 'settled'>;
  reference: string | null;
  cargo: unknown;
  co2e_kg: Generated<number>;
  road_co2e_kg: Generated<number>;
  cancellation_fee_cents: number | null;
  created_at: CreatedAt;
  cancelled_at: Timestamp | null;
  /** Why the platform cancelled it (migration 20261203T2300): 'derating'; null when its forwarder did. */
  cancel_reason: ColumnType<'derating' | null, 'derating' | null | undefined, 'derating' | null>;
  bid_id: string | null;
  /** The itinerary this booking is a leg of (migration 20261203T1500), with the leg's position; null otherwise. */
  itinerary_id: ColumnType<string | null, string | null | undefined, string | null>;
  leg_index: ColumnType<number | null, number | null | undefined, number | null>;
  /** Where a booking moved by a merge came from, and when (migration 20261203T1900). */
  moved_from_departure_id: ColumnType<string | null, string | null | undefined, string | null>;
  moved_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  /** When the departure's operator marked it not delivered (migration 20261203T2200); null otherwise. */
  no_show_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
}

/** A chain of legs held and booked as one thing (migration 20261203T1500). */
export interface ItinerariesTable {
  id: Generated<string>;
  forwarder_org_id: string;
  user_id: string | null;
  api_key_id: string | null;
  status: Generated<'held' | 'confirmed' | 'released' | 'expired' | 'cancelled'>;
  legs: number;
  teu: number;
  tonnes: number;
  legs_cents: number;
  handling_cents: number;
  total_cents: number;
  co2e_kg: Generated<number>;
  transfers: unknown;
  reference: string | null;
  cancellation_fee_cents: number | null;
  expires_at: Timestamp;
  created_at: CreatedAt;
  confirmed_at: Timestamp | null;
  ended_at: Timestamp | null;
}
/** A forwarder's shipment request in the pool (migration 20261203T1700). */
export interface ShipmentsTable {
  id: Generated<string>;
  forwarder_org_id: string;
  user_id: string | null;
  api_key_id: string | null;
  from_cluster_id: string;
  to_cluster_id: string;
  teu: number;
  tonnes: number;
  ready_at: Timestamp;
  deliver_by: Timestamp;
  /** bigint: returned as a number by the pg type parser of db.ts. */
  max_total_cents: number;
  modes: ColumnType<Mode[], Mode[] | undefined, Mode[]>;
  consolidate: Generated<boolean>;
  status: Generated<'pooled' | 'proposed' | 'booked' | 'withdrawn' | 'unplaced'>;
  version: Generated<number>;
  reference: ColumnType<string | null, string | null | undefined, string | null>;
  itinerary_id: ColumnType<string | null, string | null | undefined, string | null>;
  created_at: CreatedAt;
  updated_at: CreatedAt;
}
export interface IdempotencyKeysTable {
  org_id: string;
  key: string;
  route: string;
  request_hash: string;
  status_code: number;
  response: unknown;
  created_at: CreatedAt;
}
export interface AuditLogTable {
  id: Generated<number>;
  at: CreatedAt;
  actor_user_id: string | null;
  actor_org_id: string | null;
  api_key_id: string | null;
  action: string;
  entity_type: string;
  entity_id: string | null;
  data: unknown;
  ip: string | null;
}

export interface BidsTable {
  id: Generated<string>;
  listing_id: string;
  org_id: string;
  user_id: string | null;
  seq: number;
  teu: number;
  unit_price_cents: number;
  all_or_nothing: boolean;
  max_unit_price_cents: number | null;
  replaces_bid_id: string | null;
  status: Generated<'active' | 'replaced' | 'won' | 'lost' | 'withdrawn'>;
  awarded_teu: number | null;
  placed_at: Timestamp;
  /** The bid group (either-or bids) it belongs to; null for a single bid (migration 20261203T2100). */
  bid_group_id: ColumnType<string | null, string | null | undefined, string | null>;
}

/** A forwarder's either-or group of bids on 2–5 auction listings: at most one wins (migration 20261203T2100). */
export interface BidGroupsTable {
  id: Generated<string>;
  org_id: string;
  created_by: string | null;
  status: Generated<BidGroupStatus>;
  won_bid_id: string | null;
  created_at: CreatedAt;
  decided_at: Timestamp | null;
}
export type BidGroupStatus = 'open' | 'won' | 'lost' | 'withdrawn';
export interface OutboxTable {
  id: Generated<number>;
  job_name: string;
  job_id: string;
  data: unknown;
  run_at: CreatedAt;
  created_at: CreatedAt;
  enqueued_at: Timestamp | null;
}
export interface LedgerAccountsTable {
  id: Generated<string>;
  org_id: string | null;
  kind: LedgerAccountKind;
  currency: Generated<string>;
  created_at: CreatedAt;
}
export interface LedgerTransactionsTable {
  id: Generated<string>;
  idempotency_key: string;
  kind: string;
  booking_id: string | null;
  description: string;
  created_at: CreatedAt;
}
export interface LedgerEntriesTable {
  id: Generated<number>;
  transaction_id: string;
  account_id: string;
  direction: 'debit' | 'credit';
  amount_cents: number;
}
export interface InvoiceCountersTable {
  issuer_org_id: string;
  year: number;
  last_number: number;
  /** The latest issue time handed out: an issuer's invoices never go back in time (migration 20261205T1300). */
  last_issued_at: ColumnType<Date, Date | undefined, Date>;
}
export interface InvoicesTable {
  id: Generated<string>;
  issuer_org_id: string;
  recipient_org_id: string;
  year: number;
  seq: number;
  number: string;
  kind: Generated<'invoice' | 'credit_note'>;
  net_cents: number;
  vat_cents: number;
  total_cents: number;
  vat_note: string | null;
  issued_at: CreatedAt;
}
export interface InvoiceLinesTable {
  id: Generated<number>;
  invoice_id: string;
  booking_id: string | null;
  description: string;
  quantity_teu: number;
  unit_price_cents: number;
  amount_cents: number;
}

/** Booking and auction sums of a rollup row (migration 20261203T1300): maintained by triggers. */
export interface StatsSums {
  bookings: Generated<number>;
  booked_teu: Generated<number>;
  revenue_cents: Generated<number>;
  co2e_kg: Generated<number>;
  road_co2e_kg: Generated<number>;
  cancellations: Generated<number>;
  cancelled_teu: Generated<number>;
  cancellation_fees_cents: Generated<number>;
  fixed_teu: Generated<number>;
  fixed_revenue_cents: Generated<number>;
  falling_teu: Generated<number>;
  falling_revenue_cents: Generated<number>;
  ascending_teu: Generated<number>;
  ascending_revenue_cents: Generated<number>;
  sealed_teu: Generated<number>;
  sealed_revenue_cents: Generated<number>;
  auction_awarded_teu: Generated<number>;
  auction_clearing_cents: Generated<number>;
  auction_reserve_cents: Generated<number>;
}
export interface StatsDepartureTable extends StatsSums {
  departure_id: string;
}
export interface StatsForwarderTable extends StatsSums {
  departure_id: string;
  forwarder_org_id: string;
  /** The departure's UTC day, corridor and operator (copies kept by a trigger). */
  day: ColumnType<string, string, string>;
  corridor_id: string;
  operator_org_id: string;
}

/** Corridor × departure day × operator (migration 20261203T1400): scheduled departures, their capacity, the booking sums. */
export interface StatsCorridorDayTable extends StatsSums {
  day: ColumnType<string, string, string>;
  corridor_id: string;
  operator_org_id: string;
  departures: number;
  capacity_teu: number;
}

export interface OptimisationsTable {
  id: Generated<string>;
  status: ColumnType<'queued' | 'solving' | 'done' | 'failed', 'queued' | 'solving' | 'done' | 'failed' | undefined>;
  trigger: 'manual' | 'schedule' | 'pool';
  requested_by: string | null;
  plan_version: number | null;
  created_at: CreatedAt;
  started_at: Timestamp | null;
  finished_at: Timestamp | null;
  requests: number | null;
  placed: number | null;
  departures: number | null;
  departures_to_cancel: number | null;
  objective_cents: ColumnType<number | null, number | null | undefined, number | null>;
  lower_bound_cents: ColumnType<number | null, number | null | undefined, number | null>;
  lp_bound_cents: ColumnType<number | null, number | null | undefined, number | null>;
  gap_pct: number | null;
  greedy_objective_cents: ColumnType<number | null, number | null | undefined, number | null>;
  solve_ms: number | null;
  time_limit_hit: boolean | null;
  load_factor_before: number | null;
  load_factor_after: number | null;
  co2e_saved_kg: ColumnType<number | null, number | null | undefined, number | null>;
  trucks_avoided: number | null;
  figures: ColumnType<unknown, string | null | undefined, string | null>;
  error: string | null;
}

export interface OptimiserLeaseTable {
  id: Generated<number>;
  token: string | null;
  optimisation_id: string | null;
  expires_at: Timestamp;
}

export interface ProposalsTable {
  id: Generated<string>;
  optimisation_id: string;
  kind: 'shipment' | 'departure';
  /** `consenting`: a merge its operator accepted, waiting for the moved bookings' forwarders (migration 20261203T1900). */
  status: ColumnType<ProposalStatus, ProposalStatus | undefined>;
  shipment_id: string | null;
  forwarder_org_id: string | null;
  departure_id: string | null;
  operator_org_id: string | null;
  action: 'cancel' | 'merge' | null;
  merge_into_departure_id: string | null;
  legs: ColumnType<unknown, string | undefined, string>;
  teu: number | null;
  tonnes: number | null;
  price_cents: ColumnType<number | null, number | null | undefined, number | null>;
  standalone_cents: ColumnType<number | null, number | null | undefined, number | null>;
  share_cents: ColumnType<number | null, number | null | undefined, number | null>;
  co2e_kg: ColumnType<number | null, number | null | undefined, number | null>;
  road_co2e_kg: ColumnType<number | null, number | null | undefined, number | null>;
  capacity_teu: number | null;
  min_load_teu: number | null;
  load_before_teu: number | null;
  load_after_teu: number | null;
  moved_bookings: ColumnType<string[], string[] | undefined, string[]>;
  itinerary_id: string | null;
  reason: string | null;
  created_at: CreatedAt;
  decided_at: Timestamp | null;
  decided_by: string | null;
  /** A merge's operating saving; the target's load before → after (migration 20261203T1900). */
  saving_cents: ColumnType<number | null, number | null | undefined, number | null>;
  target_load_before_teu: ColumnType<number | null, number | null | undefined, number | null>;
  target_load_after_teu: ColumnType<number | null, number | null | undefined, number | null>;
}
/** The proposals of each plan: a proposal a later plan repeats belongs to both (migration 20261205T1200). */
export interface PlanProposalsTable {
  optimisation_id: string;
  proposal_id: string;
}

export type ProposalStatus = 'open' | 'accepting' | 'consenting' | 'accepted' | 'declined' | 'stale' | 'superseded';

/** A forwarder's answer to a merge that would move one of its bookings (migration 20261203T1900). */
export interface MergeConsentsTable {
  proposal_id: string;
  booking_id: string;
  forwarder_org_id: string;
  teu: number;
  tonnes: number;
  status: ColumnType<'pending' | 'accepted' | 'declined' | 'void', 'pending' | undefined, 'pending' | 'accepted' | 'declined' | 'void'>;
  created_at: CreatedAt;
  decided_at: Timestamp | null;
  decided_by: string | null;
}

/** Webhooks (migration 20261203T2000). */
export interface WebhookEndpointsTable {
  id: Generated<string>;
  org_id: string;
  url: string;
  events: string[];
  description: string | null;
  enabled: Generated<boolean>;
  disabled_reason: 'admin' | 'failing' | null;
  disabled_at: Timestamp | null;
  secret: string;
  previous_secret: string | null;
  previous_secret_expires_at: Timestamp | null;
  consecutive_failures: Generated<number>;
  failing_since: Timestamp | null;
  created_by: string | null;
  created_at: CreatedAt;
  updated_at: CreatedAt;
}
export interface WebhookEventsTable {
  id: Generated<string>;
  org_id: string;
  type: string;
  object_key: string;
  seq: number;
  data: unknown;
  created_at: CreatedAt;
}
export interface WebhookDeliveriesTable {
  id: Generated<string>;
  endpoint_id: string;
  event_id: string;
  object_key: string;
  seq: number;
  status: Generated<'pending' | 'delivering' | 'succeeded' | 'failed'>;
  attempts: Generated<number>;
  job_gen: Generated<number>;
  next_attempt_at: CreatedAt;
  lease_until: Timestamp | null;
  response_code: number | null;
  duration_ms: number | null;
  response_body: string | null;
  last_error: string | null;
  redelivery_of: string | null;
  created_at: CreatedAt;
  updated_at: CreatedAt;
  finished_at: Timestamp | null;
}

/** A forwarder's saved search (migration 20261203T2200, README "Watches and cascade re-offers"). */
export interface WatchesTable {
  id: Generated<string>;
  org_id: string;
  created_by: string | null;
  from_code: string | null;
  to_code: string | null;
  corridor_id: string | null;
  modes: string[] | null;
  departs_after: Timestamp | null;
  departs_before: Timestamp | null;
  min_teu: number;
  min_tonnes: number | null;
  max_unit_price_cents: number | null;
  status: Generated<'active' | 'deleted'>;
  created_at: CreatedAt;
  deleted_at: Timestamp | null;
}
export interface WatchMatchesTable {
  id: Generated<string>;
  watch_id: string;
  org_id: string;
  departure_id: string;
  listing_id: string;
  free_teu: number;
  unit_price_cents: number;
  trigger: 'listing' | 'price' | 'freed';
  dedupe_key: string;
  created_at: CreatedAt;
}
export type OfferReason = 'expired_hold' | 'cancellation' | 'no_show' | 'unsold' | 'derating';
export interface OfferChainsTable {
  id: Generated<string>;
  departure_id: string;
  listing_id: string;
  teu: number;
  tonnes: number;
  unit_price_cents: number;
  reason: OfferReason;
  source_id: string;
  freed_by_org_id: string | null;
  /** Reserved for one organisation (a relocation's first refusal; migration 20261204T0000). */
  only_org_id: ColumnType<string | null, string | null | undefined, string | null>;
  status: Generated<'offering' | 'accepted' | 'returned'>;
  created_at: CreatedAt;
  ended_at: Timestamp | null;
}
export interface OffersTable {
  id: Generated<string>;
  chain_id: string;
  round: number;
  departure_id: string;
  listing_id: string;
  /** Exactly one of watch_id, shipment_id, moved_booking_id names why this offeree (migration 20261204T0000). */
  watch_id: ColumnType<string | null, string | null | undefined, string | null>;
  shipment_id: ColumnType<string | null, string | null | undefined, string | null>;
  moved_booking_id: ColumnType<string | null, string | null | undefined, string | null>;
  org_id: string;
  teu: number;
  tonnes: number;
  unit_price_cents: number;
  reason: OfferReason;
  status: Generated<'open' | 'accepted' | 'declined' | 'expired' | 'withdrawn'>;
  expires_at: Timestamp;
  created_at: CreatedAt;
  ended_at: Timestamp | null;
  hold_id: string | null;
}

/** Water levels received (migration 20261203T2300). */
export interface WaterLevelsTable {
  id: Generated<string>;
  gauge: string;
  level_cm: number;
  measured_at: Timestamp;
  received_at: CreatedAt;
  org_id: string | null;
  user_id: string | null;
  api_key_id: string | null;
  applied: Generated<boolean>;
}
export interface DeratingsTable {
  id: Generated<string>;
  water_level_id: string;
  departure_id: string;
  gauge: string;
  level_cm: number;
  factor: number;
  capacity_before_teu: number;
  capacity_after_teu: number;
  capacity_before_tonnes: number;
  capacity_after_tonnes: number;
  cancelled: Generated<boolean>;
  moved_bookings: ColumnType<string[], string[] | undefined, string[]>;
  created_at: CreatedAt;
}
export interface DeratingMovesTable {
  derating_id: string;
  booking_id: string;
  forwarder_org_id: string;
  alternatives: ColumnType<unknown, string | undefined, string>;
  created_at: CreatedAt;
}

export interface DB {
  water_levels: WaterLevelsTable;
  deratings: DeratingsTable;
  derating_moves: DeratingMovesTable;
  organisations: OrganisationsTable;
  users: UsersTable;
  memberships: MembershipsTable;
  sessions: SessionsTable;
  api_keys: ApiKeysTable;
  clusters: ClustersTable;
  corridors: CorridorsTable;
  services: ServicesTable;
  departures: DeparturesTable;
  listings: ListingsTable;
  holds: HoldsTable;
  bookings: BookingsTable;
  itineraries: ItinerariesTable;
  shipments: ShipmentsTable;
  optimisations: OptimisationsTable;
  optimiser_lease: OptimiserLeaseTable;
  proposals: ProposalsTable;
  plan_proposals: PlanProposalsTable;
  merge_consents: MergeConsentsTable;
  idempotency_keys: IdempotencyKeysTable;
  audit_log: AuditLogTable;
  bids: BidsTable;
  bid_groups: BidGroupsTable;
  outbox: OutboxTable;
  ledger_accounts: LedgerAccountsTable;
  ledger_transactions: LedgerTransactionsTable;
  ledger_entries: LedgerEntriesTable;
  invoice_counters: InvoiceCountersTable;
  invoices: InvoicesTable;
  invoice_lines: InvoiceLinesTable;
  stats_departure: StatsDepartureTable;
  stats_forwarder: StatsForwarderTable;
  stats_corridor_day: StatsCorridorDayTable;
  webhook_endpoints: WebhookEndpointsTable;
  webhook_events: WebhookEventsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  watches: WatchesTable;
  watch_matches: WatchMatchesTable;
  offer_chains: OfferChainsTable;
  offers: OffersTable;
}

export type DepartureRow = Selectable<DeparturesTable>;
export type NewAudit = Insertable<AuditLogTable>;
