import { parse, type Block } from './parse';

// Parsed trees of rendered rows, keyed by message id + edit time; bounded so
// scrolling through a long channel does not keep every tree.
const MAX = 2000;
const cache = new Map<string, Block[]>();

export function parseCached(content: string, key?: string): Block[] {
  if (!key) return parse(content);
  const hit = cache.get(key);
  if (hit) {
    cache.delete(key);
    cache.set(key, hit);
    return hit;
  }
  const tree = parse(content);
  cache.set(key, tree);
  if (cache.size > MAX) cache.delete(cache.keys().next().value as string);
  return tree;
}

const plainOf = new WeakMap<Block[], string | null>();

/**
 * The text of a tree that is one paragraph of plain text (most messages),
 * else null. Such a row is rendered as one element and one text node instead
 * of the block and inline components: mounting rows is most of what
 * scrolling back costs, and the components cost effects and anchors per row.
 */
export function plainParagraph(tree: Block[]): string | null {
  const hit = plainOf.get(tree);
  if (hit !== undefined) return hit;
  let text: string | null = null;
  const b = tree.length === 1 ? tree[0]! : null;
  if (b && b.t === 'p' && b.c.every((n) => n.t === 'text')) text = b.c.map((n) => (n as { v: string }).v).join('');
  plainOf.set(tree, text);
  return text;
}
