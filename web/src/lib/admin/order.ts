// The order of a guild's channels as the settings screen edits it (top-level
// channels, then categories each with their channels), the moves a drag or a
// keyboard shortcut makes on it, and the one request body that saves it
// (PATCH /guilds/{id}/channels: only what changed). Roles likewise.

export interface ChanLike {
  id: string;
  type: number;
  position?: number;
  parent_id?: string | null;
}

export interface Tree {
  top: string[];
  cats: { id: string; chans: string[] }[];
}

export type Where = 'before' | 'after' | 'into';

const CATEGORY = 4;

function cmpId(a: string, b: string) {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

const byPos = (a: ChanLike, b: ChanLike) => (a.position ?? 0) - (b.position ?? 0) || cmpId(a.id, b.id);

/** The tree as the channel list shows it (threads left out by the caller). */
export function treeOf(channels: readonly ChanLike[]): Tree {
  const cats = channels.filter((c) => c.type === CATEGORY).sort(byPos);
  const catIds = new Set(cats.map((c) => c.id));
  const rest = channels.filter((c) => c.type !== CATEGORY);
  const under = (p: string | null) => rest.filter((c) => (c.parent_id && catIds.has(c.parent_id) ? c.parent_id : null) === p).sort(byPos).map((c) => c.id);
  return { top: under(null), cats: cats.map((c) => ({ id: c.id, chans: under(c.id) })) };
}

function clone(t: Tree): Tree {
  return { top: [...t.top], cats: t.cats.map((c) => ({ id: c.id, chans: [...c.chans] })) };
}

/** Where a channel sits: its list (null parent = top) and index. */
function locate(t: Tree, id: string): { list: string[]; parent: string | null; index: number } | null {
  let i = t.top.indexOf(id);
  if (i >= 0) return { list: t.top, parent: null, index: i };
  for (const c of t.cats) {
    i = c.chans.indexOf(id);
    if (i >= 0) return { list: c.chans, parent: c.id, index: i };
  }
  return null;
}

const isCat = (t: Tree, id: string) => t.cats.some((c) => c.id === id);

/**
 * Drops `drag` relative to `target`. A category moves among categories
 * (dropped on a channel, it goes beside that channel's category); a channel
 * goes before or after a channel, or into a category (at its end). Answers
 * the same tree when the drop means nothing.
 */
export function drop(t: Tree, drag: string, target: string, where: Where): Tree {
  if (drag === target) return t;
  const n = clone(t);
  if (isCat(n, drag)) {
    let anchor = target;
    if (!isCat(n, target)) {
      const loc = locate(n, target);
      if (!loc || loc.parent === null) {
        // Above every category: first.
        const i = n.cats.findIndex((c) => c.id === drag);
        const [cat] = n.cats.splice(i, 1);
        n.cats.unshift(cat!);
        return same(t, n) ? t : n;
      }
      anchor = loc.parent;
      where = 'after';
      if (anchor === drag) return t;
    }
    const i = n.cats.findIndex((c) => c.id === drag);
    const [cat] = n.cats.splice(i, 1);
    let j = n.cats.findIndex((c) => c.id === anchor);
    if (where === 'after' || where === 'into') j++;
    n.cats.splice(j, 0, cat!);
    return same(t, n) ? t : n;
  }
  const from = locate(n, drag);
  if (!from) return t;
  from.list.splice(from.index, 1);
  if (isCat(n, target)) {
    const cat = n.cats.find((c) => c.id === target)!;
    if (where === 'before') {
      // Before a category header: the end of the list above it.
      const k = n.cats.indexOf(cat);
      (k === 0 ? n.top : n.cats[k - 1]!.chans).push(drag);
    } else cat.chans.push(drag);
  } else {
    const to = locate(n, target);
    if (!to) return t;
    to.list.splice(where === 'before' ? to.index : to.index + 1, 0, drag);
  }
  return same(t, n) ? t : n;
}

/**
 * Moves one step up or down (keyboard): a channel past the edge of its
 * category goes to the neighbouring one; a category swaps with its neighbour.
 */
export function step(t: Tree, id: string, dir: -1 | 1): Tree {
  const n = clone(t);
  const ci = n.cats.findIndex((c) => c.id === id);
  if (ci >= 0) {
    const j = ci + dir;
    if (j < 0 || j >= n.cats.length) return t;
    [n.cats[ci], n.cats[j]] = [n.cats[j]!, n.cats[ci]!];
    return n;
  }
  const loc = locate(n, id);
  if (!loc) return t;
  const j = loc.index + dir;
  if (j >= 0 && j < loc.list.length) {
    [loc.list[loc.index], loc.list[j]] = [loc.list[j]!, loc.list[loc.index]!];
    return n;
  }
  // Across a category edge: lists in order are top, cat0, cat1, …
  const lists = [n.top, ...n.cats.map((c) => c.chans)];
  const li = lists.indexOf(loc.list);
  const lj = li + dir;
  if (lj < 0 || lj >= lists.length) return t;
  loc.list.splice(loc.index, 1);
  if (dir < 0) lists[lj]!.push(id);
  else lists[lj]!.unshift(id);
  return n;
}

function same(a: Tree, b: Tree) {
  return JSON.stringify(a) === JSON.stringify(b);
}

export interface ChannelMove {
  id: string;
  position: number;
  parent_id?: string | null;
}

/** The body of PATCH /guilds/{id}/channels: every channel whose position or parent the tree changes. */
export function moves(channels: readonly ChanLike[], t: Tree): ChannelMove[] {
  const byId = new Map(channels.map((c) => [c.id, c]));
  const out: ChannelMove[] = [];
  const put = (id: string, position: number, parent: string | null, isCategory: boolean) => {
    const c = byId.get(id);
    if (!c) return;
    const parentChanged = !isCategory && (c.parent_id ?? null) !== parent;
    if ((c.position ?? 0) === position && !parentChanged) return;
    out.push(isCategory ? { id, position } : { id, position, parent_id: parent });
  };
  t.top.forEach((id, i) => put(id, i, null, false));
  t.cats.forEach((c, i) => {
    put(c.id, i, null, true);
    c.chans.forEach((id, k) => put(id, k, c.id, false));
  });
  return out;
}

/**
 * The body of PATCH /guilds/{id}/roles for a role list in its new order,
 * highest first: the positions the roles held, handed out again top to
 * bottom, so roles outside the moved range keep theirs (and a member below
 * them never asks to move them); only the roles whose position changes.
 */
export function roleMoves(rolesHighFirst: readonly { id: string; position: number }[]): { id: string; position: number }[] {
  const slots = rolesHighFirst.map((r) => r.position).sort((a, b) => b - a);
  return rolesHighFirst.map((r, i) => ({ id: r.id, position: slots[i]!, was: r.position })).filter((r) => r.position !== r.was).map(({ id, position }) => ({ id, position }));
}

/** A list with one item moved from one index to another. */
export function moveItem<T>(list: readonly T[], from: number, to: number): T[] {
  const out = [...list];
  if (from < 0 || from >= out.length || to < 0 || to >= out.length) return out;
  const [x] = out.splice(from, 1);
  out.splice(to, 0, x!);
  return out;
}
