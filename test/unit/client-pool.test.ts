import { describe, expect, it } from 'vitest';
import {
  apiErrorText, apiFieldError, canWithdraw, checkPoolForm, co2VsRoad, currentProposal, defaultPoolForm, fmtMs, fmtPct, fmtShare, fromUtcInput,
  improvementPct, isActive, progressShare, progressText, proposalSaving, refusalText, sortShipments, toUtcInput, type PoolFormValues,
} from '../../client/src/lib/pool-data.ts';
import type { Proposal, Shipment } from '../../client/src/lib/types.ts';

const T0 = Date.parse('2026-03-02T08:20:00Z');
const H = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();

function form(o: Partial<PoolFormValues> = {}): PoolFormValues {
  return { ...defaultPoolForm(T0), from: 'DEDUI', to: 'ITBLQ', maxTotalEur: 5000, ...o };
}

function proposal(o: Partial<Proposal> = {}): Proposal {
  return {
    id: 'p1', optimisationId: 'o1', kind: 'shipment', status: 'open', shipmentId: 's1', departureId: null, action: null,
    legs: [{ departureId: 'd1', listingId: 'l1', unitPriceCents: 40_000 }], teu: 2, tonnes: 24, priceCents: 90_000, standaloneCents: 120_000,
    shareCents: 5_000, savingCents: 35_000, co2eKg: 400, roadCo2eKg: 1600, capacityTeu: null, minLoadTeu: null, loadBeforeTeu: null, loadAfterTeu: null,
    mergeIntoDepartureId: null, operatingSavingCents: null, targetLoadBeforeTeu: null, targetLoadAfterTeu: null, movedBookings: [], itineraryId: null,
    reason: null, createdAt: iso(T0), decidedAt: null, ...o,
  };
}

function shipment(o: Partial<Shipment> = {}): Shipment {
  return {
    id: 's1', from: 'DEDUI', to: 'ITBLQ', teu: 2, tonnes: 24, readyAt: iso(T0), deliverBy: iso(T0 + 100 * H), maxTotalCents: 500_000, modes: ['rail'],
    consolidate: true, status: 'pooled', version: 1, reference: null, itineraryId: null, createdAt: iso(T0), updatedAt: iso(T0), ...o,
  };
}

