/**
 * The gateway's read view (core/gateway/view.ts) on a real repository: how keys resolve to refs
 * (branches with '/', tags, commit ids and prefixes), and the bucket's listing — S3's UTF-8 byte
 * order, delimiter roll-up, pagination that neither skips nor repeats a key, start-after inside a
 * common prefix, and a branch's uncommitted rows laid over its tree.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ok, tempDir, writeFiles } from './helpers/cli.js';
import { Repository } from '../core/repo/index.js';
import { compareKeys, getObject, listKeys, resolveKey } from '../core/gateway/view.js';

let dir: string;
let cleanup: () => Promise<void>;
let repo: Repository;
let head: string;

const FILES: Record<string, string> = {
  'a.txt': 'a\n',
  'b/one.txt': '1\n',
  'b/two.txt': '2\n',
  'b/deep/x.txt': 'x\n',
  'c-d.txt': 'c\n',
  'z/\u00e9t\u00e9.txt': 'summer\n',
  'z/\u{1F600}.txt': 'smile\n',
  'z/\uFF21.txt': 'fullwidth A\n',
};

before(async () => {
  const t = await tempDir('strata-gwview-');
  dir = t.dir;
  cleanup = t.cleanup;
  await writeFiles(dir, FILES);
  await ok(dir, ['init']);
  await ok(dir, ['add', ...Object.keys(FILES).map((p) => p.split('/')[0]!).filter((v, i, a) => a.indexOf(v) === i)]);
  await ok(dir, ['commit', '-m', 'first']);
  await ok(dir, ['tag', 'v1']);
  await ok(dir, ['branch', 'team/exp']);
  repo = await Repository.open(dir);
  head = repo.head().commit!;
});
after(async () => {
  await repo.close();
  await cleanup();
});

async function all(prefix: string, delimiter: string, max: number, after = ''): Promise<{ items: string[]; pages: number }> {
  const items: string[] = [];
  let pages = 0;
  let cur = after;
  for (;;) {
    const r = await listKeys(repo, { prefix, delimiter, after: cur, max });
    pages++;
    items.push(...r.keys.map((k) => k.key), ...r.prefixes.map((p) => `[${p}]`));
    if (!r.truncated) break;
    assert.ok(r.next, 'a truncated page says where the next one starts');
    cur = r.next!;
    assert.ok(pages < 100, 'pagination ends');
  }
  return { items, pages };
}

describe('gateway view: keys to refs', () => {
  it('resolves branches (also with /), tags, full and short commit ids; nothing else', () => {
    assert.deepEqual(resolveKey(repo, 'main/b/one.txt'), { kind: 'branch', name: 'main', commit: head, path: 'b/one.txt' });
    assert.deepEqual(resolveKey(repo, 'team/exp/a.txt'), { kind: 'branch', name: 'team/exp', commit: head, path: 'a.txt' });
    assert.equal(resolveKey(repo, 'v1/a.txt')?.kind, 'tag');
    assert.deepEqual(resolveKey(repo, `${head}/a.txt`), { kind: 'commit', name: head, commit: head, path: 'a.txt' });
    assert.equal(resolveKey(repo, `${head.slice(0, 7)}/a.txt`)?.commit, head);
    assert.equal(resolveKey(repo, `${head.slice(0, 6)}/a.txt`), null, 'fewer than 7 hex digits is not a commit');
    assert.equal(resolveKey(repo, 'nope/a.txt'), null);
    assert.equal(resolveKey(repo, 'team/a.txt'), null, 'a branch name prefix is not a branch');
  });

  it('gets files, not folders, and not past the ref', async () => {
    const ref = resolveKey(repo, 'main/b/one.txt')!;
    assert.equal((await getObject(repo, ref, 'b/one.txt'))?.entry.size, 2);
    assert.equal(await getObject(repo, ref, 'b'), null);
    assert.equal(await getObject(repo, ref, 'b/nope.txt'), null);
  });
});

describe('gateway view: listing', () => {
  it('orders keys by UTF-8 bytes (S3 order), not UTF-16 units', async () => {
    const { items } = await all('main/z/', '', 1000);
    assert.deepEqual(items, ['main/z/\u00e9t\u00e9.txt', 'main/z/\uFF21.txt', 'main/z/\u{1F600}.txt']);
    assert.ok(compareKeys('\uFF21', '\u{1F600}') < 0 && '\uFF21' > '\u{1F600}', 'the two orders differ here');
  });

  it('rolls refs up into top-level prefixes, and folders under a ref', async () => {
    assert.deepEqual((await all('', '/', 1000)).items, ['[main/]', '[team/]', '[v1/]']);
    assert.deepEqual((await all('team/', '/', 1000)).items, ['[team/exp/]']);
    assert.deepEqual((await all('main/', '/', 1000)).items, ['main/a.txt', 'main/c-d.txt', '[main/b/]', '[main/z/]']);
    assert.deepEqual((await all('main/b/', '/', 1000)).items, ['main/b/one.txt', 'main/b/two.txt', '[main/b/deep/]']);
    assert.deepEqual((await all('main/b', '/', 1000)).items, ['[main/b/]']);
    assert.deepEqual((await all(`${head.slice(0, 10)}/b/`, '', 1000)).items.length, 3);
  });

  it('pages of every size give the same keys once each, with and without a delimiter', async () => {
    const whole = (await all('', '', 1000)).items;
    assert.equal(whole.length, 3 * Object.keys(FILES).length);
    for (const max of [1, 2, 3, 7]) {
      const paged = await all('', '', max);
      assert.deepEqual(paged.items, whole, `max-keys ${max}`);
      assert.equal(paged.pages, Math.ceil(whole.length / max));
    }
    const delim = (await all('main/', '/', 1000)).items.sort();
    for (const max of [1, 2, 3]) assert.deepEqual((await all('main/', '/', max)).items.sort(), delim, `delimited, max-keys ${max}`);
  });

  it('start-after inside a common prefix still returns that prefix; after it, the rest', async () => {
    const r = await listKeys(repo, { prefix: 'main/', delimiter: '/', after: 'main/b/one.txt', max: 1000 });
    assert.deepEqual([...r.keys.map((k) => k.key), ...r.prefixes], ['main/c-d.txt', 'main/b/', 'main/z/']);
    const r2 = await listKeys(repo, { prefix: 'main/', delimiter: '/', after: 'main/b/', max: 1000 });
    assert.deepEqual([...r2.keys.map((k) => k.key), ...r2.prefixes], ['main/c-d.txt', 'main/z/']);
  });

  it("lays a branch's uncommitted rows over its tree, and only that branch's", async () => {
    const one = await getObject(repo, resolveKey(repo, 'main/b/one.txt')!, 'b/one.txt');
    repo.db.putStaged([
      { branch: 'main', path: 'b/added.txt', op: 'put', entry: { ...one!.entry, path: 'b/added.txt' }, contentType: 'text/plain', time: 5 },
      { branch: 'main', path: 'b/two.txt', op: 'delete', entry: null, contentType: null, time: 6 },
    ]);
    try {
      assert.deepEqual((await all('main/b/', '', 1000)).items, ['main/b/added.txt', 'main/b/deep/x.txt', 'main/b/one.txt']);
      assert.deepEqual((await all('v1/b/', '', 1000)).items, ['v1/b/deep/x.txt', 'v1/b/one.txt', 'v1/b/two.txt']);
      const added = await getObject(repo, resolveKey(repo, 'main/b/added.txt')!, 'b/added.txt');
      assert.equal(added?.staged, true);
      assert.equal(added?.contentType, 'text/plain');
      assert.equal(await getObject(repo, resolveKey(repo, 'main/b/two.txt')!, 'b/two.txt'), null);
    } finally {
      repo.db.deleteStaged('main', 'all');
    }
    assert.deepEqual((await all('main/b/', '', 1000)).items, ['main/b/deep/x.txt', 'main/b/one.txt', 'main/b/two.txt'], 'the cached listing follows the staging stamp');
  });
});
