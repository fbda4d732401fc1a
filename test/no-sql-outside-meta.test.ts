/**
 * All SQLite SQL lives behind core/meta (the MetaStore interface, core/meta/interface.ts) and all
 * DuckDB SQL over table files in core/tables (the table engine and the checks it runs): this test
 * fails, listing file:line of each offender, when a .ts file of cli/, core/ or server/ outside
 * core/meta and core/tables holds SQL in a string literal, prepares a statement, or loads better-sqlite3.
 *
 * Only string literals (quotes and template literals, comments stripped) are searched for SQL, and
 * only for statement shapes written in upper case as this code base writes SQL (SELECT ... FROM,
 * INSERT INTO, UPDATE x SET, DELETE FROM, CREATE/DROP/ALTER TABLE|INDEX, PRAGMA x, WITH
 * RECURSIVE): prose in messages and comments ("select a file from", "delete from S3") and S3
 * words do not match. Code is searched for the driver's entry points (.prepare(, .pragma(,
 * .stmt(, db.exec().
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { ROOT } from './helpers/cli.js';

const SQL_IN_LITERAL: Array<[string, RegExp]> = [
  ['SELECT ... FROM', /\bSELECT\b[\s\S]*?\bFROM\b/],
  ['INSERT INTO', /\bINSERT\s+(?:OR\s+[A-Z]+\s+)?INTO\b/],
  ['UPDATE ... SET', /\bUPDATE\s+["\w]+\s+SET\b/],
  ['DELETE FROM', /\bDELETE\s+FROM\b/],
  ['CREATE/DROP/ALTER', /\b(?:CREATE|DROP|ALTER)\s+(?:UNIQUE\s+)?(?:TABLE|INDEX|VIEW|TRIGGER)\b/],
  ['PRAGMA', /\bPRAGMA\s+\w+/],
  ['WITH RECURSIVE', /\bWITH\s+RECURSIVE\b/],
  ['better-sqlite3', /^better-sqlite3$/],
];

const SQL_IN_CODE: Array<[string, RegExp]> = [
  ['.prepare(', /\.prepare\s*\(/],
  ['.pragma(', /\.pragma\s*\(/],
  ['.stmt(', /(?:\.|\b)stmt\s*\(/],
  ['db.exec(', /\bdb\s*\.\s*exec\s*\(/],
];

interface Piece {
  kind: 'code' | 'literal';
  text: string;
  line: number;
}

/**
 * Split TypeScript source into code and string-literal pieces, dropping comments. Regex literals
 * are recognized by what precedes a `/` (an operator, an opening bracket, `return`...), so a quote
 * inside a regex does not open a string. Template literal holes (${...}) are scanned as code.
 */