describe('client: the "Pool a shipment" form', () => {
  it('defaults: ready at the next full hour, delivered 6 days later, 2 TEU / 24 t, both modes, consolidated, no price', () => {
    const f = defaultPoolForm(T0);
    expect(f.readyAt).toBe('2026-03-02T09:00');
    expect(f.deliverBy).toBe('2026-03-08T09:00');
    expect([f.teu, f.tonnes, f.rail, f.barge, f.consolidate, f.maxTotalEur]).toEqual([2, 24, true, true, true, null]);
    expect(toUtcInput('2026-03-02T08:20:30Z')).toBe('2026-03-02T08:20');
    expect(fromUtcInput('2026-03-02T08:20')).toBe('2026-03-02T08:20:00.000Z');
    expect(fromUtcInput('2026-03-02')).toBeNull();
  });

  it('builds the body: UTC instants, the price in cents, the modes chosen, the reference trimmed or left out', () => {
    const r = checkPoolForm(form({ barge: false, maxTotalEur: 4321.5, reference: '  PO-7 ' }));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.body).toEqual({
      from: 'DEDUI', to: 'ITBLQ', teu: 2, tonnes: 24, readyAt: '2026-03-02T09:00:00.000Z', deliverBy: '2026-03-08T09:00:00.000Z', maxTotalCents: 432_150,
      modes: ['rail'], consolidate: true, reference: 'PO-7',
    });
    const r2 = checkPoolForm(form({ consolidate: false }));
    expect(r2.ok && r2.body.reference).toBe(undefined);
    expect(r2.ok && r2.body.consolidate).toBe(false);
  });

  it('one message per bad field', () => {
    const r = checkPoolForm(form({ from: '', to: '', teu: 1.5, tonnes: 0, readyAt: '', deliverBy: 'x', maxTotalEur: null, rail: false, barge: false }));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(Object.keys(r.errors).sort()).toEqual(['deliverBy', 'from', 'maxTotalEur', 'modes', 'readyAt', 'teu', 'to', 'tonnes'].sort());
    const same = checkPoolForm(form({ to: 'DEDUI' }));
    expect(!same.ok && same.errors.to).toMatch(/differ/);
    const order = checkPoolForm(form({ deliverBy: form().readyAt }));
    expect(!order.ok && order.errors.deliverBy).toMatch(/after ready-at/);
    for (const maxTotalEur of [0, -5, 0.001, Number.NaN]) expect(checkPoolForm(form({ maxTotalEur })).ok, String(maxTotalEur)).toBe(false);
    expect(checkPoolForm(form({ teu: 10_000 })).ok).toBe(false);
    expect(checkPoolForm(form({ teu: 500, tonnes: 6000 })).ok).toBe(true);
  });

  it("places the API's 400s next to their field", () => {
    expect(apiFieldError('deliver_by_past', 'deliverBy must be in the future')).toBe('deliverBy');
    expect(apiFieldError('invalid_window', 'deliverBy must be after readyAt')).toBe('deliverBy');
    expect(apiFieldError('window_too_long', 'the window …')).toBe('deliverBy');
    expect(apiFieldError('ready_too_late', 'readyAt may be at most 366 days ahead')).toBe('readyAt');
    expect(apiFieldError('same_cluster', 'from and to must be different clusters')).toBe('to');
    expect(apiFieldError('unknown_cluster', 'to: XXX is not a cluster of the network')).toBe('to');
    expect(apiFieldError('unknown_cluster', 'from: XXX is not a cluster of the network')).toBe('from');
    expect(apiFieldError('invalid_quantity', 'at least 1 t per TEU')).toBe('tonnes');
    expect(apiFieldError('invalid_price', 'maxTotalCents must be …')).toBe('maxTotalEur');
    // schema refusals name the property
    expect(apiFieldError('invalid_input', 'body/teu must be <= 500')).toBe('teu');
    expect(apiFieldError('invalid_input', 'body/tonnes must be >= 1')).toBe('tonnes');
    expect(apiFieldError('invalid_input', 'body/maxTotalCents must be >= 1')).toBe('maxTotalEur');
    expect(apiFieldError('invalid_input', "body must have required property 'deliverBy'")).toBe('deliverBy');
    expect(apiFieldError('rate_limited', 'too many requests')).toBeNull();
    expect(apiErrorText('body/teu must be <= 500')).toBe('TEU must be <= 500.');
    expect(apiErrorText('deliverBy must be in the future')).toBe('Deliver-by must be in the future.');
    expect(apiErrorText('')).toBe('The request was not valid.');
  });
});

describe('client: shipments and their proposals', () => {
  it('a shipment shows its newest proposal, none when the newest plan superseded it', () => {
    const old = proposal({ id: 'p-old', status: 'superseded', createdAt: iso(T0) });
    const cur = proposal({ id: 'p-new', status: 'open', createdAt: iso(T0 + H) });
    const other = proposal({ id: 'p-other', shipmentId: 's2', createdAt: iso(T0 + 2 * H) });
    const dep = proposal({ id: 'p-dep', kind: 'departure', shipmentId: null, departureId: 'd9', createdAt: iso(T0 + 3 * H) });
    expect(currentProposal('s1', [other, dep, old, cur])?.id).toBe('p-new');
    expect(currentProposal('s1', [proposal({ status: 'superseded', createdAt: iso(T0 + 5 * H) }), cur])).toBeNull();
    expect(currentProposal('s3', [cur])).toBeNull();
    expect(currentProposal('s1', [proposal({ id: 'acc', status: 'accepted' })])?.status).toBe('accepted');
  });

  it('sorts proposed shipments first, then newest; withdraws only what the server lets go', () => {
    const a = shipment({ id: 'a', status: 'pooled', createdAt: iso(T0 + 2 * H) });
    const b = shipment({ id: 'b', status: 'proposed', createdAt: iso(T0) });
    const c = shipment({ id: 'c', status: 'booked', createdAt: iso(T0 + 3 * H) });
    expect(sortShipments([a, b, c]).map((s) => s.id)).toEqual(['b', 'c', 'a']);
    expect(['pooled', 'unplaced', 'proposed', 'booked', 'withdrawn'].map((status) => canWithdraw({ status } as Shipment))).toEqual([true, true, true, false, false]);
  });

  it('the saving against stand-alone includes the pool share; CO2e against road', () => {
    expect(proposalSaving(proposal())).toEqual({ savingCents: 35_000, pct: 29.2, direct: 30_000, share: 5_000 });
    expect(proposalSaving(proposal({ savingCents: null }))?.savingCents).toBe(35_000);
    expect(proposalSaving(proposal({ standaloneCents: null }))).toBeNull();
    expect(co2VsRoad(proposal())).toEqual({ savedKg: 1200, pct: 75 });
    expect(co2VsRoad(proposal({ roadCo2eKg: null }))).toBeNull();
    expect(co2VsRoad(proposal({ roadCo2eKg: 0 }))).toBeNull();
  });

  it('explains a refused accept', () => {
    expect(refusalText('proposal_stale', 'x')).toMatch(/Nothing was booked.*back in the pool/);
    expect(refusalText('proposal_closed', 'this proposal is superseded')).toMatch(/newer plan/);
    expect(refusalText('proposal_closed', 'this proposal is declined')).toMatch(/closed/);
    expect(refusalText('proposal_stale', 'someone booked on it', 'departure')).toMatch(/no longer applies: someone booked/);
  });
});

