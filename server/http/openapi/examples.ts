import { AUCTION_WEBHOOK_EXAMPLES } from './examples-auctions-webhooks.ts';
import { PLANNING_EXAMPLES } from './examples-planning.ts';
import { TRADE_EXAMPLES } from './examples-trade.ts';

/**
 * Request and response examples of the main operations, keyed by operationId (./catalog.ts): answers of a real
 * run against the demo network (ids, times and secrets replaced). test/integration/openapi-client.test.ts checks
 * every example against the operation's published schema, so an example cannot drift from its schema.
 */
export interface OperationExamples {
  /** The request body. */
  request?: unknown;
  /** The answer, per status. */
  responses?: Record<number, unknown>;
}

export const EXAMPLES: Record<string, OperationExamples> = { ...TRADE_EXAMPLES, ...PLANNING_EXAMPLES, ...AUCTION_WEBHOOK_EXAMPLES };
