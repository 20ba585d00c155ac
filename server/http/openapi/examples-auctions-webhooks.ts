/** Examples of auctions, bid groups and webhooks (see ./examples.ts). */
import type { OperationExamples } from './examples.ts';

export const AUCTION_WEBHOOK_EXAMPLES: Record<string, OperationExamples> = {
  createWebhookEndpoint: {
    request: {
      url: 'https://tms.example.com/hooks/cluster-exchange',
      events: ['booking.confirmed', 'booking.cancelled', 'hold.expired'],
      description: 'TMS production',
    },
    responses: {
      201: {
        id: '8d78276c-8576-499b-8526-cf98795aa586',
        url: 'https://tms.example.com/hooks/cluster-exchange',
        events: ['booking.confirmed', 'booking.cancelled', 'hold.expired'],
        description: 'TMS production',
        enabled: true,
        disabledReason: null,
        disabledAt: null,
        consecutiveFailures: 0,
        previousSecretExpiresAt: null,
        createdAt: '2025-06-02T08:00:01.000Z',
        secret: 'whsec_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx',
      },
    },
  },
  listWebhookEndpoints: {
    responses: {
      200: [
        {
          id: '8d78276c-8576-499b-8526-cf98795aa586',
          url: 'https://tms.example.com/hooks/cluster-exchange',
          events: ['booking.confirmed', 'booking.cancelled', 'hold.expired'],
          description: 'TMS production',
          enabled: true,
          disabledReason: null,
          disabledAt: null,
          consecutiveFailures: 0,
          previousSecretExpiresAt: null,
          createdAt: '2025-06-02T08:00:01.000Z',
        },
      ],
    },
  },
  rotateWebhookSecret: {
    request: { overlapHours: 24 },
    responses: { 200: { secret: 'whsec_yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy', previousSecretExpiresAt: '2025-06-03T08:00:01.000Z' } },
  },
  pingWebhookEndpoint: { responses: { 202: { deliveryId: '211e6778-0352-4668-8e3e-f3f4cb186a7b', eventId: '5f68ed5d-4467-4398-8742-c5a47dbe4ee1' } } },
  listWebhookDeliveries: {
    responses: {
      200: [
        {
          id: '211e6778-0352-4668-8e3e-f3f4cb186a7b',
          eventId: '5f68ed5d-4467-4398-8742-c5a47dbe4ee1',
          type: 'ping',
          status: 'succeeded',
          responseCode: 200,
          durationMs: 84,
          attempts: 1,
          nextAttemptAt: null,
          createdAt: '2025-06-02T08:00:01.000Z',
          finishedAt: '2025-06-02T08:00:01.000Z',
          lastError: null,
          responseBody: 'ok',
          redeliveryOf: null,
        },
      ],
    },
  },
  redeliverWebhookDelivery: { responses: { 202: { deliveryId: 'fcba6389-49b8-4aad-80c9-0be6c8c3e4c3', eventId: '5f68ed5d-4467-4398-8742-c5a47dbe4ee1' } } },
  listAuctions: {
    responses: {
      200: [
        {
          listingId: 'd103b57a-ca4b-4857-80ca-c77cfe633ea3',
          format: 'ascending',
          teu: 20,
          remainingTeu: 20,
          closesAt: '2025-06-03T08:00:01.000Z',
          departureId: 'eccad799-7859-4937-8dd8-b8bacf79ea08',
          departsAt: '2025-06-05T11:39:00.000Z',
          corridorId: '9eb811c0-2113-42b5-892c-db847d06f739',
          mode: 'barge',
          origin: 'BEANR',
          destination: 'DEDUI',
          assetName: 'Rhine barge Jowi 7',
          operatorOrgId: '4274319d-264f-4015-80f4-9c991fff2c96',
          operatorName: 'Rhine Cargo Rail',
          reservePriceCents: 40_000,
          currentPriceCents: 42_500,
          minNextBidCents: 43_000,
          bidCount: 3,
        },
        {
          listingId: '89f84561-303d-4f89-8181-84daf42cf21e',
          format: 'sealed',
          teu: 20,
          remainingTeu: 20,
          closesAt: '2025-06-03T09:30:00.000Z',
          departureId: 'c267c1fb-6fa4-4865-89a1-a5b308cbf55a',
          departsAt: '2025-06-05T11:39:00.000Z',
          corridorId: '9eb811c0-2113-42b5-892c-db847d06f739',
          mode: 'barge',
          origin: 'BEANR',
          destination: 'DEDUI',
          assetName: 'Rhine barge Jowi 8',
          operatorOrgId: '4274319d-264f-4015-80f4-9c991fff2c96',
          operatorName: 'Rhine Cargo Rail',
          reservePriceCents: 40_000,
          minNextBidCents: 40_000,
        },
      ],
    },
  },
  placeBid: {
    request: { teu: 2, unitPriceCents: 45_000 },
    responses: {
      201: {
        id: 'f90cd520-12e3-4d10-8ae5-7c42c2001e97',
        status: 'leading',
        closesAt: '2025-06-03T08:00:01.000Z',
        unitPriceCents: 45_000,
        minNextBidCents: 40_000,
        allocatedTeu: 2,
      },
    },
  },
  createBidGroup: {
    request: {
      bids: [
        { listingId: '89f84561-303d-4f89-8181-84daf42cf21e', teu: 2, unitPriceCents: 45_000 },
        { listingId: '81ec0650-8ff8-44e7-838c-5d660740973a', teu: 2, unitPriceCents: 45_000 },
      ],
    },
    responses: {
      201: {
        id: '3d67dc25-59e9-40c0-8cbb-3a927ff558fb',
        status: 'open',
        bids: [
          {
            id: '7f8e9395-821a-4998-8ae3-98a0972e227c',
            listingId: '89f84561-303d-4f89-8181-84daf42cf21e',
            status: 'leading',
            closesAt: '2025-06-03T08:00:01.000Z',
            unitPriceCents: 45_000,
            allocatedTeu: 2,
            minNextBidCents: 40_000,
          },
          {
            id: 'f9329a6b-4e1d-43a7-8928-84b7d78930a5',
            listingId: '81ec0650-8ff8-44e7-838c-5d660740973a',
            status: 'sealed',
            closesAt: '2025-06-03T08:00:01.000Z',
            unitPriceCents: 45_000,
          },
        ],
      },
    },
  },
};
