/**
 * The pool (issue 13): a forwarder's shipment requests (`/api/shipments`) with the proposals the optimiser's plans
 * make for them (`/api/proposals`), and an operator's proposals on its departures (cancel an empty one).
 *
 * Freshness: a new plan sends `proposal:new` to every organisation it proposes something to (their org room,
 * joined automatically): the lists are read again then, and after every reconnect (`live.onSync`: events while
 * away are gone). Accept books the itinerary (or cancels the departure) on the server; a 409 `proposal_stale`
 * (capacity sold meanwhile: nothing booked, the shipment back in the pool) or `proposal_closed` (a newer plan)
 * is shown on the shipment, and the lists are read again.
 *
 * The legs of a proposal name departures by id: `DepartureInfo` reads each once (`GET /api/departures/:id`) to
 * show its clusters and times.
 */
import { api, ApiError, errorMessage, newIdempotencyKey } from './api';
import { live } from './live.svelte';
import type { Departure, Proposal, ProposalNewEvent, Shipment } from './types';
import {
  apiErrorText, apiFieldError, currentProposal, departureDecisionText, mergeAnswerText, mergeRequests, refusalText, sortShipments, type PoolBody, type PoolField,
} from './pool-data';

export * from './pool-data';

/** Departures read by id, once each (null: could not be read). */
export class DepartureInfo {
  byId = $state<Record<string, Departure | null>>({});
  #pending = new Set<string>();

