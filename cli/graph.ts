/**
 * The lanes of `strata log --graph`, as `git log --graph` draws them: one column per line of
 * history that is still open, `*` for the commit on its own lane, `|` for the others, `\` where a
 * merge commit opens a lane for its second parent (and lanes to its right move over), `/` where a
 * lane joins another one (two branches reached their common parent) or moves left after a root
 * commit, `_` where a joining lane crosses others. Pure: nodes in, text prefixes out.
 *
 * Nodes must come children first (log's topological order); a parent that is not among the nodes
 * (log -n) keeps its lane open to the end.
 */

export interface GraphNode {
  id: string;
  parents: readonly string[];
}

export interface GraphRow {
  /** Prefix of the commit's first line ('*' on its lane), padded so the texts line up. */
  node: string;
  /** Prefix of the commit's further lines (its lanes as '|'; a root commit's lane blank). */
  body: string;
  /** Connector lines drawn after the commit (a merge opening, lanes joining or moving left). */
  after: string[];
}

export function graphRows(nodes: readonly GraphNode[]): GraphRow[] {
  let lanes: string[] = [];
  const rows: GraphRow[] = [];
  for (const n of nodes) {
    let at = lanes.indexOf(n.id);
    if (at < 0) {
      at = lanes.length;
      lanes.push(n.id);
    }
    const before = lanes.length;
    const next = [...lanes.slice(0, at), ...n.parents, ...lanes.slice(at + 1)];
    const width = 2 * Math.max(before, next.length);
    const node = pad(lanes.map((_, j) => (j === at ? '*' : '|')).join(' '), width);
    const body = pad(lanes.map((_, j) => (j === at && n.parents.length === 0 ? ' ' : '|')).join(' '), width);
    const after: string[] = [];
    if (n.parents.length > 1) {
      // Lanes 0..at stay; every lane from at+1 on is new or moved right by parents.length-1.
      const cells: string[] = [];
      for (let j = 0; j <= at; j++) cells.push('|');
      for (let j = at + 1; j < next.length; j++) cells.push('\\');
      after.push(drawShift(cells, at + 1));
    } else if (n.parents.length === 0 && at < lanes.length - 1) {
      // A root commit's lane ends: the lanes to its right move one column left.
      const line: string[] = [];
      for (let j = 0; j < at; j++) put(line, 2 * j, '|');
      for (let j = at + 1; j < lanes.length; j++) put(line, 2 * j - 1, '/');
      after.push(line.join('').trimEnd());
    }
    lanes = next;
    // Lanes waiting for the same commit join the leftmost one, one join per line.
    for (let k = dupAt(lanes); k >= 0; k = dupAt(lanes)) {
      const into = lanes.indexOf(lanes[k]!);
      const line: string[] = [];
      for (let j = 0; j < k; j++) put(line, 2 * j, '|');
      for (let p = 2 * into + 1; p < 2 * k - 1; p++) if (line[p] !== '|') put(line, p, '_');
      put(line, 2 * k - 1, '/');
      for (let j = k + 1; j < lanes.length; j++) put(line, 2 * j - 1, '/');
      after.push(line.join('').trimEnd());
      lanes.splice(k, 1);
    }
    rows.push({ node, body, after });
  }
  return rows;
}

/** A merge's opening line: '|' cells in place up to `from`, then '\' cells one column right of where they were. */
function drawShift(cells: string[], from: number): string {
  const line: string[] = [];
  for (let j = 0; j < cells.length; j++) put(line, j < from ? 2 * j : 2 * j - 1, cells[j]!);
  return line.join('').trimEnd();
}

function put(line: string[], pos: number, ch: string): void {
  while (line.length <= pos) line.push(' ');
  line[pos] = ch;
}

/** Lane cells are 2*lanes-1 wide and `width` is 2*lanes or more: the text starts after a space. */
function pad(s: string, width: number): string {
  return s.padEnd(width);
}

/** Index of the first lane that repeats an earlier lane's commit, or -1. */
function dupAt(lanes: string[]): number {
  for (let k = 1; k < lanes.length; k++) if (lanes.indexOf(lanes[k]!) < k) return k;
  return -1;
}
