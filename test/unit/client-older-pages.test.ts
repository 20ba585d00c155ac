// "Show older" against live re-reads: a click is never lost, whichever answers first (a CI run once saw the list stay
// at 200 rows after the click, because a re-read overtook the older page)
import { describe, expect, it } from 'vitest';
import { OlderPages } from '../../client/src/lib/older-pages.ts';

/** a server with `total` rows, newest first; ids are their positions */
function server(total: number) {
  const rows = Array.from({ length: total }, (_, i) => i);
  return (limit: number, before: number | null) => {
    const start = before === null ? 0 : before + 1;
    const page = rows.slice(start, start + limit);
    const next = start + limit < total ? (page[page.length - 1] ?? null) : null;
    return { page, next };
  };
}

function deferred() {
  let resolve!: () => void;
  const p = new Promise<void>((r) => (resolve = r));
  return { p, resolve };
}

/** a client list as the pages keep it: re-reads and older pages, each request released by the test */
function list(total: number, pageSize: number) {
  const api = server(total);
  const gate = new OlderPages(pageSize);
  const s = { rows: [] as number[], cursor: null as number | null };
  const reRead = (hold: Promise<void>) =>
    gate.reading((async () => {
      const limit = gate.limit(s.rows.length);
      await hold;
      const a = api(limit, null);
      s.rows = a.page;
      s.cursor = a.next;
    })());
  const older = async (hold: Promise<void>) => {
    const token = await gate.beforeOlder(s.rows.length);
    if (s.cursor === null) return;
    const cursor = s.cursor;
    await hold;
    const a = api(pageSize, cursor);
    if (!gate.isCurrent(token)) return gate.settled();
    const known = new Set(s.rows);
    s.rows = [...s.rows, ...a.page.filter((r) => !known.has(r))];
    s.cursor = a.next;
  };
  return { s, reRead, older };
}

describe('OlderPages', () => {
  it('a re-read that started before the click and answers after the older page does not drop it', async () => {
    const l = list(260, 200);
    await l.reRead(Promise.resolve());
    expect(l.s.rows.length).toBe(200);
    const r = deferred();
    const reading = l.reRead(r.p);
    const clicked = l.older(Promise.resolve());
    await new Promise((done) => setTimeout(done, 0)); // the older page could answer first now
    r.resolve();
    await Promise.all([reading, clicked]);
    expect(l.s.rows).toEqual(Array.from({ length: 260 }, (_, i) => i));
    expect(l.s.cursor).toBeNull();
  });

  it('a re-read that starts after the click and overtakes the older page reads the rows asked for', async () => {
    const l = list(500, 200);
    await l.reRead(Promise.resolve());
    const o = deferred();
    const clicked = l.older(o.p);
    await new Promise((done) => setTimeout(done, 0)); // its request is out
    const reading = l.reRead(Promise.resolve());
    await reading;
    o.resolve();
    await clicked;
    expect(l.s.rows).toEqual(Array.from({ length: 400 }, (_, i) => i));
    expect(l.s.cursor).toBe(399);
  });

  it('a re-read reads what is shown, never more than one request can hold', () => {
    const gate = new OlderPages(100, 1000);
    expect(gate.limit(0)).toBe(100);
    expect(gate.limit(350)).toBe(350);
    expect(gate.limit(5000)).toBe(1000);
  });
});
