import { describe, expect, it } from 'vitest';
import { haversineKm } from '../../server/core/co2.ts';
import { expandTimetable, validateWeeklyService } from '../../server/core/timetable.ts';
import {
  DEMO_PASSWORD,
  clusters,
  corridors,
  demoUsers,
  forwarders,
  operators,
  organisations,
  platform,
  scheduler,
  services,
} from '../../server/seed/network.ts';

const byCode = new Map(clusters.map((c) => [c.code, c]));
const corridorByCode = new Map(corridors.map((c) => [c.code, c]));

describe('seed network: clusters', () => {
  it('has the five member clusters and the three gateways', () => {
    expect(clusters.filter((c) => !c.gateway).map((c) => c.code).sort()).toEqual(
      ['DEDUI', 'ESZAZ', 'FRLIL', 'GBLHR', 'ITBLQ'],
    );
    expect(clusters.filter((c) => c.gateway).map((c) => c.code).sort()).toEqual(['BEANR', 'CHBSL', 'NLRTM']);
  });

  it('uses UN/LOCODEs matching the ISO country and plausible European coordinates', () => {
    expect(new Set(clusters.map((c) => c.code)).size).toBe(clusters.length);
    for (const c of clusters) {
      expect(c.code).toMatch(/^[A-Z]{2}[A-Z0-9]{3}$/);
      expect(c.code.slice(0, 2)).toBe(c.country);
      expect(c.lat).toBeGreaterThan(35);
      expect(c.lat).toBeLessThan(60);
      expect(c.lon).toBeGreaterThan(-10);
      expect(c.lon).toBeLessThan(20);
      expect(c.terminals.length).toBeGreaterThan(0);
    }
  });
});

describe('seed network: corridors', () => {
  it('has unique codes of the form FROM-TO-mode whose ends are clusters', () => {
    expect(corridorByCode.size).toBe(corridors.length);
    for (const c of corridors) {
      expect(c.code).toBe(`${c.from}-${c.to}-${c.mode}`);
      expect(byCode.has(c.from)).toBe(true);
      expect(byCode.has(c.to)).toBe(true);
      expect(c.from).not.toBe(c.to);
      expect(Number.isInteger(c.distanceKm)).toBe(true);
    }
  });

  it('has both directions of every connection with the same distance', () => {
    for (const c of corridors) {
      const back = corridorByCode.get(`${c.to}-${c.from}-${c.mode}`);
      expect(back, c.code).toBeDefined();
      expect(back!.distanceKm).toBe(c.distanceKm);
    }
  });

  it('has distances longer than the great-circle distance but less than twice it', () => {
    for (const c of corridors) {
      const gc = haversineKm(byCode.get(c.from)!, byCode.get(c.to)!);
      expect(c.distanceKm, c.code).toBeGreaterThan(gc);
      expect(c.distanceKm, c.code).toBeLessThan(2 * gc);
    }
  });

  it('includes the named main corridors', () => {
    for (const code of [
      'DEDUI-ITBLQ-rail',
      'DEDUI-FRLIL-rail',
      'FRLIL-ESZAZ-rail',
      'ESZAZ-ITBLQ-rail',
      'FRLIL-GBLHR-rail',
      'DEDUI-NLRTM-barge',
      'DEDUI-BEANR-barge',
      'NLRTM-BEANR-barge',
      'DEDUI-CHBSL-barge',
      'BEANR-FRLIL-barge',
    ]) {
      expect(corridorByCode.has(code), code).toBe(true);
    }
  });

  it('connects every member cluster', () => {
    for (const c of clusters.filter((x) => !x.gateway)) {
      expect(corridors.some((k) => k.from === c.code)).toBe(true);
    }
  });
});

describe('seed network: organisations and users', () => {
  it('has 3 operators, 4 forwarders, a scheduler and a platform org with unique slugs', () => {
    expect(operators.length).toBeGreaterThanOrEqual(3);
    expect(forwarders).toHaveLength(4);
    expect(scheduler.kind).toBe('scheduler');
    expect(platform.kind).toBe('platform');
    expect(new Set(organisations.map((o) => o.slug)).size).toBe(organisations.length);
    expect(new Set(operators.flatMap((o) => o.modes))).toEqual(new Set(['rail', 'barge']));
  });

  it('has one admin user per forwarder and operator, plus scheduler and admin', () => {
    const emails = demoUsers.map((u) => u.email);
    expect(new Set(emails).size).toBe(emails.length);
    for (let i = 1; i <= 4; i++) expect(emails).toContain(`forwarder${i}@demo.test`);
    for (let i = 1; i <= 3; i++) expect(emails).toContain(`operator${i}@demo.test`);
    expect(emails).toContain('scheduler@demo.test');
    expect(demoUsers.find((u) => u.email === 'admin@demo.test')?.orgSlug).toBe(platform.slug);
    const slugs = new Set(organisations.map((o) => o.slug));
    for (const u of demoUsers) {
      expect(slugs.has(u.orgSlug)).toBe(true);
      expect(u.role).toBe('admin');
    }
    for (const org of [...forwarders, ...operators]) {
      expect(demoUsers.filter((u) => u.orgSlug === org.slug)).toHaveLength(1);
    }
    expect(DEMO_PASSWORD).toBe('cluster-demo');
  });
});

