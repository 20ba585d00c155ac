/**
 * Types of the client. The API's request and answer types are not written here: they come from the server's
 * TypeBox schemas (server/domain/schemas, `Static<typeof …>`), the same ones that validate requests, shape the
 * answers and publish the OpenAPI document. Type-only imports: nothing of the server ends up in the bundle.
 * What stays here is the client's own: live-event payloads and the shapes it keeps in its state.
 */
import type { Departure as DepartureAnswer, LeadingBid, Listing } from '../../../server/domain/schemas/network.ts';
import type { Mode } from '../../../server/domain/enums.ts';
export type { ActivityAnswer } from '../../../server/domain/schemas/stats.ts';
import type {
  AtRiskAnswer as AtRiskAnswerBase, AtRiskRow as AtRiskRowBase, GROUP_BY, Metrics, PriceIndexAnswer, SlimMetrics, UtilisationAnswer as UtilisationAnswerBase,
} from '../../../server/domain/schemas/stats.ts';

export type { ListingFormat, Mode, OrgKind } from '../../../server/domain/enums.ts';
export type { Me, SessionState } from '../../../server/domain/schemas/session.ts';
export type { Cluster, Corridor, DepartureWithListings, LeadingBid, Listing } from '../../../server/domain/schemas/network.ts';
export type { Bid, BidAccepted as BidResult, NewBidBody } from '../../../server/domain/schemas/auctions.ts';
export type { WaterLevelRecorded, WaterLevels } from '../../../server/domain/schemas/water-levels.ts';
export type { BidGroup, BidGroupPlaced, NewBidGroupBody, OpenAuction } from '../../../server/domain/schemas/bid-groups.ts';
export type {
  Booking, BookingSummary, BookingWithDeparture, CancellationPreview, ConfirmBody, DepartureBrief, Hold, HoldWithDeparture, NewDepartureBody, NewHoldBody,
  NewListingBody, OperatorHold,
} from '../../../server/domain/schemas/trade.ts';
export type { Account as LedgerAccount, InvoiceDetail, InvoiceLine, InvoiceSummary as Invoice, Transfer } from '../../../server/domain/schemas/finance.ts';
export type {
  Accepted as WebhookAccepted, NewWebhookBody, RotatedSecret, Webhook, WebhookCreated, WebhookDelivery,
} from '../../../server/domain/schemas/webhooks.ts';
export type { WebhookEventType } from '../../../server/core/webhook-event-types.ts';

/** A departure as the client keeps it: a board entry, with its listings once it was read on its own (`GET /api/departures/:id`). */
export type Departure = DepartureAnswer & { listings?: Listing[] };

/** `listing:update` (sealed: no prices, no bids). */
export interface ListingUpdateEvent {
  listingId: string;
  status?: Listing['status'];
  remainingTeu?: number;
  currentPriceCents?: number;
  closesAt?: string;
  leadingBids?: LeadingBid[];
  /** ascending: how many bids win (leadingBids shows the top of them) */
  leadingBidCount?: number;
  unallocatedTeu?: number;
  minNextBidCents?: number;
  /** ascending: the listing's book version of this ladder (an older one than shown is dropped) */
  bidSeq?: number;
}

/** `listing:closed`. */
export interface ListingClosedEvent {
  listingId: string;
  clearingPriceCents?: number;
  awardedTeu?: number;
}

/** `auction:result`, to the bidder's organisation. */
export interface AuctionResultEvent {
  listingId: string;
  won: boolean;
  awardedTeu: number;
  bookingIds?: string[];
}

export type { AvailabilityFrame as AvailabilityEvent } from './availability.ts';

export type Room = { corridorId: string } | { departureId: string } | { listingId: string } | { dashboard: DashboardRoom };

// ---- statistics (issue 11; ../shared/API.md "Statistics", server/domain/schemas/stats.ts) ----

export type { KpisAnswer, Metrics, PriceIndexAnswer, SlimMetrics } from '../../../server/domain/schemas/stats.ts';
export type PriceIndexRow = PriceIndexAnswer['rows'][number];

/** `network`: scheduler and platform; `operator`: an operator's own departures. */
export type DashboardRoom = 'network' | 'operator';
export type StatsScope = 'network' | 'operator' | 'forwarder';
export type StatsGroupBy = (typeof GROUP_BY)[number];

/**
 * The key fields of a utilisation row, per `groupBy` (the server's row type has them all optional), and its
 * figures: `SlimMetrics` (the default answer: the figures the dashboards show); a page that shows per-row
 * formats, auctions or cancellations asks for `detail: 'full'` and types its rows with `Full<…>`.
 */
export interface CorridorKey { corridorId: string; corridorCode: string; fromCode: string; toCode: string; mode: Mode }
export type CorridorRow = CorridorKey & SlimMetrics;
export type CorridorDayRow = CorridorKey & { day: string } & SlimMetrics;
export type DayRow = { day: string } & SlimMetrics;
export type ModeRow = { mode: Mode } & SlimMetrics;
export type OperatorRow = { operatorOrgId: string; operatorName: string } & SlimMetrics;
/** A row read with `detail: 'full'`: every figure. */
export type Full<Row> = Row & Metrics;

/** `GET /api/stats/utilisation` with the rows of one `groupBy`. */
export type UtilisationAnswer<Row> = Omit<UtilisationAnswerBase, 'rows' | 'scope'> & { scope: StatsScope; rows: Row[] };

export type AtRiskRow = Omit<AtRiskRowBase, 'mode'> & { mode: Mode };
/** `GET /api/stats/at-risk` */
export type AtRiskAnswer = Omit<AtRiskAnswerBase, 'rows'> & { rows: AtRiskRow[] };

/** `stats:update`, to a dashboard room (coalesced by the server). */
export interface StatsUpdateEvent {
  dashboard: DashboardRoom;
  asOf: string;
  departureIds: string[];
  corridorIds: string[];
  days: string[];
}

// ---- the pool and the optimiser (issue 13; ../shared/API.md "Pooling and optimisation") ----

export type { OperatingCosts, Shipment } from '../../../server/domain/schemas/shipments.ts';
export type { Optimisation, Proposal } from '../../../server/domain/schemas/optimisations.ts';

/** `optimisation:progress`, to the network dashboard room (schedulers). */
export interface OptimisationProgressEvent {
  optimisationId: string;
  phase: 'loading' | 'greedy' | 'bound' | 'solving' | 'done' | 'failed';
  part: number;
  parts: number;
  gapPct: number | null;
  incumbentCents: number | null;
  boundCents: number | null;
}

/** `proposal:new`: a new plan (`optimisationId`), or a merge asking this forwarder about its bookings (`proposalId`). */
export interface ProposalNewEvent {
  optimisationId?: string;
  planVersion?: number;
  proposalId?: string;
  kind?: 'merge';
}
