/**
 * Per-path merge rules: `.strataattributes`, a committed text file in gitattributes style.
 *
 *     # comment
 *     data/labels/**      merge=theirs
 *     *.parquet           merge=binary
 *     data/*.csv          merge=rows key=txn_id
 *
 * One rule a line: a pattern, then `merge=DRIVER` and the driver's own `key=value` parameters.
 * Patterns: `*` matches within one path component, `?` one character, `**` any number of
 * components, `[abc]` a class; a pattern without `/` matches the file name at any depth, one with
 * `/` is anchored at the project root (a leading `/` is allowed). When several lines match a path
 * the last one wins, as in git. The file is read from the workspace (what the user edits and
 * commits, to git or to Strata) and, when absent there, from the tree being merged into.
 */
import { StrataError } from '../errors/index.js';
import { editDistance } from '../util/text.js';

export const RULES_FILE = '.strataattributes';
/** Largest rules file read (a crafted tree cannot make the merge parse megabytes of rules). */
const MAX_RULES_BYTES = 256 * 1024;

export interface MergeRule {
  pattern: string;
  driver: string;
  params: Record<string, string>;
  /** Where it was written, for messages: `.strataattributes:3`. */
  where: string;
  re: RegExp;
}

export interface MergeRules {
  rules: MergeRule[];
  /** Where the rules came from (a path or `REF:.strataattributes`), null when there are none. */
  source: string | null;
}

export const NO_RULES: MergeRules = { rules: [], source: null };

function globToRegExp(pattern: string): RegExp {
  let p = pattern.startsWith('/') ? pattern.slice(1) : pattern;
  const anchored = pattern.includes('/');
  if (p.endsWith('/')) p += '**';
  let re = '';
  for (let i = 0; i < p.length; i++) {
    const ch = p[i]!;
    if (ch === '*') {
      if (p[i + 1] === '*') {
        // `**/` any leading folders, `/**` anything below, `**` alone anything.
        if (p[i + 2] === '/') {
          re += '(?:.*/)?';
          i += 2;
        } else {
          re += '.*';
          i += 1;
        }
      } else re += '[^/]*';
    } else if (ch === '?') re += '[^/]';
    else if (ch === '[') {
      const end = p.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        const body = p.slice(i + 1, end).replace(/\\/g, '\\\\');
        re += '[' + (body.startsWith('!') ? '^' + body.slice(1) : body) + ']';
        i = end;
      }
    } else re += ch.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(anchored ? `^${re}$` : `(?:^|/)${re}$`);
}

/**
 * Parse a rules file. `known` lists the driver names that exist; an unknown one is refused with
 * the line and a suggestion, so a typo never silently falls back to the default.
 */
export function parseRules(text: string, source: string, known: readonly string[]): MergeRules {
  if (Buffer.byteLength(text, 'utf8') > MAX_RULES_BYTES) {
    throw new StrataError('CONFIG_INVALID', `${source} is larger than ${MAX_RULES_BYTES} bytes`, { hint: 'a rules file holds a few patterns; shorten it' });
  }
  const rules: MergeRule[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const where = `${source}:${i + 1}`;
    const [pattern, ...attrs] = line.split(/\s+/);
    const params: Record<string, string> = {};
    let driver: string | null = null;
    for (const a of attrs) {
      const eq = a.indexOf('=');
      if (eq <= 0) throw new StrataError('CONFIG_INVALID', `${where}: ${JSON.stringify(a)} is not name=value`, { hint: 'write e.g. data/labels/** merge=theirs' });
      const k = a.slice(0, eq);
      const v = a.slice(eq + 1);
      if (k === 'merge') driver = v;
      else params[k] = v;
    }
    if (!driver) throw new StrataError('CONFIG_INVALID', `${where}: no merge=DRIVER on the line`, { hint: `drivers: ${known.join(', ')}` });
    if (!known.includes(driver)) {
      const near = known.filter((k) => editDistance(k, driver!) <= 2);
      throw new StrataError('CONFIG_INVALID', `${where}: unknown merge driver ${JSON.stringify(driver)}`, {
        hint: `${near.length ? `did you mean ${near.join(' or ')}? ` : ''}drivers: ${known.join(', ')}`,
      });
    }
    rules.push({ pattern: pattern!, driver, params, where, re: globToRegExp(pattern!) });
  }
  return { rules, source };
}

/** The rule deciding `path` (the last matching line), or null. */
export function ruleFor(rules: MergeRules, path: string): MergeRule | null {
  for (let i = rules.rules.length - 1; i >= 0; i--) if (rules.rules[i]!.re.test(path)) return rules.rules[i]!;
  return null;
}
