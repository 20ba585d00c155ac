export type OrgKind = 'forwarder' | 'operator' | 'scheduler' | 'platform';
export type Mode = 'rail' | 'barge';

export interface Me {
  user: { id: string; email: string; name: string };
  org: { id: string; name: string; kind: OrgKind };
  role: 'admin' | 'member';
  csrfToken: string;
}

export interface Cluster {
  id: string;
  code: string;
  name: string;
  country: string;
  lat: number;
  lon: number;
}

export interface Corridor {
  id: string;
  fromClusterId: string;
  toClusterId: string;
  mode: Mode;
  distanceKm: number;
}

export type ListingFormat = 'fixed' | 'ascending' | 'sealed' | 'falling';

export interface Listing {
  id: string;
  departureId: string;
  format: ListingFormat;
  teu: number;
  remainingTeu: number;
  status: 'open' | 'closed' | 'cancelled';
  unitPriceCents?: number;
  reservePriceCents?: number;
  currentPriceCents?: number;
  minIncrementCents?: number;
  opensAt?: string;
  closesAt?: string;
  leadingBids?: LeadingBid[];
  /** ascending: the minimum unit price a new bid must carry */
  minNextBidCents?: number;
  /** after close */
  awardedTeu?: number;
  clearingPriceCents?: number;
  unallocatedTeu?: number;
  unsoldAction?: 'return' | 'relist';
  /** ascending: a bid this close to the close extends it … */
  softCloseWindowSeconds?: number;
  /** … to now + this many seconds */
  softCloseExtendSeconds?: number;
  /** auctions: the latest possible close (the departure's cut-off) */
  maxCloseAt?: string;
}

/** A current winner of an ascending auction ('You' when the viewer placed it, else 'Bidder N'). */
export interface LeadingBid {
  label: string;
  teu: number;
  unitPriceCents: number;
  allocatedTeu: number;
  seq?: number;
  placedAt?: string;
}

export interface Bid {
  id: string;
  listingId: string;
  teu: number;
  unitPriceCents: number;
  allOrNothing: boolean;
  maxUnitPriceCents?: number | null;
  status: 'active' | 'replaced' | 'won' | 'lost';
  placedAt: string;
  seq?: number;
  label?: string;
  orgName?: string;
  awardedTeu?: number | null;
}

export interface BidResult {
  id: string;
  status: 'leading' | 'outbid' | 'sealed';
  closesAt?: string;
  /** the stored bid's price (an auto-bid's opening price may have been lifted to the minimum) */
  unitPriceCents?: number;
  minNextBidCents?: number;
  /** ascending: TEU the bid (or its auto-bid raise) currently wins */
  allocatedTeu?: number;
}

export interface ListingUpdateEvent {
  listingId: string;
  status?: Listing['status'];
  remainingTeu?: number;
  currentPriceCents?: number;
  closesAt?: string;
  leadingBids?: LeadingBid[];
  minNextBidCents?: number;
}

export interface ListingClosedEvent {
  listingId: string;
  clearingPriceCents?: number;
  awardedTeu?: number;
}

export interface AuctionResultEvent {
  listingId: string;
  won: boolean;
  awardedTeu: number;
  bookingIds?: string[];
}

export interface LedgerAccount {
  id: string;
  kind: string;
  balanceCents: number;
}

export interface Transfer {
  transactionId?: string;
  kind?: string;
  description?: string;
  bookingId?: string | null;
  direction?: 'debit' | 'credit';
  amountCents?: number;
  createdAt?: string;
  accountKind?: string;
}

export interface InvoiceLine {
  description: string;
  quantityTeu: number;
  unitPriceCents: number;
  amountCents: number;
  bookingId?: string | null;
}

export interface Invoice {
  id: string;
  number: string;
  issuerOrgId: string;
  recipientOrgId: string;
  totalCents: number;
  vatCents: number;
  issuedAt: string;
  kind?: 'invoice' | 'credit_note' | string;
  netCents?: number;
  issuerName?: string;
  recipientName?: string;
  lines?: InvoiceLine[];
}

export interface Departure {
  id: string;
  corridorId: string;
  mode: Mode;
  origin: string;
  destination: string;
  departsAt: string;
  arrivesAt: string;
  cutoffAt: string;
  capacityTeu: number;
  capacityTonnes: number;
  freeTeu: number;
  freeTonnes: number;
  seq: number;
  operatorOrgId: string;
  /** optional extras the server may add */
  operatorName?: string;
  assetName?: string;
  listings?: Listing[];
}

export interface Hold {
  id: string;
  listingId: string;
  teu: number;
  tonnes: number;
  unitPriceCents: number;
  expiresAt: string;
  /** optional extras */
  departureId?: string;
  departure?: Partial<Departure>;
}

export interface Booking {
  id: string;
  departureId: string;
  forwarderOrgId: string;
  teu: number;
  tonnes: number;
  unitPriceCents: number;
  totalCents: number;
  status: 'confirmed' | 'cancelled' | 'settled';
  co2eKg: number;
  roadCo2eKg: number;
  /** optional extras */
  reference?: string;
  createdAt?: string;
  cancellationFeeCents?: number;
  cancellationPreview?: unknown;
  departure?: Partial<Departure>;
  invoiceId?: string | null;
  listingId?: string;
}

export type { AvailabilityFrame as AvailabilityEvent } from './availability';

export type Room = { corridorId: string } | { departureId: string } | { listingId: string };
