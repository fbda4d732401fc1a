/**
 * Validation of OpenLineage events against the official JSON schemas checked in under
 * test/fixtures/openlineage/ (spec/OpenLineage.json and spec/facets/*.json of the OpenLineage
 * repository; see the README there for the commit). The event's root is validated against
 * OpenLineage.json's RunEvent, DatasetEvent or JobEvent, and every facet (run, job, dataset, input
 * and output facets) against the schema its own `_schemaURL` names. A facet whose `_schemaURL` names a
 * schema or version that is not checked in is a problem too: it means the facet claims a version
 * that does not exist or lags behind the newest one.
 *
 * Strata's own custom facets (`strata_cache`, `strata_code`) are validated the same way against the
 * schemas Strata ships in docs/openlineage/ (loaded here beside the official ones, so a custom facet
 * is never skipped: one whose schema is not there is a problem like any unknown facet). Every facet's
 * key must also be the key its schema document declares for it (`errorMessage` for
 * ErrorMessageRunFacet, `strata_cache` for StrataCacheRunFacet): a facet sent under another name is
 * one consumers would not recognise.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { ROOT } from './cli.js';

const DIR = join(ROOT, 'test', 'fixtures', 'openlineage');
/** Strata's custom facet schemas, as shipped (the `_schemaURL`s point at this folder of a release tag). */
export const STRATA_SCHEMA_DIR = join(ROOT, 'docs', 'openlineage');

type Validator = ((data: unknown) => boolean) & { errors?: Array<{ instancePath: string; message?: string; params?: unknown }> | null };

interface Schemas {
  ajv: InstanceType<typeof Ajv2020>;
  /** `$id` of each checked-in schema. */
  ids: Set<string>;
  /** Per schema `$id` and `$defs` name: the facet keys the document declares for it (its top-level `properties`). */
  keys: Map<string, Set<string>>;
  root: string;
}

let loaded: Schemas | null = null;

function schemas(): Schemas {
  if (loaded) return loaded;
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  // ajv-formats is CommonJS: its default export arrives as the module object under NodeNext.
  const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (a: unknown) => void;
  addFormats(ajv);
  const ids = new Set<string>();
  const keys = new Map<string, Set<string>>();
  const rootDoc = JSON.parse(readFileSync(join(DIR, 'OpenLineage.json'), 'utf8')) as { $id: string };
  ajv.addSchema(rootDoc);
  ids.add(rootDoc.$id);
  const facetDirs = [join(DIR, 'facets'), STRATA_SCHEMA_DIR];
  for (const dir of facetDirs) {
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.json')).sort()) {
      const doc = JSON.parse(readFileSync(join(dir, f), 'utf8')) as { $id: string; properties?: Record<string, { $ref?: string }> };
      ajv.addSchema(doc);
      ids.add(doc.$id);
      for (const [key, v] of Object.entries(doc.properties ?? {})) {
        const def = /^#\/\$defs\/(.+)$/.exec(v?.$ref ?? '')?.[1];
        if (!def) continue;
        const k = `${doc.$id}#/$defs/${def}`;
        if (!keys.has(k)) keys.set(k, new Set());
        keys.get(k)!.add(key);
      }
    }
  }
  loaded = { ajv, ids, keys, root: rootDoc.$id };
  return loaded;
}

function describe(v: Validator): string {
  return (v.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''} ${e.params ? JSON.stringify(e.params) : ''}`.trim()).join('; ');
}

/** The validator for `<schema $id>#/$defs/<Name>`, or null when that schema is not checked in. */
function validatorFor(url: string): Validator | null {
  const s = schemas();
  const [id] = url.split('#');
  if (!id || !s.ids.has(id)) return null;
  try {
    return s.ajv.getSchema(url) as Validator | undefined ?? null;
  } catch {
    return null;
  }
}

/**
 * Problems of one facet (`where` names it in messages; `key` is its name in the facets object);
 * [] when it validates.
 */
export function facetProblems(facet: unknown, where: string, key?: string): string[] {
  if (!facet || typeof facet !== 'object') return [`${where}: not an object`];
  const url = (facet as { _schemaURL?: unknown })._schemaURL;
  if (typeof url !== 'string') return [`${where}: no _schemaURL`];
  const v = validatorFor(url);
  if (!v) return [`${where}: _schemaURL ${url} names no checked-in schema (unknown facet or version)`];
  const out: string[] = [];
  const declared = schemas().keys.get(url);
  if (key !== undefined && declared && !declared.has(key)) out.push(`${where}: ${url} is the schema of facet ${[...declared].join(' / ')}, not of ${key}`);
  if (!v(facet)) out.push(`${where} (${url}): ${describe(v)}`);
  return out;
}

function facetsOf(obj: unknown, key: string, where: string): string[] {
  const facets = obj && typeof obj === 'object' ? (obj as Record<string, unknown>)[key] : undefined;
  if (facets === undefined) return [];
  if (!facets || typeof facets !== 'object') return [`${where}.${key}: not an object`];
  const out: string[] = [];
  for (const [name, f] of Object.entries(facets as Record<string, unknown>)) out.push(...facetProblems(f, `${where}.${key}.${name}`, name));
  return out;
}

/** Every problem of one event: the root against OpenLineage.json, then each facet against its own schema. */
export function eventProblems(event: unknown): string[] {
  const s = schemas();
  const e = event as Record<string, unknown>;
  const kind = e && typeof e === 'object' && 'run' in e ? 'RunEvent' : e && typeof e === 'object' && 'dataset' in e ? 'DatasetEvent' : 'JobEvent';
  const root = s.ajv.getSchema(`${s.root}#/$defs/${kind}`) as Validator;
  const out: string[] = [];
  if (!root(event)) out.push(`${kind}: ${describe(root)}`);
  if (typeof e?.schemaURL === 'string' && !e.schemaURL.startsWith(s.root)) out.push(`schemaURL ${e.schemaURL} is not ${s.root}`);
  out.push(...facetsOf(e?.run, 'facets', 'run'));
  out.push(...facetsOf(e?.job, 'facets', 'job'));
  out.push(...facetsOf(e?.dataset, 'facets', 'dataset'));
  for (const side of ['inputs', 'outputs'] as const) {
    const list = Array.isArray(e?.[side]) ? (e[side] as unknown[]) : [];
    list.forEach((d, i) => {
      out.push(...facetsOf(d, 'facets', `${side}[${i}]`));
      out.push(...facetsOf(d, side === 'inputs' ? 'inputFacets' : 'outputFacets', `${side}[${i}]`));
    });
  }
  return out;
}
