/**
 * The demo network as plain data (no I/O): clusters, corridors, organisations,
 * demo users and weekly timetables. The seeding script turns this into rows.
 *
 * Coordinates are WGS84 decimal degrees of the intermodal terminal area; codes
 * are UN/LOCODEs. Corridor distances are realistic operating distances (rail
 * route km, Rhine km for barges), always longer than the great-circle distance.
 * Operator and forwarder names are invented.
 */
import type { WeeklyService } from '../core/timetable.ts';

/** A logistics cluster (network node). */
export interface SeedCluster {
  /** UN/LOCODE, e.g. `DEDUI`. */
  code: string;
  name: string;
  /** ISO 3166-1 alpha-2. */
  country: string;
  lat: number;
  lon: number;
  terminals: string[];
  /** A seaport / river-port gateway rather than one of the five member clusters. */
  gateway: boolean;
}

/** Transport modes of corridors. */
export type CorridorMode = 'rail' | 'barge';

/** One direction of a connection between two clusters for one mode. */
export interface SeedCorridor {
  /** `${from}-${to}-${mode}`. */
  code: string;
  from: string;
  to: string;
  mode: CorridorMode;
  distanceKm: number;
}

/** Organisation kinds (API.md). */
export type OrgKind = 'operator' | 'forwarder' | 'scheduler' | 'platform';

/** A seeded organisation. */
export interface SeedOrg {
  slug: string;
  name: string;
  kind: OrgKind;
}

/** An operator organisation with the modes it runs. */
export interface SeedOperator extends SeedOrg {
  kind: 'operator';
  modes: CorridorMode[];
}

/** A seeded user; every demo user is the admin of its organisation. */
export interface SeedUser {
  email: string;
  name: string;
  orgSlug: string;
  role: 'admin';
}

/** Password of every demo user. */
export const DEMO_PASSWORD = 'cluster-demo';

/** The five member clusters followed by three gateway ports. */
export const clusters: SeedCluster[] = [
  {
    code: 'DEDUI',
    name: 'Duisburg (duisport)',
    country: 'DE',
    lat: 51.4344,
    lon: 6.7623,
    terminals: ['logport I', 'D3T Duisburg Trimodal Terminal', 'DIT Duisburg Intermodal Terminal'],
    gateway: false,
  },
  {
    code: 'ESZAZ',
    name: 'Zaragoza (PLAZA)',
    country: 'ES',
    lat: 41.6333,
    lon: -0.99,
    terminals: ['PLAZA rail terminal', 'Terminal Marítima de Zaragoza'],
    gateway: false,
  },
  {
    code: 'FRLIL',
    name: 'Lille (Dourges / Delta 3)',
    country: 'FR',
    lat: 50.436,
    lon: 2.986,
    terminals: ['Delta 3 Dourges', 'Port de Lille container terminal'],
    gateway: false,
  },
  {
    code: 'ITBLQ',
    name: 'Bologna (Interporto)',
    country: 'IT',
    lat: 44.596,
    lon: 11.374,
    terminals: ['Interporto Bologna rail terminal'],
    gateway: false,
  },
  {
    code: 'GBLHR',
    name: 'London Heathrow',
    country: 'GB',
    lat: 51.47,
    lon: -0.4543,
    terminals: ['Heathrow cargo centre'],
    gateway: false,
  },
  {
    code: 'NLRTM',
    name: 'Rotterdam',
    country: 'NL',
    lat: 51.9225,
    lon: 4.4792,
    terminals: ['Maasvlakte', 'Waalhaven'],
    gateway: true,
  },
  {
    code: 'BEANR',
    name: 'Antwerp',
    country: 'BE',
    lat: 51.2194,
    lon: 4.4025,
    terminals: ['Deurganck dock', 'Europa terminal'],
    gateway: true,
  },
  {
    code: 'CHBSL',
    name: 'Basel',
    country: 'CH',
    lat: 47.5596,
    lon: 7.5886,
    terminals: ['Kleinhüningen Rhine port'],
    gateway: true,
  },
];

/** Both directions of one connection. */
function both(a: string, b: string, mode: CorridorMode, distanceKm: number): SeedCorridor[] {
  return [
    { code: `${a}-${b}-${mode}`, from: a, to: b, mode, distanceKm },
    { code: `${b}-${a}-${mode}`, from: b, to: a, mode, distanceKm },
  ];
}