describe('seed network: services', () => {
  const opBySlug = new Map(operators.map((o) => [o.slug, o]));

  it('are valid, uniquely coded and reference existing corridors and operators of that mode', () => {
    expect(new Set(services.map((s) => s.code)).size).toBe(services.length);
    for (const s of services) {
      expect(validateWeeklyService(s), s.code).toEqual({ ok: true });
      const corridor = corridorByCode.get(s.corridorCode);
      expect(corridor, s.code).toBeDefined();
      const op = opBySlug.get(s.operatorSlug);
      expect(op, s.code).toBeDefined();
      expect(op!.modes).toContain(corridor!.mode);
      expect(s.listedTeu).toBeGreaterThan(0);
      expect(s.listedTeu).toBeLessThanOrEqual(s.capacityTeu);
    }
  });

  it('have realistic capacities, cut-offs, speeds and prices per mode', () => {
    for (const s of services) {
      const c = corridorByCode.get(s.corridorCode)!;
      const kmh = c.distanceKm / (s.transitMinutes / 60);
      if (c.mode === 'rail') {
        expect(s.capacityTeu, s.code).toBeGreaterThanOrEqual(80);
        expect(s.capacityTeu, s.code).toBeLessThanOrEqual(100);
        expect(s.capacityTonnes, s.code).toBeGreaterThanOrEqual(1600);
        expect(s.capacityTonnes, s.code).toBeLessThanOrEqual(2000);
        expect(s.cutoffMinutesBefore, s.code).toBeGreaterThanOrEqual(240);
        expect(s.cutoffMinutesBefore, s.code).toBeLessThanOrEqual(360);
        expect(s.unitPriceCents, s.code).toBeGreaterThanOrEqual(45_000);
        expect(s.unitPriceCents, s.code).toBeLessThanOrEqual(110_000);
        expect(kmh, s.code).toBeGreaterThan(20);
        expect(kmh, s.code).toBeLessThan(60);
      } else {
        expect(s.capacityTeu, s.code).toBeGreaterThanOrEqual(200);
        expect(s.capacityTeu, s.code).toBeLessThanOrEqual(500);
        expect(s.capacityTonnes, s.code).toBeGreaterThanOrEqual(10 * s.capacityTeu);
        expect(s.capacityTonnes, s.code).toBeLessThanOrEqual(14 * s.capacityTeu);
        expect(s.cutoffMinutesBefore, s.code).toBeGreaterThanOrEqual(720);
        expect(s.cutoffMinutesBefore, s.code).toBeLessThanOrEqual(1440);
        expect(s.unitPriceCents, s.code).toBeGreaterThanOrEqual(12_000);
        expect(s.unitPriceCents, s.code).toBeLessThanOrEqual(35_000);
        expect(kmh, s.code).toBeGreaterThan(5);
        expect(kmh, s.code).toBeLessThan(20);
      }
    }
  });

  it('longer rail corridors cost more per TEU', () => {
    const rail = services
      .filter((s) => corridorByCode.get(s.corridorCode)!.mode === 'rail')
      .map((s) => ({ km: corridorByCode.get(s.corridorCode)!.distanceKm, price: s.unitPriceCents }));
    for (const a of rail) for (const b of rail) if (a.km > b.km + 300) expect(a.price).toBeGreaterThan(b.price);
  });

  it('give several Duisburg → Bologna rail departures every week and serve both directions', () => {
    const now = new Date('2024-01-01T00:00:00Z');
    const twoWeeks = expandTimetable(services, now, 14);
    const duiBlq = twoWeeks.filter((d) => services.find((s) => s.code === d.serviceCode)!.corridorCode === 'DEDUI-ITBLQ-rail');
    expect(duiBlq.length).toBeGreaterThanOrEqual(2 * 5);
    const served = new Set(services.map((s) => s.corridorCode));
    for (const code of served) {
      const c = corridorByCode.get(code)!;
      expect(served.has(`${c.to}-${c.from}-${c.mode}`), code).toBe(true);
    }
    expect(twoWeeks.length).toBeGreaterThan(100);
  });
});
