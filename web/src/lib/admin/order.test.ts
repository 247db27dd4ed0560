import { describe, expect, it } from 'vitest';
import { drop, moveItem, moves, roleMoves, step, treeOf, type ChanLike } from './order';

const chans: ChanLike[] = [
  { id: '1', type: 4, position: 0 }, // cat A
  { id: '2', type: 4, position: 1 }, // cat B
  { id: '10', type: 0, position: 0, parent_id: '1' },
  { id: '11', type: 0, position: 1, parent_id: '1' },
  { id: '20', type: 0, position: 0, parent_id: '2' },
  { id: '30', type: 0, position: 0, parent_id: null },
];

describe('channel order', () => {
  it('builds the tree as the list shows it', () => {
    expect(treeOf(chans)).toEqual({ top: ['30'], cats: [{ id: '1', chans: ['10', '11'] }, { id: '2', chans: ['20'] }] });
  });

  it('reorders categories and saves only their positions', () => {
    const t = drop(treeOf(chans), '2', '1', 'before');
    expect(t.cats.map((c) => c.id)).toEqual(['2', '1']);
    expect(moves(chans, t)).toEqual([
      { id: '2', position: 0 },
      { id: '1', position: 1 },
    ]);
  });

  it('moves a channel into another category with its new parent', () => {
    const t = drop(treeOf(chans), '11', '2', 'into');
    expect(t.cats[1]!.chans).toEqual(['20', '11']);
    expect(moves(chans, t)).toEqual([{ id: '11', position: 1, parent_id: '2' }]);
  });

  it('moves a channel before another one across categories', () => {
    const t = drop(treeOf(chans), '20', '10', 'before');
    expect(t.cats[0]!.chans).toEqual(['20', '10', '11']);
    expect(moves(chans, t)).toEqual([
      { id: '20', position: 0, parent_id: '1' },
      { id: '10', position: 1, parent_id: '1' },
      { id: '11', position: 2, parent_id: '1' },
    ]);
  });

  it('answers the same tree for a drop that changes nothing', () => {
    const t = treeOf(chans);
    expect(drop(t, '10', '11', 'before')).toBe(t);
    expect(drop(t, '10', '10', 'after')).toBe(t);
    expect(moves(chans, t)).toEqual([]);
  });

  it('steps a channel across a category edge and a category past its neighbour', () => {
    const t = treeOf(chans);
    expect(step(t, '11', 1).cats[1]!.chans).toEqual(['11', '20']);
    expect(step(t, '10', -1).top).toEqual(['30', '10']);
    expect(step(t, '30', -1)).toBe(t);
    expect(step(t, '1', 1).cats.map((c) => c.id)).toEqual(['2', '1']);
    expect(step(t, '2', 1)).toBe(t);
  });
});

describe('role order', () => {
  it('renumbers from the top and sends only what changed', () => {
    const roles = [
      { id: 'a', position: 3 },
      { id: 'b', position: 2 },
      { id: 'c', position: 1 },
    ];
    expect(roleMoves(moveItem(roles, 2, 0))).toEqual([
      { id: 'c', position: 3 },
      { id: 'a', position: 2 },
      { id: 'b', position: 1 },
    ]);
    expect(roleMoves(roles)).toEqual([]);
  });

  it('keeps the positions of roles outside the moved range', () => {
    const roles = [
      { id: 'top', position: 10 },
      { id: 'a', position: 5 },
      { id: 'b', position: 2 },
    ];
    expect(roleMoves(moveItem(roles, 2, 1))).toEqual([
      { id: 'b', position: 5 },
      { id: 'a', position: 2 },
    ]);
  });
});