/** Rail and barge corridors, one entry per direction. */
export const corridors: SeedCorridor[] = [
  // --- rail ---
  // Duisburg – Cologne – Basel – Gotthard base tunnel – Chiasso – Milan – Bologna.
  ...both('DEDUI', 'ITBLQ', 'rail', 1150),
  // Duisburg – Aachen – Montzen – Liège – Namur – Mons – Valenciennes – Dourges.
  ...both('DEDUI', 'FRLIL', 'rail', 380),
  // Dourges – Paris (Grande Ceinture) – Bordeaux – Hendaye/Irun (transshipment to
  // Iberian gauge or standard-gauge wagons) – Pamplona – Zaragoza.
  ...both('FRLIL', 'ESZAZ', 'rail', 1280),
  // Zaragoza – Barcelona – Perpignan – Nîmes – Marseille – Ventimiglia – Genoa – Bologna.
  ...both('ESZAZ', 'ITBLQ', 'rail', 1480),
  // Dourges – Calais – Channel Tunnel – HS1 – London (Barking) – Heathrow area.
  ...both('FRLIL', 'GBLHR', 'rail', 370),
  // Duisburg – Emmerich – Betuweroute – Rotterdam Maasvlakte.
  ...both('DEDUI', 'NLRTM', 'rail', 240),
  // Duisburg – Mönchengladbach – Aachen – Montzen – Antwerp.
  ...both('DEDUI', 'BEANR', 'rail', 255),
  // Antwerp – Ghent – Kortrijk – Lille – Dourges.
  ...both('BEANR', 'FRLIL', 'rail', 160),
  // Basel – Gotthard base tunnel – Chiasso – Milan – Bologna.
  ...both('CHBSL', 'ITBLQ', 'rail', 565),
  // --- barge ---
  // Rhine km 780 (Duisburg-Ruhrort) to the Dutch border (km 857), Waal, Nieuwe Maas.
  ...both('DEDUI', 'NLRTM', 'barge', 225),
  // Rhine / Waal, Zeeland waterways, Scheldt-Rhine canal.
  ...both('DEDUI', 'BEANR', 'barge', 300),
  // Scheldt-Rhine connection through Zeeland.
  ...both('NLRTM', 'BEANR', 'barge', 130),
  // Rhine km 780 to Basel Rhine ports (km ~170): about 610 Rhine km, with the
  // locks of the Upper Rhine.
  ...both('DEDUI', 'CHBSL', 'barge', 610),
  // Scheldt – Ghent – Lys / Deûle canal to Dourges (Delta 3 canal quay).
  ...both('BEANR', 'FRLIL', 'barge', 190),
];

/** Operator organisations (invented names). */
export const operators: SeedOperator[] = [
  { slug: 'rhine-cargo-rail', name: 'Rhine Cargo Rail', kind: 'operator', modes: ['rail'] },
  { slug: 'ebro-intermodal', name: 'Ebro Intermodal', kind: 'operator', modes: ['rail'] },
  { slug: 'lowlands-barge-line', name: 'Lowlands Barge Line', kind: 'operator', modes: ['barge'] },
];

/** Forwarder organisations (invented names). */
export const forwarders: SeedOrg[] = [
  { slug: 'forwarder1', name: 'Nordhafen Spedition', kind: 'forwarder' },
  { slug: 'forwarder2', name: 'Levante Forwarding', kind: 'forwarder' },
  { slug: 'forwarder3', name: 'Flandres Logistique', kind: 'forwarder' },
  { slug: 'forwarder4', name: 'Thames Freight Partners', kind: 'forwarder' },
];

/** The cluster authority that schedules the network. */
export const scheduler: SeedOrg = { slug: 'scheduler', name: 'Cluster Network Authority', kind: 'scheduler' };

/** The platform operator (admins). */
export const platform: SeedOrg = { slug: 'platform', name: 'Cluster Exchange Platform', kind: 'platform' };

/** Every organisation, in seeding order. */
export const organisations: SeedOrg[] = [...operators, ...forwarders, scheduler, platform];

