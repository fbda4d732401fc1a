/**
 * The server reaches the repository only through operations (core/ops) and types: no file under
 * server/ may import a runtime value from core/meta, core/store or core/repo — by a static import,
 * an `export ... from`, or a dynamic import(). `import type` (and imports whose every name is
 * `type`, which TypeScript erases) are allowed: a route may name the Repository type it passes on.
 * The TypeScript parser reads each file, so comments and strings cannot hide or fake an import.
 * ARCH-NOTES-srvimports.md says what the server may import and why.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';
import { ROOT } from './helpers/cli.js';

const FORBIDDEN = ['core/meta', 'core/store', 'core/repo'];

interface Offence {
  line: number;
  spec: string;
  how: string;
}

function erased(clause: ts.ImportClause | undefined): boolean {
  if (!clause) return false; // import 'x' runs the module
  if (clause.isTypeOnly) return true;
  if (clause.name) return false;
  const nb = clause.namedBindings;
  if (!nb || ts.isNamespaceImport(nb)) return false;
  return nb.elements.length > 0 && nb.elements.every((e) => e.isTypeOnly);
}

/** Runtime imports in `src` (a .ts file at `file`) of a module under one of FORBIDDEN. */
export function runtimeCoreImports(file: string, src: string): Offence[] {
  const sf = ts.createSourceFile(file, src, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const out: Offence[] = [];
  const check = (node: ts.Node, spec: ts.Expression | undefined, how: string): void => {
    if (!spec || !ts.isStringLiteralLike(spec)) {
      if (how === 'import()') out.push({ line: sf.getLineAndCharacterOfPosition(node.getStart()).line + 1, spec: '<computed>', how: 'import() of a computed specifier' });
      return;
    }
    if (!spec.text.startsWith('.')) return;
    const target = relative(ROOT, resolve(dirname(file), spec.text)).split(sep).join('/');
    if (FORBIDDEN.some((f) => target === f || target.startsWith(f + '/'))) {
      out.push({ line: sf.getLineAndCharacterOfPosition(node.getStart()).line + 1, spec: spec.text, how });
    }
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) {
      if (!erased(node.importClause)) check(node, node.moduleSpecifier, 'import');
    } else if (ts.isExportDeclaration(node)) {
      const typeOnly = node.isTypeOnly || (node.exportClause !== undefined && ts.isNamedExports(node.exportClause) && node.exportClause.elements.length > 0 && node.exportClause.elements.every((e) => e.isTypeOnly));
      if (node.moduleSpecifier && !typeOnly) check(node, node.moduleSpecifier, 'export from');
    } else if (ts.isImportEqualsDeclaration(node)) {
      if (!node.isTypeOnly && ts.isExternalModuleReference(node.moduleReference)) check(node, node.moduleReference.expression, 'import =');
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      check(node, node.arguments[0], 'import()');
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

async function tsFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await tsFiles(p)));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

test('server/ imports nothing at run time from core/meta, core/store or core/repo', async () => {
  const files = await tsFiles(join(ROOT, 'server'));
  assert.ok(files.length >= 5, `expected the server's sources under ${join(ROOT, 'server')}`);
  const offences: string[] = [];
  for (const f of files) {
    for (const o of runtimeCoreImports(f, await readFile(f, 'utf8'))) offences.push(`${relative(ROOT, f)}:${o.line}: ${o.how} '${o.spec}'`);
  }
  assert.deepEqual(offences, [], `the server must reach the repository through core/ops (operations) and types only:\n${offences.join('\n')}\nmove the logic into an operation in core/ops/, or use \`import type\` for a type`);
});

test('the scanner finds every form of runtime import and lets type-only imports through', () => {
  const file = join(ROOT, 'server', 'example.ts');
  const src = [
    "import type { Repository } from '../core/repo/index.js';", // 1 allowed
    "import { type RefEntry } from '../core/store/refs.js';", // 2 allowed (erased)
    "import { checkRefName } from '../core/store/refs.js';", // 3
    "import { x, type Y } from '../core/meta/runs.js';", // 4
    "import * as repo from '../core/repo/index.js';", // 5
    "import '../core/store/s3/index.js';", // 6
    "export { refConflict } from '../core/store/refs.js';", // 7
    "export type { RunRecord } from '../core/meta/runs.js';", // 8 allowed
    "const m = await import('../core/meta/runs.js');", // 9
    "// import { a } from '../core/store/refs.js';", // 10 a comment
    "const s = \"import { a } from '../core/repo/x.js'\";", // 11 a string
    "import { listRefs } from '../core/ops/protocol.js';", // 12 allowed
    "import { StrataError } from '../core/errors/index.js';", // 13 allowed
    "type T = typeof import('../core/repo/index.js');", // 14 allowed (a type)
    "import { y } from '../core/repository/x.js';", // 15 allowed (another folder)
  ].join('\n');
  const found = runtimeCoreImports(file, src).map((o) => `${o.line} ${o.how}`);
  assert.deepEqual(found, ['3 import', '4 import', '5 import', '6 import', '7 export from', '9 import()']);
});
