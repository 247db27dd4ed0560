// A small History API router for Discord-shaped paths.

export type Route =
  | { name: 'login' }
  | { name: 'me'; channel?: string }
  | { name: 'guild'; guild: string; channel?: string; message?: string }
  | { name: 'invite'; code: string }
  | { name: 'unknown' };

export function parse(path: string): Route {
  const parts = path.split('/').filter(Boolean).map((p) => decodeURIComponent(p));
  if (parts.length === 0) return { name: 'me' };
  if (parts[0] === 'login') return { name: 'login' };
  if (parts[0] === 'invite' && parts[1]) return { name: 'invite', code: parts[1] };
  if (parts[0] === 'channels') {
    if (parts[1] === '@me') return { name: 'me', channel: parts[2] };
    if (parts[1] && /^\d+$/.test(parts[1])) return { name: 'guild', guild: parts[1], channel: parts[2], message: parts[3] };
  }
  return { name: 'unknown' };
}

class Router {
  path = $state(typeof location === 'undefined' ? '/' : location.pathname);
  route = $derived(parse(this.path));

  init() {
    window.addEventListener('popstate', () => (this.path = location.pathname));
  }

  go(path: string, replace = false) {
    if (path === this.path) return;
    if (replace) history.replaceState(null, '', path);
    else history.pushState(null, '', path);
    this.path = path;
  }
}

export const router = new Router();

/** Click handler for in-app links: plain left clicks stay in the SPA. */
export function link(e: MouseEvent) {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = (e.currentTarget as HTMLElement).closest('a');
  if (!a || a.target === '_blank') return;
  const href = a.getAttribute('href');
  if (!href || !href.startsWith('/')) return;
  e.preventDefault();
  router.go(href);
}