/** Demo users: one admin per forwarder and operator, the scheduler and the platform admin. */
export const demoUsers: SeedUser[] = [
  ...forwarders.map((f, i) => ({
    email: `forwarder${i + 1}@demo.test`,
    name: `${f.name} desk`,
    orgSlug: f.slug,
    role: 'admin' as const,
  })),
  ...operators.map((o, i) => ({
    email: `operator${i + 1}@demo.test`,
    name: `${o.name} sales`,
    orgSlug: o.slug,
    role: 'admin' as const,
  })),
  { email: 'scheduler@demo.test', name: 'Network scheduler', orgSlug: scheduler.slug, role: 'admin' },
  { email: 'admin@demo.test', name: 'Platform admin', orgSlug: platform.slug, role: 'admin' },
];

const RCR = 'rhine-cargo-rail';
const EBI = 'ebro-intermodal';
const LBL = 'lowlands-barge-line';
const WEEKDAYS = [1, 2, 3, 4, 5];
const MON_SAT = [1, 2, 3, 4, 5, 6];
const DAILY = [1, 2, 3, 4, 5, 6, 7];
const MWF = [1, 3, 5];
const TTS = [2, 4, 6];

/** Builds a service; `code` is `${prefix}-${corridor}-${suffix}`. */
function svc(
  prefix: string,
  operatorSlug: string,
  corridorCode: string,
  suffix: string,
  fields: Omit<WeeklyService, 'code' | 'operatorSlug' | 'corridorCode'>,
): WeeklyService {
  return { code: `${prefix}-${corridorCode}-${suffix}`, operatorSlug, corridorCode, ...fields };
}

/**
 * Weekly timetables (UTC). Block trains carry 80–100 TEU and 1,600–2,000 t with
 * cut-offs 4–6 h before departure; intermodal trains average 35–45 km/h door
 * to door (longer with border transshipment). Rhine container barges carry
 * 200–480 TEU, about 11–12 t per TEU slot, cut-offs 12–24 h; upstream runs take
 * markedly longer than downstream. Listed capacity is sold at a fixed price per
 * TEU: rail €450–1,100 by distance, barge €120–350.
 */
