/**
 * Low-water derating of barge capacity (issue 14), pure. A gauge's water level turns into the load factor a barge
 * may take (a table of points, linear between them), that into the departure's capacity, and when what is on board
 * no longer fits, the rule picks the bookings that must move.
 */

export interface TablePoint {
  levelCm: number;
  /** 0..1 */
  factor: number;
}

/** The load factor allowed at `levelCm`: linear between the table's points, its first below, its last above. */
export function allowedFactor(table: readonly TablePoint[], levelCm: number): number {
  if (table.length === 0) return 1;
  const pts = [...table].sort((a, b) => a.levelCm - b.levelCm);
  const clamp = (x: number) => Math.min(1, Math.max(0, x));
  if (levelCm <= pts[0]!.levelCm) return clamp(pts[0]!.factor);
  for (let i = 1; i < pts.length; i++) {
    const a = pts[i - 1]!;
    const b = pts[i]!;
    if (levelCm <= b.levelCm) return clamp(a.factor + ((b.factor - a.factor) * (levelCm - a.levelCm)) / (b.levelCm - a.levelCm));
  }
  return clamp(pts[pts.length - 1]!.factor);
}

/** A table is usable when its levels are distinct and its factors never fall as the level rises, within 0..1. */
export function tableProblem(table: readonly TablePoint[]): string | null {
  const pts = [...table].sort((a, b) => a.levelCm - b.levelCm);
  for (let i = 0; i < pts.length; i++) {
    const p = pts[i]!;
    if (!Number.isFinite(p.levelCm) || !(p.factor >= 0 && p.factor <= 1)) return `point ${i}: level or factor out of range`;
    if (i > 0 && (p.levelCm === pts[i - 1]!.levelCm || p.factor < pts[i - 1]!.factor)) return `point ${i}: levels must be distinct and factors not falling`;
  }
  return null;
}

export interface Capacity {
  teu: number;
  tonnes: number;
}

/** The capacity a departure of `nominal` capacity keeps at `factor` (whole TEU and tonnes, rounded down); null: it cannot sail. */
export function deratedCapacity(nominal: Capacity, factor: number): Capacity | null {
  const teu = Math.floor(nominal.teu * factor + 1e-9);
  const tonnes = Math.floor(nominal.tonnes * factor + 1e-9);
  return teu >= 1 && tonnes >= 1 ? { teu: Math.min(teu, nominal.teu), tonnes: Math.min(tonnes, nominal.tonnes) } : null;
}

export interface OnBoard {
  id: string;
  teu: number;
  tonnes: number;
  /** When it was booked (epoch ms); ties broken by id. */
  bookedAt: number;
}

/**
 * Which bookings must move so that the rest fits `capacity` beside `heldTeu` / `heldTonnes` that stay: the latest
 * booked first (then the greater id), one by one, until what stays fits — the fewest moves under that order. With no
 * capacity (null: the departure cannot sail), every booking moves.
 */
export function bookingsToMove(bookings: readonly OnBoard[], capacity: Capacity | null, held: Capacity = { teu: 0, tonnes: 0 }): { move: OnBoard[]; keep: OnBoard[] } {
  const order = [...bookings].sort((a, b) => b.bookedAt - a.bookedAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
  if (!capacity) return { move: order, keep: [] };
  let teu = held.teu + bookings.reduce((s, b) => s + b.teu, 0);
  let tonnes = held.tonnes + bookings.reduce((s, b) => s + b.tonnes, 0);
  const move: OnBoard[] = [];
  for (const b of order) {
    if (teu <= capacity.teu && tonnes <= capacity.tonnes) break;
    move.push(b);
    teu -= b.teu;
    tonnes -= b.tonnes;
  }
  const moved = new Set(move.map((b) => b.id));
  return { move, keep: bookings.filter((b) => !moved.has(b.id)) };
}

/** Water levels are reported by people and feeds: a level must be a plausible gauge reading, measured in the past. */
export function levelProblem(levelCm: number, measuredAt: number, now: number, o = { maxAgeMs: 30 * 86_400_000, skewMs: 5 * 60_000 }): string | null {
  if (!Number.isInteger(levelCm) || levelCm < 0 || levelCm > 2000) return 'levelCm must be a whole number of centimetres from 0 to 2000';
  if (!Number.isFinite(measuredAt)) return 'measuredAt is not a valid time';
  if (measuredAt > now + o.skewMs) return 'measuredAt is in the future';
  if (measuredAt < now - o.maxAgeMs) return 'measuredAt is more than 30 days old';
  return null;
}
