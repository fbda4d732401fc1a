/**
 * DVC's `${...}` templating for dvc.yaml, as its documentation describes it: a value that is
 * exactly `${name}` is replaced by the value itself (its type kept: a number stays a number, a
 * list a list); `${name}` inside a longer string is replaced by the value's text (numbers and
 * strings as written, booleans as `true`/`false`); `\${` stays a literal `${`. Names are dotted
 * paths with optional `[n]` list indexes (`train.layers[0]`, `item.x`). Pure.
 */

/** A templating problem: a name with no value, or a value that cannot go into a string. */
export class TemplateError extends Error {}

const WHOLE_RE = /^\$\{\s*([^{}]+?)\s*\}$/;
const PART_RE = /(\\)?\$\{\s*([^{}]+?)\s*\}/g;

/** The value at a dotted path (`a.b[0].c`) of the context, or TemplateError. */
function lookup(ctx: Record<string, unknown>, name: string): unknown {
  const parts: Array<string | number> = [];
  for (const seg of name.split('.')) {
    const m = /^([^[\]]*)((?:\[\d+\])*)$/.exec(seg);
    if (!m || (m[1] === '' && m[2] === '')) throw new TemplateError(`\${${name}} is not a variable name`);
    if (m[1] !== '') parts.push(m[1]!);
    for (const idx of m[2]!.matchAll(/\[(\d+)\]/g)) parts.push(Number(idx[1]));
  }
  let cur: unknown = ctx;
  for (const p of parts) {
    if (typeof p === 'number' || (Array.isArray(cur) && /^\d+$/.test(p))) {
      if (!Array.isArray(cur) || Number(p) >= cur.length) throw new TemplateError(`\${${name}}: no element ${p}`);
      cur = cur[Number(p)];
    } else if (cur !== null && typeof cur === 'object' && !Array.isArray(cur) && Object.prototype.hasOwnProperty.call(cur, p)) {
      cur = (cur as Record<string, unknown>)[p];
    } else {
      throw new TemplateError(`\${${name}} is not defined (define it under "vars" or in params.yaml)`);
    }
  }
  return cur;
}

function asText(name: string, v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (v === null) return 'None';
  throw new TemplateError(`\${${name}} is a ${Array.isArray(v) ? 'list' : 'dictionary'} and cannot be put inside a string (DVC's dictionary unpacking into a command is not translated; write the arguments out)`);
}

/** Interpolate one string. */
export function interpolateString(s: string, ctx: Record<string, unknown>): unknown {
  const whole = WHOLE_RE.exec(s);
  if (whole) return lookup(ctx, whole[1]!);
  if (!s.includes('${')) return s;
  return s.replace(PART_RE, (_m, esc: string | undefined, name: string) => (esc ? `\${${name}}` : asText(name, lookup(ctx, name))));
}

/** Interpolate every string (values, not keys) of a YAML value. */
export function interpolate(v: unknown, ctx: Record<string, unknown>): unknown {
  if (typeof v === 'string') return interpolateString(v, ctx);
  if (Array.isArray(v)) return v.map((x) => interpolate(x, ctx));
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      const key = interpolateString(k, ctx);
      out[typeof key === 'string' ? key : asText(k, key)] = interpolate(x, ctx);
    }
    return out;
  }
  return v;
}
