/**
 * The OpenAPI catalogue: for every API operation ("METHOD /path", the path as the route declares it, e.g.
 * `POST /api/holds/:id/confirm`) its operationId (camelCase, stable: generated clients name their methods after
 * it — never rename one), its one tag, a description and optionally a summary (else the route's own). Examples
 * live in ./examples.ts, keyed by operationId. test/integration/openapi-client.test.ts fails for a route without
 * an entry, an entry without a route and a repeated operationId: a new route needs a line here (README
 * "OpenAPI and generated clients").
 */

export const TAGS = [
  { name: 'health', description: 'Liveness of the server and its dependencies (public).' },
  { name: 'session', description: 'Signing in and out (session cookie + CSRF token) and who the caller is.' },
  { name: 'api-keys', description: "API keys for machines (an organisation's admins): `Authorization: Bearer <key>`." },
  { name: 'network', description: 'The network: logistics clusters (UN/LOCODE) and the corridors between them.' },
  { name: 'departures', description: 'Departures (one run of a train or barge on a corridor), their free capacity, load and operating costs.' },
  { name: 'listings', description: 'Capacity an operator offers on a departure: fixed, falling, ascending or sealed.' },
  { name: 'holds', description: 'Capacity held for a few minutes (forwarders), confirmed into a booking or released.' },
  { name: 'bookings', description: 'Confirmed bookings and their cancellation under the listing\'s fee rule.' },
  { name: 'auctions', description: 'Bids on ascending and sealed listings, the open auctions, and either-or bid groups.' },
  { name: 'water-levels', description: 'Water levels reported at river gauges (e.g. Kaub) and the barge departures derated by them.' },
  { name: 'routes', description: 'Door-to-door route search over rail and barge legs (the Pareto set on price, arrival and CO2e).' },
  { name: 'itineraries', description: 'Chains of legs held, booked, released or cancelled as one.' },
  { name: 'shipments', description: 'The pool: shipments the optimiser places on itineraries.' },
  { name: 'optimisations', description: "The optimiser's runs (schedulers; operators see their part)." },
  { name: 'proposals', description: "Proposals of the optimiser's plans: a shipment's itinerary, a departure to cancel or merge." },
  { name: 'money', description: 'Ledger accounts, transfers and invoices of the caller\'s organisation.' },
  { name: 'stats', description: 'Dashboard statistics from the rollups, as JSON or CSV.' },
  { name: 'webhooks', description: 'Signed webhook endpoints of an organisation, their secrets and delivery log (its admins).' },
  { name: 'team', description: "An organisation's members and audit log (its admins), and a person's own password." },
  { name: 'watches', description: "Forwarders' saved searches (watches), their matches, and offers of freed capacity cascading down the watches." },
] as const;

export type Tag = (typeof TAGS)[number]['name'];

export interface CatalogEntry {
  operationId: string;
  tag: Tag;
  /** Replaces the route's summary (a route without one must have it here). */
  summary?: string;
  /** Who may call it and what it does; the route's own description (error codes, details) follows it. */
  description: string;
}

export function catalogKey(method: string, path: string): string {
  return `${method.toUpperCase()} ${path}`;
}

const FWD = 'Forwarders (and their API keys).';
const OPS = 'Operators (and their API keys).';
const ADMIN = "The organisation's admins (and admin API keys).";
const ANY = 'Anyone signed in (session or API key).';

