/**
 * A listing's cancellation fee rule (its `feeRule`) as a forwarder reads it before holding: when cancelling is free, what
 * each band keeps from when, and what the cut-off costs — the rules of server/core/fees.ts (`cancellationFee`): a tier
 * applies once `departsAt − now ≤ fromMinutesBeforeDeparture`, the closest tier started wins, and from the cut-off on
 * `afterCutoffPercent`. Self-contained (no imports): unit-tested from test/unit.
 */

export interface FeeRuleLike {
  tiers: { fromMinutesBeforeDeparture: number; percent: number }[];
  afterCutoffPercent: number;
}

export interface FeeBand {
  /** when the band starts (ms since the epoch); null: it has already started */
  fromMs: number | null;
  percent: number;
  afterCutoff: boolean;
}

/** The bands still to come or in force at `nowMs`, in time order (the one in force first). */
export function feeBands(rule: FeeRuleLike, departsAtMs: number, cutoffAtMs: number, nowMs: number): FeeBand[] {
  if (nowMs >= cutoffAtMs) return [{ fromMs: null, percent: rule.afterCutoffPercent, afterCutoff: true }];
  const tiers = [...rule.tiers]
    .map((t) => ({ fromMs: departsAtMs - t.fromMinutesBeforeDeparture * 60_000, percent: t.percent }))
    .filter((t) => t.fromMs < cutoffAtMs)
    .sort((a, b) => a.fromMs - b.fromMs);
  const started = tiers.filter((t) => t.fromMs <= nowMs);
  const now: FeeBand = { fromMs: null, percent: started.at(-1)?.percent ?? 0, afterCutoff: false };
  const later = tiers.filter((t) => t.fromMs > nowMs).map((t) => ({ fromMs: t.fromMs, percent: t.percent, afterCutoff: false }));
  return [now, ...later, { fromMs: cutoffAtMs, percent: rule.afterCutoffPercent, afterCutoff: true }];
}

/** "free now · 50 % from Tue 08 Dec 10:00 · 100 % from the cut-off" (`fmt` formats an instant). */
export function feeScheduleText(rule: FeeRuleLike, departsAtMs: number, cutoffAtMs: number, nowMs: number, fmt: (ms: number) => string): string {
  return feeBands(rule, departsAtMs, cutoffAtMs, nowMs)
    .map((b) => {
      const what = b.percent === 0 ? 'free' : `${b.percent} %`;
      if (b.fromMs === null) return `${what} now`;
      return `${what} from ${b.afterCutoff ? 'the cut-off' : fmt(b.fromMs)}`;
    })
    .join(' · ');
}