export const services: WeeklyService[] = [
  // ----- Rhine Cargo Rail -----
  // Duisburg → Bologna: overnight daily on weekdays plus a morning train three days a week.
  svc('RCR', RCR, 'DEDUI-ITBLQ-rail', 'N', {
    assetName: 'Gotthard Night Shuttle', weekdays: WEEKDAYS, departTimeUtc: '20:00',
    transitMinutes: 31 * 60, cutoffMinutesBefore: 300, capacityTeu: 90, capacityTonnes: 1800,
    listedTeu: 24, unitPriceCents: 98_000,
  }),
  svc('RCR', RCR, 'DEDUI-ITBLQ-rail', 'M', {
    assetName: 'Emilia Express', weekdays: TTS, departTimeUtc: '06:30',
    transitMinutes: 33 * 60, cutoffMinutesBefore: 360, capacityTeu: 100, capacityTonnes: 2000,
    listedTeu: 30, unitPriceCents: 94_000,
  }),
  svc('RCR', RCR, 'ITBLQ-DEDUI-rail', 'N', {
    assetName: 'Gotthard Night Shuttle', weekdays: WEEKDAYS, departTimeUtc: '19:00',
    transitMinutes: 31 * 60, cutoffMinutesBefore: 300, capacityTeu: 90, capacityTonnes: 1800,
    listedTeu: 20, unitPriceCents: 95_000,
  }),
  svc('RCR', RCR, 'ITBLQ-DEDUI-rail', 'M', {
    assetName: 'Emilia Express', weekdays: [1, 3, 5], departTimeUtc: '07:00',
    transitMinutes: 33 * 60, cutoffMinutesBefore: 360, capacityTeu: 100, capacityTonnes: 2000,
    listedTeu: 26, unitPriceCents: 92_000,
  }),
  // Duisburg ↔ Dourges.
  svc('RCR', RCR, 'DEDUI-FRLIL-rail', 'A', {
    assetName: 'Ardennes Link', weekdays: MWF, departTimeUtc: '22:00',
    transitMinutes: 14 * 60, cutoffMinutesBefore: 240, capacityTeu: 80, capacityTonnes: 1600,
    listedTeu: 20, unitPriceCents: 52_000,
  }),
  svc('RCR', RCR, 'FRLIL-DEDUI-rail', 'A', {
    assetName: 'Ardennes Link', weekdays: TTS, departTimeUtc: '21:00',
    transitMinutes: 14 * 60, cutoffMinutesBefore: 240, capacityTeu: 80, capacityTonnes: 1600,
    listedTeu: 18, unitPriceCents: 52_000,
  }),
  // Duisburg ↔ Rotterdam (Betuweroute).
  svc('RCR', RCR, 'DEDUI-NLRTM-rail', 'B', {
    assetName: 'Betuwe Shuttle', weekdays: MON_SAT, departTimeUtc: '05:00',
    transitMinutes: 8 * 60, cutoffMinutesBefore: 240, capacityTeu: 96, capacityTonnes: 1900,
    listedTeu: 30, unitPriceCents: 46_000,
  }),
  svc('RCR', RCR, 'NLRTM-DEDUI-rail', 'B', {
    assetName: 'Betuwe Shuttle', weekdays: MON_SAT, departTimeUtc: '15:00',
    transitMinutes: 8 * 60, cutoffMinutesBefore: 240, capacityTeu: 96, capacityTonnes: 1900,
    listedTeu: 28, unitPriceCents: 46_000,
  }),
  // Duisburg ↔ Antwerp.
  svc('RCR', RCR, 'DEDUI-BEANR-rail', 'S', {
    assetName: 'Scheldt Shuttle', weekdays: MWF, departTimeUtc: '07:00',
    transitMinutes: 10 * 60, cutoffMinutesBefore: 240, capacityTeu: 84, capacityTonnes: 1700,
    listedTeu: 22, unitPriceCents: 48_000,
  }),
  svc('RCR', RCR, 'BEANR-DEDUI-rail', 'S', {
    assetName: 'Scheldt Shuttle', weekdays: TTS, departTimeUtc: '06:00',
    transitMinutes: 10 * 60, cutoffMinutesBefore: 240, capacityTeu: 84, capacityTonnes: 1700,
    listedTeu: 22, unitPriceCents: 48_000,
  }),
  // Basel ↔ Bologna (Gotthard).
  svc('RCR', RCR, 'CHBSL-ITBLQ-rail', 'G', {
    assetName: 'Alpine Bridge', weekdays: WEEKDAYS, departTimeUtc: '10:00',
    transitMinutes: 16 * 60, cutoffMinutesBefore: 300, capacityTeu: 88, capacityTonnes: 1800,
    listedTeu: 20, unitPriceCents: 65_000,
  }),
  svc('RCR', RCR, 'ITBLQ-CHBSL-rail', 'G', {
    assetName: 'Alpine Bridge', weekdays: WEEKDAYS, departTimeUtc: '12:00',
    transitMinutes: 16 * 60, cutoffMinutesBefore: 300, capacityTeu: 88, capacityTonnes: 1800,
    listedTeu: 20, unitPriceCents: 65_000,
  }),

  // ----- Ebro Intermodal -----
  // Dourges ↔ Zaragoza, with transshipment at Hendaye/Irun.
  svc('EBI', EBI, 'FRLIL-ESZAZ-rail', 'A', {
    assetName: 'Atlantic Corridor Train', weekdays: MWF, departTimeUtc: '18:00',
    transitMinutes: 38 * 60, cutoffMinutesBefore: 360, capacityTeu: 80, capacityTonnes: 1600,
    listedTeu: 20, unitPriceCents: 105_000,
  }),
  svc('EBI', EBI, 'ESZAZ-FRLIL-rail', 'A', {
    assetName: 'Atlantic Corridor Train', weekdays: TTS, departTimeUtc: '16:00',
    transitMinutes: 40 * 60, cutoffMinutesBefore: 360, capacityTeu: 80, capacityTonnes: 1600,
    listedTeu: 20, unitPriceCents: 105_000,
  }),
  // Zaragoza ↔ Bologna along the Mediterranean.
  svc('EBI', EBI, 'ESZAZ-ITBLQ-rail', 'M', {
    assetName: 'Mediterranean Link', weekdays: [2, 5], departTimeUtc: '15:00',
    transitMinutes: 44 * 60, cutoffMinutesBefore: 360, capacityTeu: 82, capacityTonnes: 1650,
    listedTeu: 22, unitPriceCents: 110_000,
  }),
  svc('EBI', EBI, 'ITBLQ-ESZAZ-rail', 'M', {
    assetName: 'Mediterranean Link', weekdays: [3, 6], departTimeUtc: '14:00',
    transitMinutes: 44 * 60, cutoffMinutesBefore: 360, capacityTeu: 82, capacityTonnes: 1650,
    listedTeu: 22, unitPriceCents: 110_000,
  }),
  // Dourges ↔ London through the Channel Tunnel.
  svc('EBI', EBI, 'FRLIL-GBLHR-rail', 'T', {
    assetName: 'Channel Freight Link', weekdays: WEEKDAYS, departTimeUtc: '23:00',
    transitMinutes: 12 * 60, cutoffMinutesBefore: 300, capacityTeu: 80, capacityTonnes: 1600,
    listedTeu: 16, unitPriceCents: 62_000,
  }),
  svc('EBI', EBI, 'GBLHR-FRLIL-rail', 'T', {
    assetName: 'Channel Freight Link', weekdays: WEEKDAYS, departTimeUtc: '21:00',
    transitMinutes: 12 * 60, cutoffMinutesBefore: 300, capacityTeu: 80, capacityTonnes: 1600,
    listedTeu: 16, unitPriceCents: 62_000,
  }),
  // Antwerp ↔ Dourges.
  svc('EBI', EBI, 'BEANR-FRLIL-rail', 'F', {
    assetName: 'Flanders Shuttle', weekdays: MWF, departTimeUtc: '09:00',
    transitMinutes: 7 * 60, cutoffMinutesBefore: 240, capacityTeu: 86, capacityTonnes: 1700,
    listedTeu: 24, unitPriceCents: 45_000,
  }),
  svc('EBI', EBI, 'FRLIL-BEANR-rail', 'F', {
    assetName: 'Flanders Shuttle', weekdays: TTS, departTimeUtc: '08:00',
    transitMinutes: 7 * 60, cutoffMinutesBefore: 240, capacityTeu: 86, capacityTonnes: 1700,
    listedTeu: 24, unitPriceCents: 45_000,
  }),

  // ----- Lowlands Barge Line -----
  // Duisburg ↔ Rotterdam: daily, downstream ~18 h, upstream ~28 h.
  svc('LBL', LBL, 'DEDUI-NLRTM-barge', 'D', {
    assetName: 'MS Lowlands Nova', weekdays: DAILY, departTimeUtc: '16:00',
    transitMinutes: 18 * 60, cutoffMinutesBefore: 720, capacityTeu: 320, capacityTonnes: 3800,
    listedTeu: 60, unitPriceCents: 18_000,
  }),
  svc('LBL', LBL, 'NLRTM-DEDUI-barge', 'D', {
    assetName: 'MS Lowlands Nova', weekdays: DAILY, departTimeUtc: '10:00',
    transitMinutes: 28 * 60, cutoffMinutesBefore: 720, capacityTeu: 320, capacityTonnes: 3800,
    listedTeu: 60, unitPriceCents: 19_000,
  }),
  // A large Rhine barge (Jowi class, ~400 TEU) twice a week.
  svc('LBL', LBL, 'NLRTM-DEDUI-barge', 'J', {
    assetName: 'MS Rijnland Jowi', weekdays: [3, 6], departTimeUtc: '06:00',
    transitMinutes: 30 * 60, cutoffMinutesBefore: 1080, capacityTeu: 400, capacityTonnes: 4800,
    listedTeu: 90, unitPriceCents: 17_500,
  }),
  svc('LBL', LBL, 'DEDUI-NLRTM-barge', 'J', {
    assetName: 'MS Rijnland Jowi', weekdays: [1, 5], departTimeUtc: '04:00',
    transitMinutes: 20 * 60, cutoffMinutesBefore: 1080, capacityTeu: 400, capacityTonnes: 4800,
    listedTeu: 90, unitPriceCents: 16_500,
  }),
  // Duisburg ↔ Antwerp.
  svc('LBL', LBL, 'DEDUI-BEANR-barge', 'Z', {
    assetName: 'MS Zeeland Star', weekdays: MWF, departTimeUtc: '14:00',
    transitMinutes: 28 * 60, cutoffMinutesBefore: 960, capacityTeu: 280, capacityTonnes: 3300,
    listedTeu: 50, unitPriceCents: 22_000,
  }),
  svc('LBL', LBL, 'BEANR-DEDUI-barge', 'Z', {
    assetName: 'MS Zeeland Star', weekdays: TTS, departTimeUtc: '12:00',
    transitMinutes: 36 * 60, cutoffMinutesBefore: 960, capacityTeu: 280, capacityTonnes: 3300,
    listedTeu: 50, unitPriceCents: 23_000,
  }),
  // Rotterdam ↔ Antwerp.
  svc('LBL', LBL, 'NLRTM-BEANR-barge', 'S', {
    assetName: 'MS Delta Shuttle', weekdays: MON_SAT, departTimeUtc: '08:00',
    transitMinutes: 12 * 60, cutoffMinutesBefore: 720, capacityTeu: 200, capacityTonnes: 2400,
    listedTeu: 40, unitPriceCents: 13_000,
  }),
  svc('LBL', LBL, 'BEANR-NLRTM-barge', 'S', {
    assetName: 'MS Delta Shuttle', weekdays: MON_SAT, departTimeUtc: '20:00',
    transitMinutes: 12 * 60, cutoffMinutesBefore: 720, capacityTeu: 200, capacityTonnes: 2400,
    listedTeu: 40, unitPriceCents: 13_000,
  }),
  // Duisburg ↔ Basel on the Upper Rhine: ~4 days upstream, ~2.5 days downstream.
  svc('LBL', LBL, 'DEDUI-CHBSL-barge', 'U', {
    assetName: 'MS Oberrhein', weekdays: [2, 5], departTimeUtc: '06:00',
    transitMinutes: 96 * 60, cutoffMinutesBefore: 1440, capacityTeu: 208, capacityTonnes: 2300,
    listedTeu: 40, unitPriceCents: 32_000,
  }),
  svc('LBL', LBL, 'CHBSL-DEDUI-barge', 'U', {
    assetName: 'MS Oberrhein', weekdays: [1, 4], departTimeUtc: '18:00',
    transitMinutes: 60 * 60, cutoffMinutesBefore: 1200, capacityTeu: 208, capacityTonnes: 2300,
    listedTeu: 40, unitPriceCents: 30_000,
  }),
  // Antwerp ↔ Dourges via Scheldt, Lys and Deûle (locks; class Va vessels).
  svc('LBL', LBL, 'BEANR-FRLIL-barge', 'C', {
    assetName: 'MS Canal du Nord', weekdays: [2, 4], departTimeUtc: '07:00',
    transitMinutes: 30 * 60, cutoffMinutesBefore: 720, capacityTeu: 200, capacityTonnes: 2200,
    listedTeu: 40, unitPriceCents: 15_000,
  }),
  svc('LBL', LBL, 'FRLIL-BEANR-barge', 'C', {
    assetName: 'MS Canal du Nord', weekdays: [1, 5], departTimeUtc: '07:00',
    transitMinutes: 30 * 60, cutoffMinutesBefore: 720, capacityTeu: 200, capacityTonnes: 2200,
    listedTeu: 40, unitPriceCents: 15_000,
  }),
];

