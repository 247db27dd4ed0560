// Shared date formatters: building an Intl.DateTimeFormat per call cost
// milliseconds per row while scrolling, so each style is built once.

const time = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const full = new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'short' });
const day = new Intl.DateTimeFormat(undefined, { dateStyle: 'long' });

export const fmtTime = (d: Date) => time.format(d);
export const fmtFull = (d: Date) => full.format(d);
export const fmtDay = (d: Date) => day.format(d);

/** A local calendar day as a cheap key. */
export const dayKey = (d: Date) => d.getFullYear() * 10000 + d.getMonth() * 100 + d.getDate();
