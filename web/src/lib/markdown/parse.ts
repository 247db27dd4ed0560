// Discord-flavoured markdown to a tree. Not CommonMark: Discord's rules
// (simple-markdown's) differ — `__x__` underlines, `||x||` hides, there is no
// raw HTML, no images, no setext headings. The renderer turns the tree into
// elements, so no text ever becomes markup.

export type Inline =
  | { t: 'text'; v: string }
  | { t: 'br' }
  | { t: 'b' | 'i' | 'u' | 's' | 'spoiler'; c: Inline[] }
  | { t: 'code'; v: string }
  | { t: 'link'; href: string; c: Inline[] }
  | { t: 'user'; id: string }
  | { t: 'role'; id: string }
  | { t: 'channel'; id: string }
  | { t: 'everyone'; v: '@everyone' | '@here' }
  | { t: 'emoji'; id: string; name: string; animated: boolean }
  | { t: 'time'; unix: number; style: string };

export type Block =
  | { t: 'p'; c: Inline[] }
  | { t: 'codeblock'; lang: string; v: string }
  | { t: 'quote'; c: Block[] }
  | { t: 'h'; level: 1 | 2 | 3; c: Inline[] }
  | { t: 'sub'; c: Inline[] }
  | { t: 'list'; ordered: boolean; start: number; items: Inline[][] };

/** Only these schemes become links; anything else stays text. */
export function safeHref(raw: string): string | null {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return null;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:' && u.protocol !== 'mailto:') return null;
  return u.href;
}

export function parse(src: string): Block[] {
  const out: Block[] = [];
  // Fenced code first: it may start anywhere and contains no markdown.
  const fence = /```(?:([A-Za-z0-9_+#.-]+)\n)?\n?([\s\S]*?)```/g;
  let last = 0;
  let m: RegExpExecArray | null;
  while ((m = fence.exec(src))) {
    if (!m[2] && !m[1]) continue; // ``` ``` with nothing inside stays text
    parseLines(src.slice(last, m.index), out);
    out.push({ t: 'codeblock', lang: (m[1] ?? '').toLowerCase(), v: (m[2] ?? '').replace(/\n$/, '') });
    last = m.index + m[0].length;
    if (src[last] === '\n') last++;
  }
  parseLines(src.slice(last), out);
  return out;
}

