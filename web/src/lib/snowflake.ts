// Snowflakes are 64-bit numbers sent as strings. Strings of different length
// sort wrongly, so they are compared as BigInt.

const EPOCH = 1420070400000n;

export function cmpId(a: string, b: string): number {
  if (a === b) return 0;
  // Fast path without allocating: a shorter decimal string is a smaller number.
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  return a < b ? -1 : 1;
}

export function bigId(a: string): bigint {
  return BigInt(a);
}

export function idTime(id: string): number {
  try {
    return Number((BigInt(id) >> 22n) + EPOCH);
  } catch {
    return 0;
  }
}

/** A snowflake for "now", used for optimistic rows until the server answers. */
export function fakeId(now = Date.now(), seq = 0): string {
  return (((BigInt(now) - EPOCH) << 22n) | BigInt(seq & 0xfff)).toString();
}