// ----- Pooling (issue 13) -----

/** Operating costs of one run of a service (EUR cents). */
export interface OperatingCost {
  fixedCostCents: number;
  variableCostCentsPerTeu: number;
}

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

/**
 * Demo operating costs of a run, by mode, distance and vessel size — ASSUMPTIONS for the demo, rounded to whole euros,
 * in the range of published European intermodal cost models (traction, path charges, crew, wagons / vessel, fuel):
 * - rail (a block train run): fixed €9,000 + €5.50 per route km, kept within €9,000–16,000; per TEU carried
 *   (terminal lifts, wagon wear, energy of the extra weight) €25 + €10 per 1,000 km, at most €40;
 * - barge (a container barge voyage): fixed €4,000 + €6.50 per waterway km + €5 per TEU slot of the vessel, kept
 *   within €5,000–9,000; per TEU carried (handling on board, fuel of the extra draught) €15 + €16 per 1,000 km, at most €25.
 * Every demo departure gets its service's figures (migration 20261203T1700 copies them onto new departures).
 */
export function operatingCostOf(mode: CorridorMode, distanceKm: number, capacityTeu: number): OperatingCost {
  const eur = (v: number) => Math.round(v) * 100;
  if (mode === 'rail') {
    return { fixedCostCents: eur(clamp(9_000 + 5.5 * distanceKm, 9_000, 16_000)), variableCostCentsPerTeu: eur(Math.min(40, 25 + (10 * distanceKm) / 1000)) };
  }
  return {
    fixedCostCents: eur(clamp(4_000 + 6.5 * distanceKm + 5 * capacityTeu, 5_000, 9_000)),
    variableCostCentsPerTeu: eur(Math.min(25, 15 + (16 * distanceKm) / 1000)),
  };
}