export const CATALOG: Record<string, CatalogEntry> = {
  'GET /health': {
    operationId: 'getHealth',
    tag: 'health',
    summary: 'Health of the server, Postgres and Redis',
    description: 'Public. 200 `{ status: "ok", postgres: "ok", redis: "ok" }`; 503 with `status: "degraded"` when a dependency does not answer within 2 s.',
  },

  'POST /api/session': {
    operationId: 'signIn',
    tag: 'session',
    description:
      'Public. Checks the e-mail and password and sets the `cx_session` cookie (HttpOnly, SameSite=Lax). The answer carries the `csrfToken` ' +
      'to send as `x-csrf-token` on every change made with this cookie. 401 `invalid_credentials`; sign-in attempts are limited per address and account (429).',
  },
  'DELETE /api/session': { operationId: 'signOut', tag: 'session', description: `${ANY} Ends the session (its cookie stops working at once, also on live sockets).` },
  'POST /api/noop': {
    operationId: 'noop', tag: 'session',
    description: `${ANY} Does nothing, through every check a change goes through (credentials, CSRF for a cookie, rate limit): checks a key, and is the ceiling \`npm run bench\` measures trading against.`,
  },
  'GET /api/session': {
    operationId: 'getSession',
    tag: 'session',
    description:
      'Public. Whether the caller is signed in: 200 `{ signedIn: false }` without a valid session cookie or key, else `{ signedIn: true }` with ' +
      'the figures of `GET /api/me` (which answers 401 when signed out). For a page checking its session on load; 401 only for an unknown API key.',
  },
  'GET /api/me': { operationId: 'getMe', tag: 'session', description: `${ANY} The caller: user (null for an API key), organisation, role and, for a session, its CSRF token.` },

  'POST /api/api-keys': { operationId: 'createApiKey', tag: 'api-keys', description: `${ADMIN} Creates a key for machine clients; the key itself is in this answer only.` },
  'GET /api/api-keys': { operationId: 'listApiKeys', tag: 'api-keys', description: `${ADMIN} The organisation's keys (prefix only, never the key).` },
  'DELETE /api/api-keys/:id': { operationId: 'revokeApiKey', tag: 'api-keys', description: `${ADMIN} Revokes a key: requests and live sockets using it stop at once.` },
  'GET /api/team/members': { operationId: 'listMembers', tag: 'team', description: `${ADMIN} The organisation's people: role, access, member since, last sign-in.` },
  'POST /api/team/members': {
    operationId: 'addMember',
    tag: 'team',
    description: `${ADMIN} Adds a person (e-mail unique across the platform, default role member) with a temporary password that is in this answer only (409 \`email_taken\`).`,
  },
  'PATCH /api/team/members/:userId': {
    operationId: 'updateMember',
    tag: 'team',
    description: `${ADMIN} Changes a member's role or withdraws / restores access. A new role or withdrawn access ends the member's sessions at once (live connections too). 409 \`last_admin\` when no enabled admin would be left.`,
  },
  'POST /api/team/members/:userId/reset-password': {
    operationId: 'resetMemberPassword',
    tag: 'team',
    description: `${ADMIN} A member who forgot their password gets a new temporary one, in this answer only; their sessions end. Not for your own account (400 \`own_password\`: use POST /api/me/password), nor another admin's (409 \`member_is_admin\`: make them a member first).`,
  },
  'GET /api/team/audit': { operationId: 'listAuditLog', tag: 'team', description: `${ADMIN} What the organisation's people and API keys did, newest first; page with \`before\` = the previous page's \`next\`, filter with \`action\`.` },
  'POST /api/me/password': { operationId: 'changePassword', tag: 'team', description: 'A signed-in person (not an API key) sets a new password, giving the current one; their other sessions end. Counted against the sign-in limits of the account (429).' },

  'GET /api/clusters': { operationId: 'listClusters', tag: 'network', description: `${ANY} The logistics clusters with their UN/LOCODE and position.` },
  'GET /api/corridors': { operationId: 'listCorridors', tag: 'network', description: `${ANY} The corridors between clusters, one per mode (rail, barge).` },

  'GET /api/departures': {
    operationId: 'listDepartures',
    tag: 'departures',
    description:
      `${ANY} Departures filtered by origin, destination, mode and departure window, with their free capacity and \`seq\` (bumped on every change of availability), ` +
      'and `onSale`: what their open listings offer now (TEU, the lowest fixed or falling price, the sale formats, the soonest auction close) — free capacity also counts what the operator has not listed.',
  },
  'GET /api/departures/:id': { operationId: 'getDeparture', tag: 'departures', description: `${ANY} One departure with its listings (sealed bids of others are never included).` },
  'POST /api/departures': { operationId: 'createDeparture', tag: 'departures', description: `${OPS} Publishes a departure of the caller's organisation on a corridor.` },
  'GET /api/operator/departures': { operationId: 'listOperatorDepartures', tag: 'departures', description: `${OPS} The organisation's own departures with their booked and held load.` },
  'GET /api/departures/:id/operating-costs': { operationId: 'getOperatingCosts', tag: 'departures', description: `${OPS} What running the departure costs and its minimum load.` },
  'PUT /api/departures/:id/operating-costs': { operationId: 'setOperatingCosts', tag: 'departures', description: `${OPS} States what running the departure costs and its minimum load.` },

  'POST /api/listings': { operationId: 'createListing', tag: 'listings', description: `${OPS} Offers capacity of an own departure at a fixed or falling price, or by ascending or sealed auction.` },
  'GET /api/listings/:id': { operationId: 'getListing', tag: 'listings', description: `${ANY} A listing with its remaining TEU and current price (sealed: no prices of bids).` },
  'DELETE /api/listings/:id': { operationId: 'cancelListing', tag: 'listings', description: `${OPS} Cancels an own listing; its holds are released and their holders told.` },

  'POST /api/holds': {
    operationId: 'createHold',
    tag: 'holds',
    description:
      `${FWD} Holds TEU and tonnes of a fixed or falling listing for a few minutes at the current price; confirm it with \`confirmHold\`. ` +
      'Send an `Idempotency-Key` to retry safely. 409 `insufficient_capacity`, `listing_closed`.',
  },
  'GET /api/holds': { operationId: 'listHolds', tag: 'holds', description: `${FWD} The organisation's active holds, soonest expiry first, each with its \`departure\` (route, mode, operator, asset, times).` },
  'GET /api/operator/holds': {
    operationId: 'listOperatorHolds',
    tag: 'holds',
    description: `${OPS} Active holds on the organisation's departures, soonest expiry first: the holder's organisation, the price held at and the \`departure\`.`,
  },
  'POST /api/holds/:id/confirm': {
    operationId: 'confirmHold',
    tag: 'holds',
    description: `The holder. Turns the hold into a booking at the held price (an optional reference and cargo details). Send an \`Idempotency-Key\` to retry safely. 409 \`hold_expired\`.`,
  },
  'DELETE /api/holds/:id': { operationId: 'releaseHold', tag: 'holds', description: 'The holder. Releases the hold: its capacity is free again at once.' },

  'GET /api/bookings': {
    operationId: 'listBookings',
    tag: 'bookings',
    description: `${ANY} A forwarder's own bookings; an operator sees the bookings on its departures. Each with its \`departure\` (route, mode, operator, asset, times).`,
  },
  'GET /api/bookings/summary': {
    operationId: 'summariseBookings',
    tag: 'bookings',
    description: `${ANY} Counts and sums over every booking the caller sees (GET /api/bookings stops at the newest \`listLimit\`): all bookings, the active ones, their TEU and CO2e against road.`,
  },
  'GET /api/bookings/:id/cancellation': { operationId: 'previewBookingCancellation', tag: 'bookings', description: 'The booking forwarder. What cancelling now would cost (fee, refund, the fee band).' },
  'DELETE /api/bookings/:id': {
    operationId: 'cancelBooking',
    tag: 'bookings',
    description: "The booking forwarder. Cancels the booking under the listing's fee rule; the capacity is offered again. Send an `Idempotency-Key` to retry safely.",
  },

  'POST /api/water-levels': { operationId: 'reportWaterLevel', tag: 'water-levels', description: 'Schedulers and the platform (and their API keys). Records a gauge reading and derates barge capacity.' },
  'GET /api/water-levels': { operationId: 'listWaterLevels', tag: 'water-levels', description: `${ANY} The latest level per gauge and the departures derated now.` },

  'POST /api/listings/:id/bids': {
    operationId: 'placeBid',
    tag: 'auctions',
    description: `${FWD} Bids on an ascending or sealed listing. Send an \`Idempotency-Key\` to retry safely. 409 \`auction_closed\`, \`bid_too_low\` (with \`minUnitPriceCents\`); 422 \`bid_too_high\` (with \`maxUnitPriceCents\`) for a unit price or auto-bid maximum above the listing's ceiling — 20× its reserve, at least €10,000 per TEU — taken for a typing error.`,
  },
  'GET /api/listings/:id/bids': { operationId: 'listBids', tag: 'auctions', description: 'The owning operator sees every bid; a forwarder only its own.' },
  'GET /api/auctions': {
    operationId: 'listAuctions',
    tag: 'auctions',
    description:
      `${ANY} Ascending and sealed listings still taking bids, soonest close first (at most 200), optionally of one origin (\`from\`), destination (\`to\`) ` +
      'or mode, with their departure and operator. Ascending: the lowest winning price, the minimum next bid and the bids in force; sealed: the reserve only — never a price or a count of bids before the close.',
  },
  'POST /api/bid-groups': {
    operationId: 'createBidGroup',
    tag: 'auctions',
    description: `${FWD} Places 2–5 bids on different auctions as one either-or group: when one of them wins, the others are withdrawn in the same transaction. The schema bounds \`bids\` loosely (1–20) so that a group of another size, or naming a listing twice, gets 400 \`invalid_bid_group\` with the rule in its message.`,
  },
  'GET /api/bid-groups': { operationId: 'listBidGroups', tag: 'auctions', description: `${FWD} The organisation's bid groups with the status of each bid.` },
  'GET /api/bid-groups/:id': { operationId: 'getBidGroup', tag: 'auctions', description: `${FWD} One of the organisation's bid groups.` },

  'GET /api/routes': { operationId: 'searchRoutes', tag: 'routes', description: FWD },

  'POST /api/itineraries': { operationId: 'createItinerary', tag: 'itineraries', description: `${FWD} Holds every leg of a chain (e.g. one found by \`searchRoutes\`) at once, or none.` },
  'GET /api/itineraries': { operationId: 'listItineraries', tag: 'itineraries', description: `${FWD} The organisation's itineraries, newest first.` },
  'GET /api/itineraries/:id': { operationId: 'getItinerary', tag: 'itineraries', description: `${FWD} One of the organisation's itineraries.` },
  'POST /api/itineraries/:id/confirm': { operationId: 'confirmItinerary', tag: 'itineraries', description: 'The holder. Books every leg of the held itinerary.' },
  'DELETE /api/itineraries/:id': { operationId: 'cancelItinerary', tag: 'itineraries', description: 'The holder. Releases a held itinerary or cancels a booked one.' },

  'POST /api/shipments': { operationId: 'createShipment', tag: 'shipments', description: `${FWD} Puts a shipment in the pool; the optimiser's next plan proposes an itinerary for it.` },
  'GET /api/shipments': { operationId: 'listShipments', tag: 'shipments', description: `${FWD} The organisation's shipments, optionally of one status.` },
  'GET /api/shipments/:id': { operationId: 'getShipment', tag: 'shipments', description: `${FWD} One of the organisation's shipments.` },
  'PATCH /api/shipments/:id': { operationId: 'updateShipment', tag: 'shipments', description: `${FWD} Changes a shipment still in the pool.` },
  'DELETE /api/shipments/:id': { operationId: 'withdrawShipment', tag: 'shipments', description: `${FWD} Takes a shipment out of the pool.` },

  'POST /api/optimisations': { operationId: 'runOptimisation', tag: 'optimisations', description: 'Schedulers. Queues an optimiser run; a worker solves it.' },
  'GET /api/optimisations': { operationId: 'listOptimisations', tag: 'optimisations', description: 'Schedulers (operators: their part). The latest runs, newest first.' },
  'GET /api/optimisations/:id': { operationId: 'getOptimisation', tag: 'optimisations', description: 'Schedulers (operators: their part). One run with its figures.' },

  'GET /api/proposals': { operationId: 'listProposals', tag: 'proposals', description: "Forwarders, operators and schedulers. The proposals of the optimiser's plans that concern the caller." },
  'POST /api/proposals/:id/accept': { operationId: 'acceptProposal', tag: 'proposals', description: "The proposal's forwarder or operator. Accepts it." },
  'POST /api/proposals/:id/decline': { operationId: 'declineProposal', tag: 'proposals', description: "The proposal's forwarder or operator. Declines it." },

  'GET /api/ledger/balance': { operationId: 'getLedgerBalance', tag: 'money', description: `${ANY} The organisation's ledger accounts and their balances (EUR cents).` },
  'GET /api/ledger/transfers': { operationId: 'listLedgerTransfers', tag: 'money', description: `${ANY} Recent ledger entries on the organisation's accounts, newest first.` },
  'GET /api/invoices': { operationId: 'listInvoices', tag: 'money', description: `${ANY} Invoices and credit notes the organisation issued or received, newest first, a page at a time (\`x-next-cursor\`); narrowed to one counterparty (\`counterpartyOrgId\`) and issue days (\`from\`, \`to\`, UTC, both included; 400 \`invalid_day\`, \`invalid_period\`).` },
  'GET /api/invoices.csv': { operationId: 'exportInvoicesCsv', tag: 'money', description: `${ANY} The invoice list as a CSV download, with the same filters as the list (\`counterpartyOrgId\`, \`from\`, \`to\`).` },
  'GET /api/invoices/counterparties': { operationId: 'listInvoiceCounterparties', tag: 'money', description: `${ANY} The organisations the caller has invoices with, by name, with how many: the choices of the list's \`counterpartyOrgId\` filter.` },
  'GET /api/invoices/:id': { operationId: 'getInvoice', tag: 'money', description: 'The issuer or the recipient. An invoice with its lines.' },
  'GET /api/invoices/:id/print': { operationId: 'printInvoice', tag: 'money', description: 'The issuer or the recipient. The invoice as print-ready HTML.' },

  'GET /api/stats/utilisation': { operationId: 'getUtilisation', tag: 'stats', description: 'Schedulers, platform, operators and forwarders, each in their scope.' },
  'GET /api/stats/kpis': { operationId: 'getKpis', tag: 'stats', description: 'Schedulers, platform, operators and forwarders, each in their scope.' },
  'GET /api/stats/price-index': { operationId: 'getPriceIndex', tag: 'stats', description: 'Schedulers, platform, operators and forwarders, each in their scope.' },
  'GET /api/stats/at-risk': { operationId: 'listAtRiskDepartures', tag: 'stats', description: 'Schedulers, platform and operators.' },
  'GET /api/stats/activity': { operationId: 'getMarketActivity', tag: 'stats', description: 'Schedulers, platform and operators (their own departures): bookings of the last minutes and the holds active now.' },

  'POST /api/webhooks': {
    operationId: 'createWebhookEndpoint',
    tag: 'webhooks',
    description: `${ADMIN} Registers an endpoint for the chosen event types; the signing secret (\`whsec_…\`) is in this answer only. 400 for a URL that is not https (outside development) or points at a forbidden address.`,
  },
  'GET /api/webhooks': { operationId: 'listWebhookEndpoints', tag: 'webhooks', description: `${ADMIN} The organisation's endpoints (never their secrets).` },
  'PATCH /api/webhooks/:id': { operationId: 'updateWebhookEndpoint', tag: 'webhooks', description: `${ADMIN} Changes an endpoint's URL, events, description or enabled state.` },
  'DELETE /api/webhooks/:id': { operationId: 'deleteWebhookEndpoint', tag: 'webhooks', description: `${ADMIN} Deletes an endpoint and its delivery log.` },
  'POST /api/webhooks/:id/rotate-secret': { operationId: 'rotateWebhookSecret', tag: 'webhooks', description: `${ADMIN} Issues a new signing secret; both sign during the overlap.` },
  'POST /api/webhooks/:id/ping': { operationId: 'pingWebhookEndpoint', tag: 'webhooks', description: `${ADMIN} Queues a \`ping\` event to the endpoint (a test delivery).` },
  'GET /api/webhooks/:id/deliveries': { operationId: 'listWebhookDeliveries', tag: 'webhooks', description: `${ADMIN} The endpoint's delivery log: status, response code, duration, attempts, next attempt.` },
  'POST /api/webhooks/:id/deliveries/:deliveryId/redeliver': {
    operationId: 'redeliverWebhookDelivery',
    tag: 'webhooks',
    description: `${ADMIN} Delivers the event again with the same event id (receivers deduplicate on it).`,
  },

  'POST /api/watches': { operationId: 'createWatch', tag: 'watches', description: `${FWD} Saves a search; matching capacity is told live (\`watch:match\`), in the list and by webhook (\`watch.matched\`).` },
  'GET /api/watches': { operationId: 'listWatches', tag: 'watches', description: `${FWD} The organisation's watches with their latest matches.` },
  'DELETE /api/watches/:id': { operationId: 'deleteWatch', tag: 'watches', description: `${FWD} Deletes one of the organisation's watches.` },
  'GET /api/offers': { operationId: 'listOffers', tag: 'watches', description: `${FWD} The organisation's open offers: freed capacity for its watches and pooled shipments, and first refusal on a rail alternative for a booking low water moved off its barge (\`movedBookingId\`).` },
  'POST /api/offers/:id/accept': { operationId: 'acceptOffer', tag: 'watches', description: "The offeree (forwarder). Turns the offer into a hold at the offered price; an offer for a pooled shipment takes the shipment's TEU and tonnes unless told otherwise, and takes the shipment out of the pool." },
  'POST /api/offers/:id/decline': { operationId: 'declineOffer', tag: 'watches', description: 'The offeree (forwarder). The next in line is offered at once.' },
  'POST /api/bookings/:id/no-show': { operationId: 'markNoShow', tag: 'bookings', description: `The departure's operator. Cancels the booking with its whole price as the fee; its capacity is re-offered.` },
  'GET /api/departures/:id/manifest': { operationId: 'getDepartureManifest', tag: 'departures', description: `${OPS} Who rides on one of the operator's departures (the platform sees all): every booking with its customer, TEU, tonnes, price, status, reference, cargo as declared and what ended it; the active holds with their expiry; and the totals (booked, held, fees, dangerous-goods bookings).` },
  'GET /api/departures/:id/offer-chains': { operationId: 'listDepartureOffers', tag: 'departures', description: `${OPS} The re-offer chains of one of the operator's departures (the platform sees all).` },
};
