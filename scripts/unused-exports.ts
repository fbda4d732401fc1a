/**
 * Unused-export check: lists every name exported from a module in cli/, core/ or server/ that no
 * other file of the project uses (test/, bench/ and web/src count as users, and so do re-exports and
 * dynamic `import()`s). A name that is used only inside its own module is reported as "drop the
 * export" (except a type: a type used in its module is part of the exported signatures there, so
 * callers may need to name it); one used nowhere at all is dead code.
 *
 * It uses the TypeScript compiler API on the same files as tsconfig.json plus web/src, so a use is
 * found by symbol resolution, not by text search: `import { a as b }`, `export * from`, `import * as
 * ns` followed by `ns.a`, `const { a } = await import('./m.js')` and `import('./m.js').A` types all
 * resolve to the declaration they name.
 *
 * Run: `node dist/scripts/unused-exports.js` (exit 1 and one line per finding when any is found).
 */
import ts from 'typescript';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readdirSync, statSync } from 'node:fs';

/** Exports kept although nothing in the project imports them, with the reason. Keys are
 * "path:name" (path relative to the root, forward slashes); a "*" path part matches any file name. */
export const ALLOW: Record<string, string> = {
  // cli/main.ts loads each command module by a computed name: import(`./commands/${name}.js`).
  'cli/commands/*:default': 'loaded by name from cli/main.ts',
  // bin/strata.js (plain JavaScript, outside the program) imports dist/cli/main.js and calls main().
  'cli/main.ts:main': 'the entry point bin/strata.js calls',
};

/** Files checked for exports. Parallel branches may be rewriting some; see IGNORED. */
const CHECKED_DIRS = ['cli', 'core', 'server'];
/** Files whose exports are not reported (their uses of others still count). */
export const IGNORED: string[] = [];

export interface Finding {
  file: string;
  name: string;
  /** true: used inside its own module, so only the `export` keyword is unneeded */
  usedLocally: boolean;
}

function walkTs(dir: string, out: string[]): void {
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) walkTs(p, out);
    else if (p.endsWith('.ts') && !p.endsWith('.d.ts')) out.push(p);
  }
}

function allowed(rel: string, name: string): boolean {
  if (ALLOW[`${rel}:${name}`]) return true;
  for (const key of Object.keys(ALLOW)) {
    const i = key.lastIndexOf(':');
    if (key.slice(i + 1) !== name) continue;
    const re = new RegExp('^' + key.slice(0, i).replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]+') + '\\.ts$');
    if (re.test(rel)) return true;
  }
  return false;
}

