/** strata.checks.yaml: every kind parses; malformed files name file, line and the fix. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initHash } from '../core/hash/index.js';
import { isStrataError } from '../core/errors/index.js';
import { checksFor, checksHash, parseChecks, parseDuration } from '../core/checks/spec.js';

await initHash();

const ALL = `tables:
  data/transactions.csv:
    - kind: columns
      columns: {id: BIGINT, user: varchar, note: any}
    - kind: not_null
      columns: [user]
    - kind: unique
      columns: [id, day]
    - kind: accepted_values
      column: status
      values: [ok, refunded, 3]
    - kind: range
      column: amount
      min: 0
      max: 10000
      severity: warn
    - kind: regex
      column: email
      pattern: '^[^@]+@[^@]+$'
    - kind: row_count
      min: 1
    - kind: freshness
      column: ts
      max_age: 36h
      since: commit
    - kind: foreign_key
      column: user
      to: {path: data/users.csv, column: id}
    - kind: sql
      name: no_big_refunds
      query: "SELECT * FROM t WHERE amount > 5000;"
    - kind: drift
      metric: mean
      column: amount
      max_change: 10%
    - kind: drift
      metric: row_count
      max_change: 50
  "features/**/*.parquet":
    - kind: not_null
      column: f1
`;

function problem(text: string): string {
  try {
    parseChecks(text);
  } catch (e) {
    assert.ok(isStrataError(e, 'CONFIG_INVALID'), String(e));
    return e.message;
  }
  assert.fail('expected CONFIG_INVALID for:\n' + text);
}

test('every kind parses into its typed spec, with default names and severities', () => {
  const spec = parseChecks(ALL);
  const c = checksFor(spec, 'data/transactions.csv');
  assert.deepEqual(c.map((x) => x.name), [
    'columns(id,user,note)', 'not_null(user)', 'unique(id,day)', 'accepted_values(status)', 'range(amount)', 'regex(email)',
    'row_count', 'freshness(ts)', 'foreign_key(user)', 'no_big_refunds', 'drift(mean,amount)', 'drift(row_count)',
  ]);
  const byName = new Map(c.map((x) => [x.name, x]));
  assert.deepEqual((byName.get('columns(id,user,note)') as { columns: unknown }).columns, [
    { name: 'id', type: 'BIGINT' }, { name: 'user', type: 'VARCHAR' }, { name: 'note', type: null },
  ]);
  assert.equal(byName.get('range(amount)')!.severity, 'warn');
  assert.equal(byName.get('not_null(user)')!.severity, 'error');
  assert.deepEqual((byName.get('accepted_values(status)') as { values: unknown }).values, ['ok', 'refunded', 3]);
  const f = byName.get('freshness(ts)') as { maxAgeMs: number; since: string };
  assert.equal(f.maxAgeMs, 36 * 3600_000);
  assert.equal(f.since, 'commit');
  const fk = byName.get('foreign_key(user)') as { toPath: string; toColumn: string };
  assert.deepEqual([fk.toPath, fk.toColumn], ['data/users.csv', 'id']);
  assert.equal((byName.get('no_big_refunds') as { query: string }).query, 'SELECT * FROM t WHERE amount > 5000');
  assert.equal((byName.get('drift(row_count)') as { maxChangePct: number }).maxChangePct, 50);
  assert.equal(byName.get('not_null(user)')!.line, 5);
});

test('globs: * stays in a folder, ** crosses folders', () => {
  const spec = parseChecks(ALL);
  assert.equal(checksFor(spec, 'features/a/b/x.parquet').length, 1);
  assert.equal(checksFor(spec, 'features/x.parquet').length, 1);
  assert.equal(checksFor(spec, 'features/x.csv').length, 0);
  assert.equal(checksFor(spec, 'data/transactions.csv.bak').length, 0);
  const s2 = parseChecks('tables:\n  "data/*.csv":\n    - {kind: row_count, min: 1}\n');
  assert.equal(checksFor(s2, 'data/a.csv').length, 1);
  assert.equal(checksFor(s2, 'data/sub/a.csv').length, 0);
});

test('spec hash changes with the checks and not with their line', () => {
  const a = checksFor(parseChecks('tables:\n  t.csv:\n    - {kind: row_count, min: 1}\n'), 't.csv');
  const b = checksFor(parseChecks('\n\ntables:\n  t.csv:\n    - {kind: row_count, min: 1}\n'), 't.csv');
  const c = checksFor(parseChecks('tables:\n  t.csv:\n    - {kind: row_count, min: 2}\n'), 't.csv');
  assert.equal(checksHash(a), checksHash(b));
  assert.notEqual(checksHash(a), checksHash(c));
});

test('empty file: no checks', () => {
  assert.deepEqual(parseChecks('').tables, []);
  assert.deepEqual(parseChecks('# nothing yet\n').tables, []);
});

test('malformed files: file, line, column and what to write', () => {
  assert.match(problem('tables:\n  t.csv:\n    - kind: not_nul\n      columns: [a]\n'), /^strata\.checks\.yaml:3:\d+: t\.csv: unknown check kind "not_nul"; did you mean "not_null"\?/);
  assert.match(problem('tables:\n  t.csv:\n    - kind: range\n      column: a\n      mn: 0\n'), /strata\.checks\.yaml:5:\d+: t\.csv: range: unknown key "mn"; did you mean "min"\?/);
  assert.match(problem('tables:\n  t.csv:\n    - kind: range\n      column: a\n'), /strata\.checks\.yaml:3:\d+: .*needs "min", "max" or both/);
  assert.match(problem('tables:\n  t.csv:\n    - kind: unique\n'), /:3:\d+: .*needs "columns", e\.g\. \{kind: unique, columns: \[id\]\}/);
  assert.match(problem('tables:\n  t.csv:\n    - kind: freshness\n      column: ts\n      max_age: soon\n'), /:5:\d+: .*"max_age" must be a duration like 30m, 36h, 7d or 2w, found "soon"/);
  assert.match(problem('tables:\n  t.csv:\n    - kind: regex\n      column: a\n      pattern: "(["\n'), /:5:\d+: .*not a valid regular expression/);
  assert.match(problem('tables:\n  t.csv:\n    - kind: not_null\n      columns: [a]\n      severity: fatal\n'), /:5:\d+: .*severity must be "error" or "warn"/);
  assert.match(problem('tables:\n  t.csv:\n    - kind: drift\n      metric: mean\n      max_change: 10%\n'), /:3:\d+: .*metric mean needs "column"/);
  assert.match(problem('tables:\n  t.csv:\n    - kind: drift\n      metric: median\n      column: a\n      max_change: lots\n'), /unknown metric "median"[^\n]*\n.*"max_change" must be a percentage/);
  assert.match(problem('tables:\n  t.csv:\n    - kind: foreign_key\n      column: u\n      to: users.csv\n'), /:5:\d+: .*"to" must be a map \{path, column\}/);
  assert.match(problem('tables:\n  t.csv: {kind: row_count}\n'), /:2:\d+: t\.csv: must be a list of checks/);
  assert.match(problem('tabels:\n  t.csv: []\n'), /:1:1: unknown key "tabels"; did you mean "tables"\?/);
  assert.match(problem('tables:\n  t.csv:\n    - {kind: row_count, min: 1}\n    - {kind: row_count, max: 9}\n'), /:4:\d+: .*two checks are named "row_count"; give one a "name"/);
  assert.match(problem('tables:\n  ../x.csv:\n    - {kind: row_count, min: 1}\n'), /:2:\d+: table paths must be repository-relative/);
  assert.match(problem('tables: [\n'), /^strata\.checks\.yaml:\d+:\d+: not valid YAML/);
  assert.match(problem('- a\n'), /:1:1: the file must be a map with a "tables" key/);
  // several problems at once, nearest the top first
  const many = problem('tables:\n  t.csv:\n    - kind: bogus\n    - kind: range\n      column: a\n      min: x1\n      max: []\n');
  assert.equal(many.split('\n').length, 2);
  assert.match(many.split('\n')[0]!, /:3:/);
});

test('durations', () => {
  assert.equal(parseDuration('90m'), 90 * 60_000);
  assert.equal(parseDuration('2w'), 14 * 86_400_000);
  assert.equal(parseDuration('7 days'), undefined);
});
