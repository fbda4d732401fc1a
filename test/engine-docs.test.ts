/**
 * The engine docs stay true to the code: docs/cli.md has one section per command of COMMANDS
 * (listed in its contents) naming every flag the command accepts, and an exit-code table equal to
 * EXIT_CODES; the numbers docs/concepts.md quotes match the constants.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EXIT_CODES } from '../core/errors/index.js';
import { COMMANDS } from '../cli/main.js';
import type { Command } from '../cli/command.js';
import { CHUNK_THRESHOLD } from '../core/chunk/fastcdc.js';
import { PACK_OBJECT_MAX } from '../core/store/types.js';
import { RACY_MS } from '../core/workspace/scan.js';
import { ROOT } from './helpers/cli.js';

const ENGINE_VERBS = ['init', 'add', 'rm', 'status', 'commit', 'log', 'show', 'diff', 'branch', 'checkout', 'switch', 'restore', 'tag', 'ls', 'cat', 'gc', 'fsck', 'config'];
const cli = await readFile(join(ROOT, 'docs', 'cli.md'), 'utf8');
const concepts = await readFile(join(ROOT, 'docs', 'concepts.md'), 'utf8');

describe('engine docs', () => {
  it('docs/cli.md has a "## strata <verb>" section for every engine command', () => {
    for (const v of ENGINE_VERBS) {
      assert.ok(v in COMMANDS, `${v} is a command`);
      assert.match(cli, new RegExp(`^## strata ${v}$`, 'm'), `section for ${v}`);
    }
  });

  it('docs/cli.md has a section for every command in COMMANDS, linked from its contents', () => {
    const missing = Object.keys(COMMANDS).filter((v) => !new RegExp(`^## strata ${v}$`, 'm').test(cli));
    assert.deepEqual(missing, [], 'commands without a "## strata <verb>" section in docs/cli.md');
    const contents = cli.slice(cli.indexOf('## Contents'), cli.indexOf('## Global options'));
    const unlisted = Object.keys(COMMANDS).filter((v) => !contents.includes(`(#strata-${v})`));
    assert.deepEqual(unlisted, [], 'commands missing from the contents of docs/cli.md');
  });

  it("each command's section names every flag in its options", async () => {
    const problems: string[] = [];
    for (const [verb, [mod]] of Object.entries(COMMANDS)) {
      const cmd = ((await import(`../cli/commands/${mod}.js`)) as { default: Command }).default;
      const start = cli.search(new RegExp(`^## strata ${verb}$`, 'm'));
      if (start < 0) continue; // reported by the test above
      const next = cli.indexOf('\n## ', start + 1);
      const section = cli.slice(start, next < 0 ? undefined : next);
      for (const [name, spec] of Object.entries(cmd.options ?? {})) {
        // A one-letter key is only usable as -x; otherwise --name (not a prefix of a longer flag).
        const flags = name.length === 1 ? [`-${name}`] : [`--${name}`];
        if (spec.short) flags.push(`-${spec.short}`);
        for (const f of flags) {
          const re = new RegExp(`(^|[^\\w-])${f.replace(/[-]/g, '\\-')}(?![\\w-])`);
          if (!re.test(section)) problems.push(`strata ${verb}: ${f}`);
        }
      }
    }
    assert.deepEqual(problems, [], 'flags defined in cli/commands/*.ts but not documented in their docs/cli.md section');
  });

  it('the exit-code table equals EXIT_CODES', () => {
    const table = cli.slice(cli.indexOf('## Exit codes'));
    const documented: Record<string, number> = {};
    for (const m of table.matchAll(/^\| (\d+) \| (.*) \|$/gm)) {
      for (const c of m[2]!.matchAll(/`([A-Z_]+)`/g)) documented[c[1]!] = Number(m[1]);
    }
    assert.deepEqual(documented, { ...EXIT_CODES });
  });

  it('docs/concepts.md quotes the real thresholds', () => {
    assert.equal(CHUNK_THRESHOLD, 8 * 1024 * 1024);
    assert.match(concepts, /Files of \*\*8 MiB or more\*\*/);
    assert.equal(PACK_OBJECT_MAX, 1024 * 1024);
    assert.match(concepts, /Objects under 1 MiB/);
    assert.equal(RACY_MS, 100);
    assert.match(concepts, /within 100 ms/);
  });
});