const HEADING = /^(#{1,3}) +(\S.*)$/;
const SUB = /^-# +(\S.*)$/;
const BULLET = /^ *[-*] +(\S.*)$/;
const ORDERED = /^ *(\d{1,9})\. +(\S.*)$/;

function parseLines(text: string, out: Block[], inQuote = false) {
  if (!text) return;
  const lines = text.split('\n');
  let para: string[] = [];
  const flush = () => {
    if (para.length) {
      out.push({ t: 'p', c: inline(para.join('\n')) });
      para = [];
    }
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (!inQuote && line.startsWith('>>> ')) {
      flush();
      const rest = [line.slice(4), ...lines.slice(i + 1)].join('\n');
      const inner: Block[] = [];
      parseLines(rest, inner, true);
      out.push({ t: 'quote', c: inner });
      return;
    }
    if (!inQuote && (line.startsWith('> ') || line === '>')) {
      flush();
      const q: string[] = [];
      while (i < lines.length && (lines[i]!.startsWith('> ') || lines[i] === '>')) {
        q.push(lines[i]!.slice(2));
        i++;
      }
      i--;
      const inner: Block[] = [];
      parseLines(q.join('\n'), inner, true);
      out.push({ t: 'quote', c: inner });
      continue;
    }
    let h: RegExpExecArray | null;
    if ((h = HEADING.exec(line))) {
      flush();
      out.push({ t: 'h', level: h[1]!.length as 1 | 2 | 3, c: inline(h[2]!) });
      continue;
    }
    if ((h = SUB.exec(line))) {
      flush();
      out.push({ t: 'sub', c: inline(h[1]!) });
      continue;
    }
    const b = BULLET.exec(line);
    const o = b ? null : ORDERED.exec(line);
    if (b || o) {
      flush();
      const ordered = !!o;
      const items: Inline[][] = [];
      const start = o ? Number(o[1]) : 1;
      while (i < lines.length) {
        const mm = ordered ? ORDERED.exec(lines[i]!) : BULLET.exec(lines[i]!);
        if (!mm) break;
        items.push(inline(ordered ? mm[2]! : mm[1]!));
        i++;
      }
      i--;
      out.push({ t: 'list', ordered, start, items });
      continue;
    }
    para.push(line);
  }
  flush();
}

const PUNCT = /[\\`*_{}[\]()#+\-.!|~<>@:]/;

/** Finds the closing delimiter, skipping escapes; -1 when there is none. */
function findClose(s: string, from: number, delim: string, notFollowedBy?: string): number {
  for (let j = from; j < s.length; j++) {
    if (s[j] === '\\') {
      j++;
      continue;
    }
    if (j > from && s.startsWith(delim, j)) {
      if (notFollowedBy && s[j + delim.length] === notFollowedBy) continue;
      return j;
    }
  }
  return -1;
}

const MENTION = /^<(@!?|@&|#)(\d{1,20})>/;
const EMOJI = /^<(a?):([A-Za-z0-9_]{1,32}):(\d{1,20})>/;
const TIME = /^<t:(-?\d{1,13})(?::([tTdDfFR]))?>/;
const ANGLE_URL = /^<(https?:\/\/[^\s>]+)>/;
const BARE_URL = /^(?:https?:\/\/)[^\s<]+[^<.,:;"')\]\s|*~_]/;
const MASKED = /^\[([^\]\n]{1,256})\]\(<?(https?:\/\/[^\s)>]+)>?\)/;

export function inline(s: string): Inline[] {
  const out: Inline[] = [];
  let text = '';
  const push = (n: Inline) => {
    if (text) {
      out.push({ t: 'text', v: text });
      text = '';
    }
    out.push(n);
  };
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    const rest = s.slice(i);
    if (c === '\\' && i + 1 < s.length && PUNCT.test(s[i + 1]!)) {
      text += s[i + 1];
      i += 2;
      continue;
    }
    if (c === '\n') {
      push({ t: 'br' });
      i++;
      continue;
    }
    if (c === '`') {
      const ticks = s.startsWith('``', i) ? 2 : 1;
      const end = s.indexOf('`'.repeat(ticks), i + ticks);
      if (end > i + ticks - 1 && end !== i + ticks) {
        push({ t: 'code', v: s.slice(i + ticks, end).replace(/^ (.*) $/s, '$1') });
        i = end + ticks;
        continue;
      }
    }
    if (c === '<') {
      let m: RegExpExecArray | null;
      if ((m = MENTION.exec(rest))) {
        const kind = m[1]!;
        push(kind === '#' ? { t: 'channel', id: m[2]! } : kind === '@&' ? { t: 'role', id: m[2]! } : { t: 'user', id: m[2]! });
        i += m[0].length;
        continue;
      }
      if ((m = EMOJI.exec(rest))) {
        push({ t: 'emoji', animated: m[1] === 'a', name: m[2]!, id: m[3]! });
        i += m[0].length;
        continue;
      }
      if ((m = TIME.exec(rest))) {
        push({ t: 'time', unix: Number(m[1]), style: m[2] ?? 'f' });
        i += m[0].length;
        continue;
      }
      if ((m = ANGLE_URL.exec(rest))) {
        const href = safeHref(m[1]!);
        if (href) {
          push({ t: 'link', href, c: [{ t: 'text', v: m[1]! }] });
          i += m[0].length;
          continue;
        }
      }
    }
    if (c === '@') {
      if (rest.startsWith('@everyone')) {
        push({ t: 'everyone', v: '@everyone' });
        i += 9;
        continue;
      }
      if (rest.startsWith('@here')) {
        push({ t: 'everyone', v: '@here' });
        i += 5;
        continue;
      }
    }
    if (c === '[') {
      const m = MASKED.exec(rest);
      const href = m ? safeHref(m[2]!) : null;
      if (m && href) {
        push({ t: 'link', href, c: inline(m[1]!).filter((n) => n.t !== 'link') });
        i += m[0].length;
        continue;
      }
    }
    if (c === 'h' && (rest.startsWith('http://') || rest.startsWith('https://'))) {
      const m = BARE_URL.exec(rest);
      const href = m ? safeHref(m[0]) : null;
      if (m && href) {
        push({ t: 'link', href, c: [{ t: 'text', v: m[0] }] });
        i += m[0].length;
        continue;
      }
    }
    const pair = (delim: string, t: 'b' | 'u' | 's' | 'spoiler', nf?: string) => {
      if (!s.startsWith(delim, i)) return false;
      const end = findClose(s, i + delim.length, delim, nf);
      if (end < 0) return false;
      push({ t, c: inline(s.slice(i + delim.length, end)) });
      i = end + delim.length;
      return true;
    };
    if (c === '*' && pair('**', 'b', '*')) continue;
    if (c === '_' && pair('__', 'u', '_')) continue;
    if (c === '~' && pair('~~', 's')) continue;
    if (c === '|' && pair('||', 'spoiler')) continue;
    if ((c === '*' || c === '_') && s[i + 1] && !/\s/.test(s[i + 1]!)) {
      // `_` italics only at word edges (snake_case stays text), as Discord.
      if (c === '_' && i > 0 && /\w/.test(s[i - 1]!)) {
        text += c;
        i++;
        continue;
      }
      const end = findItalicClose(s, i + 1, c);
      if (end > 0) {
        if (c === '_' && end + 1 < s.length && /\w/.test(s[end + 1]!)) {
          text += c;
          i++;
          continue;
        }
        push({ t: 'i', c: inline(s.slice(i + 1, end)) });
        i = end + 1;
        continue;
      }
    }
    text += c;
    i++;
  }
  if (text) out.push({ t: 'text', v: text });
  return out;
}

