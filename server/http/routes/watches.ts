import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Context } from '../../context.ts';
import { principalOf } from '../plugins/auth.ts';
import { errors, IdParams } from '../../domain/schemas/common.ts';
import { Booking, Hold } from '../../domain/schemas/trade.ts';
import { AcceptOfferBody, DepartureOffers, NewWatchBody, Offer, Watch, WatchCreated } from '../../domain/schemas/watches.ts';

/** Watches, offers of freed capacity and no-shows (issue 14; README "Watches and cascade re-offers"). Handlers stay thin. */
export const watchRoutes: FastifyPluginAsyncTypebox<{ ctx: Context }> = async (app, { ctx }) => {
  const { watches, offers } = ctx.services;

  app.post(
    '/api/watches',
    {
      schema: {
        tags: ['watches'],
        summary: 'Watch for capacity (forwarder): told live, in the list and by webhook when matching capacity appears',
        description: '400 `unknown_cluster`, `same_cluster`, `unknown_corridor`, `invalid_window` (departsBefore before departsAfter); 409 `too_many_watches`.',
        body: NewWatchBody,
        response: { 201: WatchCreated, ...errors(400, 401, 403, 409) },
      },
    },
    async (req, reply) => reply.status(201).send(await watches.create(principalOf(req), req.body)),
  );

  app.get(
    '/api/watches',
    {
      schema: {
        tags: ['watches'],
        summary: "My organisation's watches, each with its latest matches (the notification list)",
        response: { 200: Type.Array(Watch), ...errors(401, 403) },
      },
    },
    async (req) => watches.list(principalOf(req)),
  );

  app.delete(
    '/api/watches/:id',
    {
      schema: {
        tags: ['watches'],
        summary: 'Stop watching (an offer already open stays open)',
        params: IdParams,
        response: { 204: Type.Null(), ...errors(400, 401, 403, 404) },
      },
    },
    async (req, reply) => {
      await watches.remove(principalOf(req), req.params.id);
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/api/offers',
    {
      schema: {
        tags: ['watches'],
        summary: "My organisation's open offers of freed capacity (exclusive until expiresAt)",
        response: { 200: Type.Array(Offer), ...errors(401, 403) },
      },
    },
    async (req) => offers.list(principalOf(req)),
  );

  app.post(
    '/api/offers/:id/accept',
    {
      schema: {
        tags: ['watches'],
        summary: 'Accept an offer: a hold at the offered price (the offeree)',
        description:
          'Fewer TEU than offered may be taken (the rest goes back on the open board). 400 `invalid_quantity`; 409 `offer_expired` (too late: ' +
          'it went to the next in line), `offer_not_open`, and the refusals of a hold (`hold_share_exceeded`, `past_cutoff`, `listing_closed`).',
        params: IdParams,
        body: Type.Optional(AcceptOfferBody),
        response: { 201: Hold, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (req, reply) => reply.status(201).send(await offers.accept(principalOf(req), req.params.id, req.body ?? {})),
  );

  app.post(
    '/api/offers/:id/decline',
    {
      schema: {
        tags: ['watches'],
        summary: 'Decline an offer: the next in line is offered at once (the offeree)',
        description: '409 `offer_expired` or `offer_not_open` once it is no longer open; declining twice is 204.',
        params: IdParams,
        response: { 204: Type.Null(), ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (req, reply) => {
      await offers.decline(principalOf(req), req.params.id);
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/api/bookings/:id/no-show',
    {
      schema: {
        tags: ['operator'],
        summary: "Mark a booking not delivered (the departure's operator): cancelled with a 100 % fee, its capacity re-offered",
        description:
          "Another operator's booking is 404. 409 `booking_not_active`, `departed` (after the departure left), `part_of_itinerary`. " +
          'Capacity freed before the cut-off is offered to matching watches first, else it goes back to its listing.',
        params: IdParams,
        response: { 200: Booking, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (req) => offers.noShow(principalOf(req), req.params.id),
  );

  app.get(
    '/api/departures/:id/offer-chains',
    {
      schema: {
        tags: ['operator'],
        summary: "A departure's re-offer chains: who was offered its freed capacity, in which order, with which outcome (its operator)",
        description: "Another operator's departure is 404 (these are the operator's own figures).",
        params: IdParams,
        response: { 200: DepartureOffers, ...errors(400, 401, 403, 404) },
      },
    },
    async (req) => offers.ofDeparture(principalOf(req), req.params.id),
  );
};