/** The operating costs of every demo service, by service code. */
export function serviceOperatingCosts(): { code: string; fixedCostCents: number; variableCostCentsPerTeu: number }[] {
  const byCode = new Map(corridors.map((c) => [c.code, c]));
  return services.map((s) => {
    const c = byCode.get(s.corridorCode)!;
    return { code: s.code, ...operatingCostOf(c.mode, c.distanceKm, s.capacityTeu) };
  });
}

/** A demo shipment request in the pool; times are relative to the moment of seeding. */
export interface SeedShipment {
  /** The forwarder's reference: with the forwarder, the natural key (seeding twice adds nothing). */
  reference: string;
  forwarderSlug: string;
  from: string;
  to: string;
  teu: number;
  tonnes: number;
  /** Ready this many hours after the seed (rounded down to the hour). */
  readyInHours: number;
  /** deliverBy = readyAt + this many days. */
  windowDays: number;
  maxTotalEur: number;
  modes: CorridorMode[];
  consolidate: boolean;
}

/**
 * The demo pool: small shipments of several forwarders on the same pairs and overlapping windows — each alone would
 * ride a nearly empty train or barge; pooled, a few departures carry them all (and the rest may be cancelled or
 * merged). The maximum prices leave room above the fixed listing prices (× TEU, plus transfer handling).
 */
