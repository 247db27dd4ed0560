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
