/**
 * The one parser of time options (`strata runs --since`): every time a user types reads the same way.
 * - a date, `2025-01-31`: midnight UTC of that day;
 * - a date and time without a zone, `2025-01-31T12:00`, `2025-01-31 12:00:30`: UTC (never the
 *   machine's local time, so a script gives the same answer on every machine);
 * - a date and time with `Z` or an offset, `2025-01-31T12:00+02:00`: as written;
 * - an age, `30s`, `30m`, `12h`, `7d`, `2w`: that long before now.
 */
import { StrataError } from '../errors/index.js';

const AGE_RE = /^(\d+)\s*(s|m|h|d|w)$/i;
const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,3})?)?(Z|[+-]\d{2}:?\d{2})?)?$/i;
const UNIT_MS = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3, w: 7 * 86400e3 } as const;

/** Milliseconds since the epoch of a time option's value; INVALID_ARGUMENT naming `flag` when it is neither a date nor an age. */
export function parseTimeOption(flag: string, value: string, now = Date.now()): number {
  const s = value.trim();
  const age = AGE_RE.exec(s);
  if (age) return now - Number(age[1]) * UNIT_MS[age[2]!.toLowerCase() as keyof typeof UNIT_MS];
  const m = DATE_RE.exec(s);
  const bad = () =>
    new StrataError('INVALID_ARGUMENT', `${flag} ${JSON.stringify(value)} is not a date or an age`, {
      hint: 'use a date like 2025-01-31, a UTC time like 2025-01-31T12:00 (or with a zone: 2025-01-31T12:00+02:00), or an age like 12h, 7d',
    });
  if (!m) throw bad();
  const [, y, mo, d, h = '00', mi = '00', sec = '00', frac = '', zone] = m;
  let z = zone ?? 'Z';
  if (/^[+-]\d{4}$/.test(z)) z = `${z.slice(0, 3)}:${z.slice(3)}`;
  const iso = `${y}-${mo}-${d}T${h}:${mi}:${sec}${frac}${z.toUpperCase()}`;
  const t = Date.parse(iso);
  // Date.parse rolls 2025-02-31 over to March: a date that does not exist is refused instead.
  if (Number.isNaN(t) || new Date(Date.parse(`${y}-${mo}-${d}T00:00:00Z`)).toISOString().slice(0, 10) !== `${y}-${mo}-${d}` || Number(h) > 23 || Number(mi) > 59 || Number(sec) > 59) throw bad();
  return t;
}
