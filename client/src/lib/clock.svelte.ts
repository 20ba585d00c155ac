/** A ticking clock: reading `clock.now` inside an effect re-runs it every second while anything reads it. */
import { createSubscriber } from 'svelte/reactivity';

class Clock {
  #subscribe = createSubscriber((update) => {
    const t = setInterval(update, 1000);
    return () => clearInterval(t);
  });

  get now(): number {
    this.#subscribe();
    return Date.now();
  }
}

export const clock = new Clock();

/** "2025-03-03T14:30" from an <input type=datetime-local>, read as UTC → ISO string (or null) */
export function utcInputToIso(v: string): string | null {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(v)) return null;
  const d = new Date(v.length === 16 ? v + ':00Z' : v + 'Z');
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

/** ISO → value for <input type=datetime-local> in UTC */
export function isoToUtcInput(iso: string | number | Date): string {
  return new Date(iso).toISOString().slice(0, 16);
}
