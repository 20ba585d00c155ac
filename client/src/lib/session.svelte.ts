import { api, ApiError, setCsrfToken, setUnauthorizedHandler } from './api';
import type { Me, OrgKind, SessionState } from './types';

type Status = 'loading' | 'signed-in' | 'signed-out' | 'error';

class Session {
  status = $state<Status>('loading');
  me = $state<Me | null>(null);
  /** error while checking the session on load (server unreachable, ...) */
  loadError = $state<string | null>(null);
  /** shown on the sign-in page when the session ended by itself */
  notice = $state<string | null>(null);

  kind = $derived<OrgKind | null>(this.me?.org.kind ?? null);

  constructor() {
    setUnauthorizedHandler(() => this.#expire());
  }

  /**
   * On load: asks `GET /api/session`, which answers a signed-out visitor 200 `{ signedIn: false }`, so a
   * first visit makes no failed request (a 401 the browser would log in its console, as `/api/me` gives).
   */
  async load() {
    this.status = 'loading';
    this.loadError = null;
    try {
      const s = await api.get<SessionState>('/session', { quiet401: true });
      if (s.signedIn) {
        const { signedIn: _, ...me } = s;
        this.#set(me);
      } else this.#clear();
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) {
        this.#clear();
      } else {
        this.status = 'error';
        this.loadError = e instanceof Error ? e.message : 'Cannot reach the server.';
      }
    }
  }

  async signIn(email: string, password: string) {
    const me = await api.post<Me>('/session', { email, password }, { quiet401: true });
    this.notice = null;
    this.#set(me);
  }

  async signOut() {
    try {
      await api.del('/session', { quiet401: true });
    } catch {
      /* signed out locally either way */
    }
    this.#clear();
  }

  /** re-read /api/me (e.g. to refresh the CSRF token) */
  async refresh() {
    try {
      const me = await api.get<Me>('/me', { quiet401: true });
      this.#set(me);
      return true;
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) this.#expire();
      return false;
    }
  }

  #set(me: Me) {
    setCsrfToken(me.csrfToken ?? null);
    this.me = me;
    this.status = 'signed-in';
  }

  #clear() {
    setCsrfToken(null);
    this.me = null;
    this.status = 'signed-out';
  }

  #expire() {
    if (this.status !== 'signed-in') return;
    this.notice = 'Your session has ended. Please sign in again.';
    this.#clear();
  }
}

export const session = new Session();
