// Shared date formatters: building an Intl.DateTimeFormat per call cost
// milliseconds per row while scrolling, so each style is built once. The
// time styles show minutes at most, so their strings are also kept per
// minute: formatting a date in the full style was a tenth of a message's
// mount time while scrolling, and messages come in bursts within a minute.

const time = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const full = new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'short' });
const day = new Intl.DateTimeFormat(undefined, { dateStyle: 'long' });

/** How many minutes each formatter remembers (a window of 1,000 messages spans at most that many). */
export const MINUTES_KEPT = 2000;

/** Wraps a minute-resolution formatter with a bounded per-minute memo. */
export function perMinute(format: (d: Date) => string, keep = MINUTES_KEPT): (d: Date) => string {
  const memo = new Map<number, string>();
  return (d) => {
    const k = Math.floor(d.getTime() / 60_000);
    if (Number.isNaN(k)) return format(d);
    let s = memo.get(k);
    if (s === undefined) {
      s = format(d);
      if (memo.size >= keep) memo.delete(memo.keys().next().value!);
      memo.set(k, s);
    }
    return s;
  };
}

export const fmtTime = perMinute((d) => time.format(d));
export const fmtFull = perMinute((d) => full.format(d));
export const fmtDay = (d: Date) => day.format(d);

/** A local calendar day as a cheap key. */
export const dayKey = (d: Date) => d.getFullYear() * 10000 + d.getMonth() * 100 + d.getDate();
