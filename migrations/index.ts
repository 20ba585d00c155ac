import type { Migration } from 'kysely';
import * as m20261129T1600 from './20261129T1600_initial.ts';
import * as m20261129T1700 from './20261129T1700_auctions_ledger.ts';
import * as m20261129T1800 from './20261129T1800_hold_batch.ts';
import * as m20261129T1900 from './20261129T1900_hold_batch_multi.ts';
import * as m20261203T0900 from './20261203T0900_hardening_capacity.ts';
import * as m20261203T1000 from './20261203T1000_idempotency_purge.ts';
import * as m20261203T1200 from './20261203T1200_app_role_grants.ts';
import * as m20261203T1300 from './20261203T1300_stats_rollups.ts';
import * as m20261203T1400 from './20261203T1400_stats_corridor_day.ts';
import * as m20261203T1500 from './20261203T1500_itineraries.ts';
import * as m20261203T1600 from './20261203T1600_stats_settled_version.ts';
import * as m20261203T1650 from './20261203T1650_stats_settled_departures.ts';
import * as m20261203T1700 from './20261203T1700_pooling.ts';
import * as m20261203T1800 from './20261203T1800_optimisations.ts';
import * as m20261203T1900 from './20261203T1900_pool_merges.ts';
import * as m20261203T2000 from './20261203T2000_webhooks.ts';
import * as m20261203T2100 from './20261203T2100_bid_groups.ts';
import * as m20261203T2200 from './20261203T2200_watches_offers.ts';
import * as m20261203T2300 from './20261203T2300_water_levels.ts';
import * as m20261204T0000 from './20261204T0000_offerees.ts';
import * as m20261204T0100 from './20261204T0100_shipment_offer_once.ts';
import * as m20261204T0500 from './20261204T0500_holds_active_departure_org.ts';
import * as m20261204T1200 from './20261204T1200_ledger_balance_per_statement.ts';
import * as m20261204T1500 from './20261204T1500_ledger_parents_per_statement.ts';
import * as m20261205T1000 from './20261205T1000_bookings_created_at.ts';
import * as m20261205T1200 from './20261205T1200_plan_proposals.ts';
import * as m20261205T1300 from './20261205T1300_invoice_issue_time_order.ts';

/** Every migration, by its sortable name. A test checks that each file in this folder is listed. */
export const migrations: Record<string, Migration> = {
  '20261129T1600_initial': m20261129T1600,
  '20261129T1700_auctions_ledger': m20261129T1700,
  '20261129T1800_hold_batch': m20261129T1800,
  '20261129T1900_hold_batch_multi': m20261129T1900,
  '20261203T0900_hardening_capacity': m20261203T0900,
  '20261203T1000_idempotency_purge': m20261203T1000,
  '20261203T1200_app_role_grants': m20261203T1200,
  '20261203T1300_stats_rollups': m20261203T1300,
  '20261203T1400_stats_corridor_day': m20261203T1400,
  '20261203T1500_itineraries': m20261203T1500,
  '20261203T1600_stats_settled_version': m20261203T1600,
  '20261203T1650_stats_settled_departures': m20261203T1650,
  '20261203T1700_pooling': m20261203T1700,
  '20261203T1800_optimisations': m20261203T1800,
  '20261203T1900_pool_merges': m20261203T1900,
  '20261203T2000_webhooks': m20261203T2000,
  '20261203T2100_bid_groups': m20261203T2100,
  '20261203T2200_watches_offers': m20261203T2200,
  '20261203T2300_water_levels': m20261203T2300,
  '20261204T0000_offerees': m20261204T0000,
  '20261204T0100_shipment_offer_once': m20261204T0100,
  '20261204T0500_holds_active_departure_org': m20261204T0500,
  '20261204T1200_ledger_balance_per_statement': m20261204T1200,
  '20261204T1500_ledger_parents_per_statement': m20261204T1500,
  '20261205T1000_bookings_created_at': m20261205T1000,
  '20261205T1200_plan_proposals': m20261205T1200,
  '20261205T1300_invoice_issue_time_order': m20261205T1300,
};