function findItalicClose(s: string, from: number, d: string): number {
  for (let j = from; j < s.length; j++) {
    if (s[j] === '\\') {
      j++;
      continue;
    }
    if (s[j] === d) {
      if (s[j + 1] === d) {
        // A doubled delimiter inside (bold or underline) is skipped whole.
        const end = findClose(s, j + 2, d + d);
        if (end > 0 && !(j === from)) {
          j = end + 1;
          continue;
        }
        if (j > from && !/\s/.test(s[j - 1]!)) return j;
        j++;
        continue;
      }
      if (j > from && !/\s/.test(s[j - 1]!)) return j;
    }
  }
  return -1;
}

/** Plain text of a tree, for previews (reply lines, notifications). */
export function plain(nodes: Inline[]): string {
  let s = '';
  for (const n of nodes) {
    if (n.t === 'text') s += n.v;
    else if (n.t === 'br') s += ' ';
    else if (n.t === 'code') s += n.v;
    else if ('c' in n) s += plain(n.c);
    else if (n.t === 'emoji') s += `:${n.name}:`;
    else if (n.t === 'everyone') s += n.v;
  }
  return s;
}

/** Discord's timestamp styles. */
export function formatTime(unix: number, style: string, now = Date.now()): string {
  const d = new Date(unix * 1000);
  if (Number.isNaN(d.getTime())) return String(unix);
  switch (style) {
    case 't':
      return d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
    case 'T':
      return d.toLocaleTimeString();
    case 'd':
      return d.toLocaleDateString();
    case 'D':
      return d.toLocaleDateString(undefined, { dateStyle: 'long' });
    case 'F':
      return d.toLocaleString(undefined, { dateStyle: 'full', timeStyle: 'short' });
    case 'R':
      return relative(d.getTime() - now);
    default:
      return d.toLocaleString(undefined, { dateStyle: 'long', timeStyle: 'short' });
  }
}

function relative(ms: number): string {
  const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
  const abs = Math.abs(ms);
  const units: [Intl.RelativeTimeFormatUnit, number][] = [
    ['year', 365 * 864e5],
    ['month', 30 * 864e5],
    ['day', 864e5],
    ['hour', 36e5],
    ['minute', 6e4],
    ['second', 1e3],
  ];
  for (const [u, size] of units) if (abs >= size || u === 'second') return rtf.format(Math.round(ms / size), u);
  return '';
}