export function findUnusedExports(root: string): Finding[] {
  const cfgPath = join(root, 'tsconfig.json');
  const cfg = ts.readConfigFile(cfgPath, ts.sys.readFile);
  const parsed = ts.parseJsonConfigFileContent(cfg.config, ts.sys, root);
  const webFiles: string[] = [];
  try {
    walkTs(join(root, 'web', 'src'), webFiles);
  } catch {
    /* no web UI sources */
  }
  const program = ts.createProgram({
    rootNames: [...parsed.fileNames, ...webFiles],
    options: { ...parsed.options, noEmit: true, allowImportingTsExtensions: true },
  });
  const checker = program.getTypeChecker();
  const rel = (f: string) => relative(root, f).split(sep).join('/');
  const ours = program.getSourceFiles().filter((sf) => !sf.isDeclarationFile && !rel(sf.fileName).startsWith('..') && !rel(sf.fileName).includes('node_modules/'));

  const usedElsewhere = new Set<ts.Symbol>();
  const usedInOwnFile = new Set<ts.Symbol>();
  const declFile = (s: ts.Symbol) => s.declarations?.[0]?.getSourceFile().fileName;

  const mark = (s: ts.Symbol | undefined, from: ts.SourceFile, countOwn = true) => {
    const seen = new Set<ts.Symbol>();
    while (s && !seen.has(s)) {
      seen.add(s);
      if (declFile(s) !== from.fileName) usedElsewhere.add(s);
      else if (countOwn) usedInOwnFile.add(s);
      countOwn = true;
      if (!(s.flags & ts.SymbolFlags.Alias)) break;
      try {
        s = checker.getImmediateAliasedSymbol(s);
      } catch {
        // an alias with no declaration of its own (e.g. a property of a namespace object)
        s = checker.getAliasedSymbol(s as ts.Symbol);
      }
    }
  };
  const markAllOf = (moduleSym: ts.Symbol | undefined, from: ts.SourceFile) => {
    if (!moduleSym) return;
    for (const e of checker.getExportsOfModule(moduleSym)) mark(e, from);
  };

  for (const sf of ours) {
    const visit = (node: ts.Node): void => {
      if (ts.isIdentifier(node)) {
        // A declaration's own name and an export specifier are not uses inside the module
        // (but what an export specifier points to in another module is a use of that).
        const p = node.parent as ts.Node & { name?: ts.Node };
        const isDeclName = (ts.isDeclarationStatement(p) || ts.isVariableDeclaration(p) || ts.isClassElement(p) || ts.isParameter(p) || ts.isTypeElement(p) || ts.isEnumMember(p)) && p.name === node;
        mark(checker.getSymbolAtLocation(node), sf, !isDeclName && !ts.isExportSpecifier(p));
      } else if (ts.isBindingElement(node) && ts.isObjectBindingPattern(node.parent)) {
        // const { a, b: c } = await import('./m.js')  or  = someModuleNamespace
        const key = node.propertyName ?? node.name;
        if (ts.isIdentifier(key)) {
          const t = checker.getTypeAtLocation(node.parent);
          mark(t.getProperty(key.text), sf);
        }
      } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && !node.exportClause) {
        // export * from './m.js': counts as a use of everything m exports.
        markAllOf(checker.getSymbolAtLocation(node.moduleSpecifier), sf);
      } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
        const arg = node.arguments[0];
        let p: ts.Node = node.parent;
        while (ts.isAwaitExpression(p) || ts.isParenthesizedExpression(p)) p = p.parent;
        const destructured = ts.isVariableDeclaration(p) && ts.isObjectBindingPattern(p.name);
        const accessed = ts.isPropertyAccessExpression(p);
        if (arg && ts.isStringLiteral(arg) && !destructured && !accessed) {
          // import('./m.js').then((m) => ...) and the like: every export may be used.
          markAllOf(checker.getSymbolAtLocation(arg), sf);
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }

  const findings: Finding[] = [];
  for (const sf of ours) {
    const r = rel(sf.fileName);
    if (!CHECKED_DIRS.some((d) => r.startsWith(d + '/'))) continue;
    if (IGNORED.includes(r)) continue;
    const modSym = checker.getSymbolAtLocation(sf);
    if (!modSym) continue;
    for (const e of checker.getExportsOfModule(modSym)) {
      if (usedElsewhere.has(e)) continue;
      // An alias declared here (export { x } from / export { x as y }) is reported like a declaration.
      if (declFile(e) !== sf.fileName) continue;
      const name = e.escapedName as string;
      if (allowed(r, name)) continue;
      const usedLocally = usedInOwnFile.has(e) || localUse(e);
      // A type used in its own module is named by that module's exported signatures (options and
      // results of exported functions): it stays exported so that callers can name it.
      if (usedLocally && e.flags & (ts.SymbolFlags.Interface | ts.SymbolFlags.TypeAlias)) continue;
      findings.push({ file: r, name, usedLocally });
    }
  }
  findings.sort((a, b) => (a.file === b.file ? a.name.localeCompare(b.name) : a.file.localeCompare(b.file)));
  return findings;

  function localUse(e: ts.Symbol): boolean {
    // `export default expr` / `export { local as name }`: the local behind it may be used in the file.
    if (e.flags & ts.SymbolFlags.Alias) return usedInOwnFile.has(checker.getAliasedSymbol(e));
    return false;
  }
}

const isMain = process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1];
if (isMain) {
  // dist/scripts/unused-exports.js -> the repository root is two levels up.
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const found = findUnusedExports(root);
  for (const f of found) {
    process.stdout.write(`${f.file}: ${f.name} — ${f.usedLocally ? 'used only in its own module: drop the export' : 'used nowhere: delete it'}\n`);
  }
  if (found.length) {
    process.stdout.write(`${found.length} unused export(s). Add a reason to ALLOW in scripts/unused-exports.ts only for a real public entry point.\n`);
    process.exit(1);
  }
  process.stdout.write('unused-exports: every export in cli/, core/, server/ is used\n');
}
