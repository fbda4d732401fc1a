/**
 * Branch patterns, as `checks.protect` holds them: branch names and globs separated by commas
 * and/or spaces (`main, release/*`). In a glob `*` matches any characters but `/` (one name
 * component), `**` any characters including `/`, `?` one character but `/`, as in the branch
 * protection rules of git hosts; everything else matches itself.
 */

const PATTERN_RE = /^[A-Za-z0-9._+@/*?-]+$/;

/** The patterns of `raw`, or what is wrong with it. */
export function parseBranchPatterns(raw: string): { ok: true; patterns: string[] } | { ok: false; why: string } {
  const patterns = raw.split(/[\s,]+/).filter((p) => p !== '');
  if (patterns.length === 0) return { ok: false, why: 'it names no branch' };
  for (const p of patterns) {
    if (!PATTERN_RE.test(p)) return { ok: false, why: `${JSON.stringify(p)} is not a branch name or glob (letters, digits, . _ + @ - /, and * ? as wildcards)` };
    if (p.startsWith('/') || p.endsWith('/') || p.includes('//')) return { ok: false, why: `${JSON.stringify(p)} has an empty name component` };
  }
  return { ok: true, patterns };
}

function globRegex(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === '*' && pattern[i + 1] === '*') {
      re += '.*';
      i++;
    } else if (ch === '*') re += '[^/]*';
    else if (ch === '?') re += '[^/]';
    else re += ch.replace(/[.+]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** The first of `patterns` that `branch` matches, or null. */
export function matchBranch(patterns: readonly string[], branch: string): string | null {
  return patterns.find((p) => globRegex(p).test(branch)) ?? null;
}