export const demoPool: SeedShipment[] = [
  // Duisburg → Bologna (rail, €940–980 per TEU): three forwarders within the same week
  { reference: 'DEMO-POOL-1', forwarderSlug: 'forwarder1', from: 'DEDUI', to: 'ITBLQ', teu: 3, tonnes: 48, readyInHours: 24, windowDays: 8, maxTotalEur: 4_000, modes: ['rail'], consolidate: true },
  { reference: 'DEMO-POOL-2', forwarderSlug: 'forwarder2', from: 'DEDUI', to: 'ITBLQ', teu: 4, tonnes: 68, readyInHours: 30, windowDays: 8, maxTotalEur: 5_000, modes: ['rail', 'barge'], consolidate: true },
  { reference: 'DEMO-POOL-3', forwarderSlug: 'forwarder3', from: 'DEDUI', to: 'ITBLQ', teu: 2, tonnes: 26, readyInHours: 48, windowDays: 8, maxTotalEur: 2_600, modes: ['rail'], consolidate: true },
  // London → Bologna: three legs (Channel Tunnel, Dourges → Duisburg, Gotthard)
  { reference: 'DEMO-POOL-4', forwarderSlug: 'forwarder4', from: 'GBLHR', to: 'ITBLQ', teu: 3, tonnes: 42, readyInHours: 24, windowDays: 8, maxTotalEur: 8_000, modes: ['rail'], consolidate: true },
  // Dourges → Zaragoza (rail, €1,050 per TEU); one of them not to be consolidated with others' cargo
  { reference: 'DEMO-POOL-5', forwarderSlug: 'forwarder1', from: 'FRLIL', to: 'ESZAZ', teu: 4, tonnes: 70, readyInHours: 24, windowDays: 9, maxTotalEur: 5_000, modes: ['rail'], consolidate: true },
  { reference: 'DEMO-POOL-6', forwarderSlug: 'forwarder2', from: 'FRLIL', to: 'ESZAZ', teu: 3, tonnes: 48, readyInHours: 36, windowDays: 9, maxTotalEur: 4_000, modes: ['rail'], consolidate: false },
  // Rotterdam → Duisburg (barge €175–190 per TEU, rail €460)
  { reference: 'DEMO-POOL-7', forwarderSlug: 'forwarder3', from: 'NLRTM', to: 'DEDUI', teu: 8, tonnes: 96, readyInHours: 12, windowDays: 7, maxTotalEur: 2_000, modes: ['barge'], consolidate: true },
  { reference: 'DEMO-POOL-8', forwarderSlug: 'forwarder4', from: 'NLRTM', to: 'DEDUI', teu: 6, tonnes: 72, readyInHours: 18, windowDays: 7, maxTotalEur: 3_000, modes: ['rail', 'barge'], consolidate: true },
  // Duisburg → Basel up the Rhine (barge, €320 per TEU)
  { reference: 'DEMO-POOL-9', forwarderSlug: 'forwarder1', from: 'DEDUI', to: 'CHBSL', teu: 6, tonnes: 70, readyInHours: 24, windowDays: 10, maxTotalEur: 2_500, modes: ['barge'], consolidate: true },
];
