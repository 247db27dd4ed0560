// The search box's little language (issue 16): `from:name`, `in:channel`,
// `has:file|link`, `before:date`, `after:date` and words. Pure: the panel
// resolves names to IDs with what the account knows.

export interface SearchQuery {
  content: string;
  from: string[];
  in: string[];
  has: string[];
  before?: string;
  after?: string;
  /** Filters that make no sense, said back to the person. */
  problems: string[];
}

const HAS = new Set(['file', 'link']);

export function parseSearch(raw: string): SearchQuery {
  const q: SearchQuery = { content: '', from: [], in: [], has: [], problems: [] };
  const words: string[] = [];
  // A value may be quoted: from:"Jane Doe".
  const re = /(\w+):("([^"]*)"|(\S+))|"([^"]*)"|(\S+)/g;
  for (let m = re.exec(raw); m; m = re.exec(raw)) {
    const key = m[1]?.toLowerCase();
    const value = (m[3] ?? m[4] ?? '').trim();
    if (!key) {
      words.push(m[5] ?? m[6] ?? '');
      continue;
    }
    switch (key) {
      case 'from':
        q.from.push(value.replace(/^@/, ''));
        break;
      case 'in':
        q.in.push(value.replace(/^#/, ''));
        break;
      case 'has':
        if (HAS.has(value.toLowerCase())) q.has.push(value.toLowerCase());
        else q.problems.push(`has: takes file or link, not "${value}".`);
        break;
      case 'before':
      case 'after': {
        const d = isoDate(value);
        if (d) q[key] = d;
        else q.problems.push(`${key}: takes a date like 2026-12-07, not "${value}".`);
        break;
      }
      default:
        words.push(m[0]);
    }
  }
  q.content = words.filter(Boolean).join(' ');
  return q;
}

/** A day as ISO 8601 (midnight UTC), from YYYY-MM-DD or anything Date reads. */
function isoDate(s: string): string | undefined {
  if (!s) return undefined;
  const t = /^\d{4}-\d{2}-\d{2}$/.test(s) ? Date.parse(s + 'T00:00:00Z') : Date.parse(s);
  return Number.isNaN(t) ? undefined : new Date(t).toISOString();
}
