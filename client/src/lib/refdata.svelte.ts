/** Clusters and corridors: reference data, loaded once per sign-in. */
import { api } from './api';
import type { Cluster, Corridor } from './types';
import { fmtNum } from './format';

class RefData {
  clusters = $state<Cluster[]>([]);
  corridors = $state<Corridor[]>([]);
  loaded = $state(false);
  #pending: Promise<void> | null = null;

  clusterById = $derived(new Map(this.clusters.map((c) => [c.id, c])));
  clusterByCode = $derived(new Map(this.clusters.map((c) => [c.code, c])));
  corridorById = $derived(new Map(this.corridors.map((c) => [c.id, c])));
  /** clusters sorted by name, for selects */
  sortedClusters = $derived([...this.clusters].sort((a, b) => a.name.localeCompare(b.name)));
  /** the options of the statistics filters: clusters by name, corridors by "Duisburg → Bologna · rail" */
  clusterOptions = $derived(this.sortedClusters.map((c) => ({ code: c.code, name: c.name })));
  corridorOptions = $derived(
    this.corridors
      .map((c) => {
        const k = this.corridorCodes(c);
        return { id: c.id, label: `${this.clusterName(k.from)} → ${this.clusterName(k.to)} · ${c.mode}`, mode: c.mode };
      })
      .sort((a, b) => a.label.localeCompare(b.label)),
  );

  /** corridors grouped by mode (rail first), each group by origin then destination name: the departure form's choice */
  corridorsByMode = $derived.by(() => {
    const groups = new Map<string, Corridor[]>();
    const title = (c: Corridor) => `${this.clusterName(this.corridorCodes(c).from)} ${this.clusterName(this.corridorCodes(c).to)}`;
    for (const c of [...this.corridors].sort((a, b) => title(a).localeCompare(title(b)))) {
      groups.set(c.mode, [...(groups.get(c.mode) ?? []), c]);
    }
    return [...groups].sort(([a], [b]) => (a === 'rail' ? -1 : b === 'rail' ? 1 : a.localeCompare(b)));
  });

  /** load (or reuse the pending / finished load); throws ApiError */
  ensure(force = false): Promise<void> {
    if (this.loaded && !force) return Promise.resolve();
    if (this.#pending) return this.#pending;
    this.#pending = (async () => {
      try {
        const [clusters, corridors] = await Promise.all([
          api.get<Cluster[]>('/clusters'),
          api.get<Corridor[]>('/corridors'),
        ]);
        this.clusters = clusters;
        this.corridors = corridors;
        this.loaded = true;
      } finally {
        this.#pending = null;
      }
    })();
    return this.#pending;
  }

  reset() {
    this.clusters = [];
    this.corridors = [];
    this.loaded = false;
  }

  clusterLabel(code: string) {
    const c = this.clusterByCode.get(code);
    return c ? `${c.name} (${c.code})` : code;
  }

  clusterName(code: string) {
    return this.clusterByCode.get(code)?.name ?? code;
  }

  corridorCodes(c: Corridor) {
    return {
      from: this.clusterById.get(c.fromClusterId)?.code ?? '?',
      to: this.clusterById.get(c.toClusterId)?.code ?? '?',
    };
  }

  /** "Duisburg → Bologna · rail · 1,150 km" */
  corridorTitle(c: Corridor) {
    const from = this.clusterById.get(c.fromClusterId)?.name ?? '?';
    const to = this.clusterById.get(c.toClusterId)?.name ?? '?';
    return `${from} → ${to} · ${c.mode} · ${fmtNum(c.distanceKm)} km`;
  }
}

export const refdata = new RefData();
