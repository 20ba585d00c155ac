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
  leadingBids?: unknown[];
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
}

export interface AvailabilityEvent {
  departureId: string;
  seq: number;
  freeTeu: number;
  freeTonnes: number;
}

export type Room = { corridorId: string } | { departureId: string } | { listingId: string };
