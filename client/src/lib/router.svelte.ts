/**
 * Minimal hash router: `#/path/segments?query=string`.
 */
function parse(hash: string) {
  const raw = hash.replace(/^#/, '') || '/board';
  const qi = raw.indexOf('?');
  const path = (qi >= 0 ? raw.slice(0, qi) : raw) || '/';
  const query = new URLSearchParams(qi >= 0 ? raw.slice(qi + 1) : '');
  return { path: path.startsWith('/') ? path : '/' + path, query: Object.fromEntries(query) as Record<string, string> };
}

class Router {
  path = $state('/board');
  query = $state<Record<string, string>>({});
  segments = $derived(this.path.split('/').filter(Boolean));

  constructor() {
    if (typeof window === 'undefined') return;
    this.#read();
    window.addEventListener('hashchange', () => this.#read());
  }

  #read() {
    const { path, query } = parse(window.location.hash);
    this.path = path;
    this.query = query;
  }

  static href(path: string, query?: Record<string, string | undefined>) {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(query ?? {})) if (v) qs.set(k, v);
    const s = qs.toString();
    return '#' + path + (s ? '?' + s : '');
  }

  href(path: string, query?: Record<string, string | undefined>) {
    return Router.href(path, query);
  }

  /** Navigate. With replace, the history entry is replaced (used for filter changes). */
  go(path: string, query?: Record<string, string | undefined>, replace = false) {
    const h = Router.href(path, query);
    if (h === window.location.hash) return;
    if (replace) {
      history.replaceState(history.state, '', h);
      this.#read();
    } else {
      window.location.hash = h;
    }
  }

  /** update part of the query of the current page, keeping the path */
  setQuery(patch: Record<string, string | undefined>) {
    this.go(this.path, { ...this.query, ...patch }, true);
  }
}

export const router = new Router();
