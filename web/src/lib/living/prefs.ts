// This browser's own preferences (issue 16): appearance and how
// notifications are shown. Kept in localStorage: they belong to the device,
// not the account (the theme and compact mode also go to user settings).

export interface Appearance {
  theme: string;
  compact: boolean;
  fontSize: number;
}

export interface NotifyPrefs {
  desktop: boolean;
  sound: boolean;
}

const LOOK = 'hearth.appearance';
const NOTIFY = 'hearth.notifications';

function read<T>(key: string, fallback: T): T {
  try {
    const v = JSON.parse(localStorage.getItem(key) ?? 'null') as Partial<T> | null;
    return v && typeof v === 'object' ? { ...fallback, ...v } : fallback;
  } catch {
    return fallback;
  }
}

export function appearance(): Appearance {
  return read<Appearance>(LOOK, { theme: localStorage.getItem('hearth.theme') ?? 'system', compact: false, fontSize: 16 });
}

/** Applies the appearance to the page (and keeps it when `save`). */
export function applyAppearance(a: Appearance, save = false) {
  const root = document.documentElement;
  if (a.theme === 'system') delete root.dataset.theme;
  else root.dataset.theme = a.theme;
  if (a.compact) root.dataset.compact = '';
  else delete root.dataset.compact;
  root.style.fontSize = a.fontSize === 16 ? '' : `${Math.min(20, Math.max(12, a.fontSize))}px`;
  if (save) {
    localStorage.setItem(LOOK, JSON.stringify(a));
    localStorage.setItem('hearth.theme', a.theme);
  }
}

export function notifyPrefs(): NotifyPrefs {
  return read<NotifyPrefs>(NOTIFY, { desktop: true, sound: true });
}

export function saveNotifyPrefs(p: NotifyPrefs) {
  localStorage.setItem(NOTIFY, JSON.stringify(p));
}