  /** Reads the departures not known yet (a few at a time). */
  async ensure(ids: Iterable<string>) {
    const todo = [...new Set(ids)].filter((id) => !(id in this.byId) && !this.#pending.has(id));
    for (const id of todo) this.#pending.add(id);
    const queue = [...todo];
    const worker = async () => {
      for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
        try {
          this.byId[id] = await api.get<Departure>(`/departures/${encodeURIComponent(id)}`);
        } catch {
          this.byId[id] = null;
        } finally {
          this.#pending.delete(id);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(4, queue.length) }, worker));
  }

  get(id: string | null | undefined): Departure | null {
    return id ? (this.byId[id] ?? null) : null;
  }
}

export type ShipmentNotice = { kind: 'booked'; itineraryId: string } | { kind: 'refused'; text: string; stale: boolean } | { kind: 'declined' };

export class PoolState {
  shipments = $state<Shipment[]>([]);
  proposals = $state<Proposal[]>([]);
  status = $state<'loading' | 'ready' | 'error'>('loading');
  error = $state<string | null>(null);
  /** a background re-read failed: the last lists stay on screen */
  staleError = $state<string | null>(null);
  refreshing = $state(false);
  /** completed reads (tests and the page can tell a re-read happened) */
  reads = $state(0);
  /** the proposal or shipment an action runs on */
  busy = $state<string | null>(null);
  /** per shipment: what the last action on it did (booked, refused, declined) or why it failed */
  notices = $state<Record<string, ShipmentNotice>>({});
  actionError = $state<{ id: string; text: string } | null>(null);
  /** a new plan arrived while the page was open */
  newPlan = $state(false);

  // ---- the form ----
  posting = $state(false);
  postErrors = $state<Partial<Record<PoolField, string>>>({});
  postError = $state<string | null>(null);
  posted = $state<Shipment | null>(null);

  readonly departures = new DepartureInfo();
  sorted = $derived(sortShipments(this.shipments));
  /** shipment id → the proposal it shows */
  current = $derived(new Map(this.shipments.map((s) => [s.id, currentProposal(s.id, this.proposals)] as const)));
  openCount = $derived(this.proposals.filter((p) => p.kind === 'shipment' && p.status === 'open').length);
  /** merges of departures that would move this forwarder's bookings (asked once their operator accepted) */
  merges = $derived(mergeRequests(this.proposals));
  /** per merge: what the last answer did or why it was refused */
  mergeNotices = $state<Record<string, { ok: boolean; text: string }>>({});

  #token = 0;
  #fetchStartedAt = 0;
  #postKey: { key: string; body: string } | null = null;

  async load(silent = false) {
    const token = ++this.#token;
    if (silent && this.status === 'ready') this.refreshing = true;
    else if (!silent) {
      this.status = 'loading';
      this.error = null;
    }
    try {
      this.#fetchStartedAt = Date.now();
      const [shipments, proposals] = await Promise.all([api.get<Shipment[]>('/shipments'), api.get<Proposal[]>('/proposals')]);
      if (token !== this.#token) return;
      this.shipments = shipments;
      this.proposals = proposals;
      this.status = 'ready';
      this.staleError = null;
      this.reads++;
      void this.departures.ensure(proposals.flatMap((p) => (p.status === 'open' || p.status === 'accepted' ? p.legs.map((l) => l.departureId) : [])));
      void this.departures.ensure(mergeRequests(proposals).flatMap((p) => [p.departureId!, p.mergeIntoDepartureId!]));
    } catch (e) {
      if (token !== this.#token) return;
      if (e instanceof ApiError && e.status === 401) return;
      if (this.status === 'ready') this.staleError = errorMessage(e);
      else {
        this.status = 'error';
        this.error = errorMessage(e);
      }
    } finally {
      if (token === this.#token) this.refreshing = false;
    }
  }

  /** In a page's `$effect`: re-reads on `proposal:new` and after a reconnect; returns the teardown. */
  keepLive(): () => void {
    const offNew = live.on('proposal:new', (e: ProposalNewEvent) => {
      if (!e?.optimisationId && !e?.proposalId) return;
      if (e.optimisationId) this.newPlan = true;
      void this.load(true);
    });
    const offUpdate = live.on('proposal:update', () => void this.load(true));
    const offSync = live.onSync(() => {
      if (this.#fetchStartedAt < live.lastSyncAt) void this.load(true);
    });
    return () => {
      offNew();
      offUpdate();
      offSync();
      this.#token++;
    };
  }

  /** A forwarder's answer to a merge that would move its bookings: they move once every forwarder asked agrees. */
  async answerMerge(p: Proposal, accept: boolean): Promise<boolean> {
    if (this.busy) return false;
    this.busy = p.id;
    delete this.mergeNotices[p.id];
    try {
      const r = await api.post<Proposal>(`/proposals/${encodeURIComponent(p.id)}/${accept ? 'accept' : 'decline'}`, {});
      this.mergeNotices[p.id] = { ok: true, text: mergeAnswerText(r, accept) };
      return true;
    } catch (e) {
      this.mergeNotices[p.id] = { ok: false, text: e instanceof ApiError && e.status === 409 ? refusalText(e.code, e.message, 'departure') : errorMessage(e) };
      return false;
    } finally {
      await this.load(true);
      this.busy = null;
    }
  }

  /** `POST /api/shipments`; a 400 is placed next to its field. */
  async create(body: PoolBody): Promise<boolean> {
    if (this.posting) return false;
    this.posting = true;
    this.postErrors = {};
    this.postError = null;
    this.posted = null;
    const bodyStr = JSON.stringify(body);
    if (!this.#postKey || this.#postKey.body !== bodyStr) this.#postKey = { key: newIdempotencyKey(), body: bodyStr };
    try {
      const s = await api.post<Shipment>('/shipments', body, { idempotencyKey: this.#postKey.key });
      this.#postKey = null;
      this.posted = s;
      this.shipments = [s, ...this.shipments.filter((x) => x.id !== s.id)];
      return true;
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 0)) this.#postKey = null;
      if (e instanceof ApiError && e.status === 400) {
        const field = apiFieldError(e.code, e.message);
        if (field) this.postErrors = { [field]: apiErrorText(e.message) };
        else this.postError = apiErrorText(e.message);
      } else this.postError = errorMessage(e);
      return false;
    } finally {
      this.posting = false;
    }
  }

  dismissPosted() {
    this.posted = null;
  }

  /** `DELETE /api/shipments/:id` at the version shown. */
  async withdraw(s: Shipment): Promise<boolean> {
    return this.#act(s.id, s.id, async () => {
      const updated = await api.del<Shipment>(`/shipments/${encodeURIComponent(s.id)}`, { query: { expectVersion: s.version } });
      if (updated?.id) this.#replace(updated);
    });
  }

  async accept(p: Proposal): Promise<boolean> {
    return this.#act(p.id, p.shipmentId ?? p.id, async () => {
      const answer = await api.post<Proposal>(`/proposals/${encodeURIComponent(p.id)}/accept`, {});
      if (answer?.itineraryId && p.shipmentId) this.notices[p.shipmentId] = { kind: 'booked', itineraryId: answer.itineraryId };
    });
  }

  async decline(p: Proposal): Promise<boolean> {
    return this.#act(p.id, p.shipmentId ?? p.id, async () => {
      await api.post<Proposal>(`/proposals/${encodeURIComponent(p.id)}/decline`, {});
      if (p.shipmentId) this.notices[p.shipmentId] = { kind: 'declined' };
    });
  }

  /** One action at a time; then the lists are read again (statuses moved on the server). */
  async #act(busyId: string, noticeId: string, run: () => Promise<void>): Promise<boolean> {
    if (this.busy) return false;
    this.busy = busyId;
    this.actionError = null;
    delete this.notices[noticeId];
    try {
      await run();
      return true;
    } catch (e) {
      if (e instanceof ApiError && e.status === 409 && (e.code === 'proposal_stale' || e.code === 'proposal_closed'))
        this.notices[noticeId] = { kind: 'refused', text: refusalText(e.code, e.message), stale: e.code === 'proposal_stale' };
      else this.actionError = { id: noticeId, text: errorMessage(e) };
      return false;
    } finally {
      await this.load(true);
      this.busy = null;
    }
  }

  #replace(s: Shipment) {
    const i = this.shipments.findIndex((x) => x.id === s.id);
    if (i >= 0) this.shipments[i] = s;
  }
}

