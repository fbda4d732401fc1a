/** The lanes of strata log --graph (cli/graph.ts): exact rendering of the shapes history takes. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { graphRows, type GraphNode } from '../cli/graph.js';

/** Render as log --graph --oneline does: the node prefix, the id, then the connector lines. */
function draw(nodes: GraphNode[]): string {
  const rows = graphRows(nodes);
  return nodes.map((n, i) => [rows[i]!.node + n.id, ...rows[i]!.after].join('\n')).join('\n');
}

describe('log --graph lanes', () => {
  it('linear history: one lane', () => {
    assert.equal(draw([{ id: 'c', parents: ['b'] }, { id: 'b', parents: ['a'] }, { id: 'a', parents: [] }]), ['* c', '* b', '* a'].join('\n'));
  });

  it('a merge opens a lane for its second parent; the branches join at their base', () => {
    const out = draw([
      { id: 'M', parents: ['A', 'S'] },
      { id: 'A', parents: ['B'] },
      { id: 'S', parents: ['B'] },
      { id: 'B', parents: [] },
    ]);
    assert.equal(out, ['*   M', '|\\', '* | A', '| * S', '|/', '* B'].join('\n'));
  });

  it('two diverged branches (log --all): a second lane that joins the first at the fork', () => {
    const out = draw([
      { id: 't1', parents: ['base'] },
      { id: 'm2', parents: ['m1'] },
      { id: 'm1', parents: ['base'] },
      { id: 'base', parents: [] },
    ]);
    assert.equal(out, ['* t1', '| * m2', '| * m1', '|/', '* base'].join('\n'));
  });

  it('a merge next to another open lane shifts it right', () => {
    const out = draw([
      { id: 'x', parents: ['B'] },
      { id: 'M', parents: ['A', 'S'] },
      { id: 'A', parents: ['B'] },
      { id: 'S', parents: ['B'] },
      { id: 'B', parents: [] },
    ]);
    assert.equal(out, ['* x', '| *   M', '| |\\', '| * | A', '|/ /', '| * S', '|/', '* B'].join('\n'));
  });

  it('a lane joining across another one is drawn with _', () => {
    const out = draw([
      { id: 't', parents: ['B'] },
      { id: 'u', parents: ['y'] },
      { id: 'v', parents: ['B'] },
      { id: 'y', parents: ['B'] },
      { id: 'B', parents: [] },
    ]);
    assert.equal(out, ['* t', '| * u', '| | * v', '|_|/', '| * y', '|/', '* B'].join('\n'));
  });

  it('a root commit on the left: the lanes to its right move over', () => {
    const out = draw([
      { id: 'M', parents: ['R', 'X'] },
      { id: 'R', parents: [] },
      { id: 'X', parents: [] },
    ]);
    assert.equal(out, ['*   M', '|\\', '* | R', ' /', '* X'].join('\n'));
  });

  it('body lines carry the lanes; a parent outside the list (log -n) keeps its lane', () => {
    const rows = graphRows([{ id: 'M', parents: ['A', 'S'] }, { id: 'A', parents: ['B'] }]);
    assert.deepEqual(rows.map((r) => [r.node, r.body, r.after]), [
      ['*   ', '|   ', ['|\\']],
      ['* | ', '| | ', []],
    ]);
  });
});
