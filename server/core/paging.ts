/** A `<microseconds>_<uuid>` page cursor (a row's time and id), or null when there is none or it is not one. */
export function timeIdCursor(cursor: string | undefined): { atUs: number; id: string } | null {
  const m = cursor ? /^(\d{1,16})_([0-9a-f-]{36})$/i.exec(cursor) : null;
  return m ? { atUs: Number(m[1]), id: m[2]!.toLowerCase() } : null;
}

/**
 * A keyset page from `limit + 1` rows read in list order: the first `limit` of them, and the cursor of the last
 * one shown when more follow (null on the last page). Pure.
 */
export function pageOf<R, T>(rows: readonly R[], limit: number, cursorOf: (last: R) => string, view: (row: R) => T): { items: T[]; next: string | null } {
  const shown = rows.slice(0, limit);
  const last = shown.at(-1);
  return { items: shown.map(view), next: rows.length > limit && last !== undefined ? cursorOf(last) : null };
}