describe('client: the optimiser screen', () => {
  it('the progress bar moves forward through the phases and the parts', () => {
    const seq = [
      null,
      { phase: 'loading', part: 0, parts: 0 },
      { phase: 'greedy', part: 0, parts: 3 },
      { phase: 'bound', part: 0, parts: 3 },
      { phase: 'solving', part: 0, parts: 3 },
      { phase: 'bound', part: 1, parts: 3 },
      { phase: 'solving', part: 2, parts: 3 },
      { phase: 'done', part: 3, parts: 3 },
    ] as const;
    const shares = seq.map((p) => progressShare(p));
    for (let i = 1; i < shares.length; i++) expect(shares[i], JSON.stringify(seq[i])).toBeGreaterThan(shares[i - 1]!);
    expect(shares[0]).toBe(0);
    expect(shares.at(-1)).toBe(1);
    for (const s of shares) expect(s).toBeLessThanOrEqual(1);
    expect(progressShare({ phase: 'solving', part: 7, parts: 3 })).toBeLessThan(1);
    expect(progressShare({ phase: 'failed', part: 0, parts: 0 })).toBe(1);
  });

  it('says what the run does, with the gap', () => {
    expect(progressText(null)).toMatch(/waiting/i);
    expect(progressText({ phase: 'solving', part: 1, parts: 3, gapPct: 0.4213 })).toBe('Solving part 2 of 3 · gap 0.42 %');
    expect(progressText({ phase: 'solving', part: 0, parts: 1, gapPct: null })).toBe('Solving');
    expect(progressText({ phase: 'greedy', part: 0, parts: 2, gapPct: null })).toBe('Greedy baseline');
    expect(progressText({ phase: 'done', part: 2, parts: 2, gapPct: 0 })).toBe('Done · gap 0.00 %');
  });

  it('formats the figures of a plan', () => {
    expect(fmtPct(12.345)).toBe('12.3 %');
    expect(fmtPct(0.004)).toBe('<0.01 %');
    expect(fmtPct(null)).toBe('—');
    expect(fmtShare(0.634)).toBe('63 %');
    expect(fmtShare(0.0042)).toBe('0.4 %');
    expect(fmtShare(0)).toBe('0 %');
    expect(fmtShare(null)).toBe('—');
    expect(fmtMs(1234)).toBe('1.23 s');
    expect(fmtMs(380.4)).toBe('380 ms');
    expect(improvementPct(200_000, 150_000)).toBe(25);
    expect(improvementPct(0, 10)).toBeNull();
    expect(improvementPct(null, 10)).toBeNull();
    expect(['queued', 'solving', 'done', 'failed'].map((status) => isActive({ status }))).toEqual([true, true, false, false]);
  });
});