export function splitSource(src: string): Piece[] {
  const out: Piece[] = [];
  let i = 0;
  let line = 1;
  let code = '';
  let codeLine = 1;
  const flushCode = () => {
    if (code) out.push({ kind: 'code', text: code, line: codeLine });
    code = '';
    codeLine = line;
  };
  const stack: number[] = []; // brace depth at each open template hole
  let depth = 0;
  const regexMayStart = () => {
    const before = code.replace(/\s+$/, '');
    if (before === '') return true;
    if (/(?:^|[^\w$])(?:return|typeof|case|in|of|void|yield|await)$/.test(before)) return true;
    return /[(,=:[!&|?{};+\-*%<>~^]$/.test(before);
  };
  const readString = (q: string): void => {
    const start = line;
    let s = '';
    i++;
    while (i < src.length && src[i] !== q) {
      if (src[i] === '\\') {
        s += src[i]! + (src[i + 1] ?? '');
        i += 2;
        continue;
      }
      if (src[i] === '\n') line++;
      s += src[i];
      i++;
    }
    i++;
    out.push({ kind: 'literal', text: s, line: start });
  };
  const readTemplate = (): void => {
    // from just after a backtick (or a closing hole brace) up to the next backtick or hole
    const start = line;
    let s = '';
    while (i < src.length) {
      const c = src[i]!;
      if (c === '\\') {
        s += c + (src[i + 1] ?? '');
        i += 2;
        continue;
      }
      if (c === '`') {
        i++;
        out.push({ kind: 'literal', text: s, line: start });
        return;
      }
      if (c === '$' && src[i + 1] === '{') {
        i += 2;
        out.push({ kind: 'literal', text: s, line: start });
        stack.push(depth);
        depth++;
        return;
      }
      if (c === '\n') line++;
      s += c;
      i++;
    }
    out.push({ kind: 'literal', text: s, line: start });
  };
  while (i < src.length) {
    const c = src[i]!;
    const n = src[i + 1];
    if (c === '/' && n === '/') {
      while (i < src.length && src[i] !== '\n') i++;
      continue;
    }
    if (c === '/' && n === '*') {
      const end = src.indexOf('*/', i + 2);
      const stop = end < 0 ? src.length : end + 2;
      const nl = src.slice(i, stop).replace(/[^\n]/g, '');
      line += nl.length;
      i = stop;
      code += nl || ' '; // keep the line count of the code piece
      continue;
    }
    if (c === '/' && regexMayStart()) {
      // regex literal: up to the unescaped closing slash outside a character class
      let inClass = false;
      code += c;
      i++;
      while (i < src.length && src[i] !== '\n') {
        const r = src[i]!;
        code += r;
        i++;
        if (r === '\\') {
          code += src[i] ?? '';
          i++;
        } else if (r === '[') inClass = true;
        else if (r === ']') inClass = false;
        else if (r === '/' && !inClass) break;
      }
      continue;
    }
    if (c === '"' || c === "'") {
      flushCode();
      readString(c);
      codeLine = line;
      continue;
    }
    if (c === '`') {
      flushCode();
      i++;
      readTemplate();
      codeLine = line;
      continue;
    }
    if (c === '{') depth++;
    if (c === '}') {
      depth--;
      if (stack.length && stack[stack.length - 1] === depth) {
        stack.pop();
        flushCode();
        i++;
        readTemplate();
        codeLine = line;
        continue;
      }
    }
    if (c === '\n') line++;
    code += c;
    i++;
  }
  flushCode();
  return out;
}

/** Offences in one source text: `line: what`. */
export function sqlOffences(src: string): string[] {
  const found: string[] = [];
  for (const p of splitSource(src)) {
    const rules = p.kind === 'literal' ? SQL_IN_LITERAL : SQL_IN_CODE;
    for (const [name, re] of rules) {
      const m = re.exec(p.text);
      if (!m) continue;
      const line = p.line + (p.text.slice(0, m.index).match(/\n/g)?.length ?? 0);
      found.push(`${line}: ${name}`);
    }
  }
  return found;
}

async function tsFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await tsFiles(p)));
    else if (e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

test('the scanner finds SQL in string literals and driver calls, not in comments, prose or S3 words', () => {
  const sample = [
    "// SELECT id FROM runs in a comment is fine",
    "/* DELETE FROM refs",
    "   over two lines */",
    "const msg = 'select a file from the list, or delete from the remote with strata push --delete';",
    "const s3 = 'DeleteObjects'; const upd = 'UPDATE the remote';",
    "const re = /[\"'`]/g; const x = 'ok';",
    "const q = db.stmt('SELECT id FROM runs WHERE id = ?');",
    "const t = `",
    "  INSERT OR IGNORE INTO refs(name) VALUES (${name})`;",
    "raw.prepare('x');",
  ].join('\n');
  assert.deepEqual(sqlOffences(sample), ['7: .stmt(', '7: SELECT ... FROM', '9: INSERT INTO', '10: .prepare(']);
});

test('no SQL outside core/meta and core/tables (cli/, core/, server/)', async () => {
  const offenders: string[] = [];
  let scanned = 0;
  for (const top of ['cli', 'core', 'server']) {
    for (const f of await tsFiles(join(ROOT, top))) {
      const rel = relative(ROOT, f).split(sep).join('/');
      if (rel.startsWith('core/meta/')) continue;
      // DuckDB SQL over table files: the table engine (core/tables) and nowhere else.
      if (rel.startsWith('core/tables/')) continue;
      scanned++;
      for (const o of sqlOffences(await readFile(f, 'utf8'))) offenders.push(`${rel}:${o}`);
    }
  }
  assert.ok(scanned > 50, `scanned only ${scanned} files: is ROOT right?`);
  assert.deepEqual(offenders, [], `SQL outside core/meta and core/tables (SQLite: a MetaStore method, core/meta/interface.ts; DuckDB: core/tables):\n${offenders.join('\n')}`);
});