/**
 * An operator's proposals on its departures (`GET /api/proposals` as an operator): cancel an empty departure.
 * Accept cancels it (only while nobody is on it), decline keeps it running.
 */
export class DepartureProposals {
  items = $state<Proposal[]>([]);
  status = $state<'loading' | 'ready' | 'error'>('loading');
  error = $state<string | null>(null);
  busy = $state<string | null>(null);
  notices = $state<Record<string, { ok: boolean; text: string }>>({});
  readonly departures = new DepartureInfo();
  /** to decide (open) or being decided (a merge waiting for its forwarders' consent) */
  open = $derived(this.items.filter((p) => p.kind === 'departure' && (p.status === 'open' || p.status === 'consenting')));
  /** the last decided ones (accepted, declined, stale), the latest decision first, a few */
  recent = $derived(
    this.items
      .filter((p) => p.kind === 'departure' && p.status !== 'open' && p.status !== 'consenting' && p.status !== 'superseded')
      .sort((a, b) => Date.parse(b.decidedAt ?? b.createdAt) - Date.parse(a.decidedAt ?? a.createdAt))
      .slice(0, 5),
  );
  #token = 0;
  #fetchStartedAt = 0;

  async load(silent = false) {
    const token = ++this.#token;
    if (!silent) {
      this.status = 'loading';
      this.error = null;
    }
    try {
      this.#fetchStartedAt = Date.now();
      const list = await api.get<Proposal[]>('/proposals');
      if (token !== this.#token) return;
      this.items = list;
      this.status = 'ready';
      void this.departures.ensure(
        list.filter((p) => p.departureId && p.status !== 'superseded').flatMap((p) => [p.departureId!, ...(p.mergeIntoDepartureId ? [p.mergeIntoDepartureId] : [])]),
      );
    } catch (e) {
      if (token !== this.#token) return;
      if (e instanceof ApiError && e.status === 401) return;
      if (silent && this.status === 'ready') return;
      this.status = 'error';
      this.error = errorMessage(e);
    }
  }

  keepLive(): () => void {
    const offNew = live.on('proposal:new', () => void this.load(true));
    const offUpdate = live.on('proposal:update', () => void this.load(true));
    const offSync = live.onSync(() => {
      if (this.#fetchStartedAt < live.lastSyncAt) void this.load(true);
    });
    return () => {
      offNew();
      offUpdate();
      offSync();
      this.#token++;
    };
  }

  async decide(p: Proposal, accept: boolean) {
    if (this.busy) return;
    this.busy = p.id;
    delete this.notices[p.id];
    try {
      await api.post<Proposal>(`/proposals/${encodeURIComponent(p.id)}/${accept ? 'accept' : 'decline'}`, {});
      this.notices[p.id] = { ok: true, text: departureDecisionText(p, accept) };
    } catch (e) {
      const text = e instanceof ApiError && e.status === 409 ? refusalText(e.code, e.message, 'departure') : errorMessage(e);
      this.notices[p.id] = { ok: false, text };
    } finally {
      await this.load(true);
      this.busy = null;
    }
  }
}
