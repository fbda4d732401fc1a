/**
 * The schema validator the OpenLineage tests rely on (test/helpers/openlineage-schema.ts) accepts a
 * well-formed event and names each kind of violation: a root field of the wrong format, a facet
 * field of the wrong type, and a facet claiming a version that is not checked in. Strata's custom
 * facets (strata_cache, strata_code) are validated against the schemas shipped in docs/openlineage/:
 * a malformed one, one under another key and one naming an unknown version each fail.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildRunEvent, STRATA_FACET_SCHEMA_URLS, strataCacheFacet, strataCodeFacet, strataProducer, uuidv7 } from '../core/lineage/openlineage.js';
import { eventProblems, STRATA_SCHEMA_DIR } from './helpers/openlineage-schema.js';

const PRODUCER = 'https://github.com/strata-data/strata';

function event() {
  return {
    eventType: 'COMPLETE',
    eventTime: '2026-12-03T06:00:00.000Z',
    producer: PRODUCER,
    schemaURL: 'https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent',
    run: { runId: '0190b6a4-6c1f-7c3e-9a5e-1f2d3c4b5a69' },
    job: {
      namespace: 'strata',
      name: 'train',
      facets: {
        jobType: { _producer: PRODUCER, _schemaURL: 'https://openlineage.io/spec/facets/2-0-4/JobTypeJobFacet.json#/$defs/JobTypeJobFacet', processingType: 'BATCH', integration: 'STRATA' },
      },
    },
    inputs: [
      {
        namespace: 'file',
        name: '/data/tx.csv',
        inputFacets: {
          dataQualityAssertions: {
            _producer: PRODUCER,
            _schemaURL: 'https://openlineage.io/spec/facets/1-1-0/DataQualityAssertionsDatasetFacet.json#/$defs/DataQualityAssertionsDatasetFacet',
            assertions: [{ assertion: 'not_null', success: true, column: 'user_id' }],
          },
        },
      },
    ],
    outputs: [],
  };
}

test('a well-formed event with facets validates', () => {
  assert.deepEqual(eventProblems(event()), []);
});

test('a bad root field, a bad facet field and an unknown facet version are each named', () => {
  const e = event();
  e.eventTime = 'yesterday';
  (e.inputs[0]!.inputFacets.dataQualityAssertions.assertions[0] as { success: unknown }).success = 'yes';
  e.job.facets.jobType._schemaURL = 'https://openlineage.io/spec/facets/2-0-3/JobTypeJobFacet.json#/$defs/JobTypeJobFacet';
  const problems = eventProblems(e);
  assert.ok(problems.some((p) => p.startsWith('RunEvent:') && p.includes('/eventTime must match format "date-time"')), problems.join('\n'));
  assert.ok(problems.some((p) => p.startsWith('inputs[0].inputFacets.dataQualityAssertions') && p.includes('/assertions/0/success must be boolean')), problems.join('\n'));
  assert.ok(problems.some((p) => p.startsWith('job.facets.jobType:') && p.includes('names no checked-in schema')), problems.join('\n'));
});

/** A reuse run's COMPLETE event as the executor builds it, with both Strata facets. */
function strataEvent(): Record<string, any> {
  const reused = uuidv7();
  const ev = buildRunEvent({
    eventType: 'COMPLETE',
    runId: uuidv7(),
    job: { namespace: 'strata://fraud', name: 'copy' },
    inputs: [{ namespace: 'file', name: '/p/data.csv', version: 'c'.repeat(64) }],
    outputs: [{ namespace: 'file', name: '/p/copy.csv', version: 'd'.repeat(64) }],
    producer: strataProducer('0.1.0'),
    runFacets: { strata_cache: strataCacheFacet(reused, reused, 'e'.repeat(64)) },
    jobFacets: {
      strata_code: strataCodeFacet({ command: 'sh copy.sh', wdir: '.', files: [{ path: 'copy.sh', kind: 'file', id: 'a'.repeat(64) }], git: { commit: 'b'.repeat(40), dirty: true, changes: 'f'.repeat(64) } }),
    },
  });
  return JSON.parse(JSON.stringify(ev)) as Record<string, any>;
}

test('the strata_cache run facet and the strata_code job facet validate against the shipped schemas', () => {
  const e = strataEvent();
  assert.equal(e.run.facets.strata_cache._schemaURL, STRATA_FACET_SCHEMA_URLS.cache);
  assert.equal(e.job.facets.strata_code._schemaURL, STRATA_FACET_SCHEMA_URLS.code);
  assert.deepEqual(eventProblems(e), []);
  // Outside git there is no git part; a facet without optional fields validates too.
  delete e.job.facets.strata_code.git;
  e.job.facets.strata_code.files = [];
  assert.deepEqual(eventProblems(e), []);
});

test('strata_code never carries a credential of a URL in the command', () => {
  const f = strataCodeFacet({ command: 'curl -fsS https://bot:tok3n9@data.example.com/x.csv?token=s3cr3t -o in.csv', wdir: '.', files: [], git: null });
  assert.doesNotMatch(String(f.command), /tok3n9|s3cr3t/);
  assert.match(String(f.command), /^curl -fsS https:\/\/data\.example\.com\/x\.csv/);
});

test('a malformed strata facet fails validation: wrong values, a missing field, an extra field in a closed object', () => {
  const e = strataEvent();
  e.run.facets.strata_cache.executed = true;
  e.run.facets.strata_cache.reusedRun = { runId: 'not-a-uuid' };
  delete e.run.facets.strata_cache.signature;
  e.job.facets.strata_code.files[0].id = 'xyz';
  e.job.facets.strata_code.files[0].size = 12;
  const problems = eventProblems(e);
  const cache = problems.filter((p) => p.startsWith('run.facets.strata_cache')).join('\n');
  const code = problems.filter((p) => p.startsWith('job.facets.strata_code')).join('\n');
  assert.match(cache, /\/executed must be equal to constant/);
  assert.match(cache, /\/reusedRun\/runId must match format "uuid"/);
  assert.match(cache, /must have required property 'signature'/);
  assert.match(code, /\/files\/0\/id must match pattern/);
  assert.match(code, /\/files\/0 must NOT have additional properties/);
});

test('a strata facet under another key, or naming a schema version Strata does not ship, is a problem (never skipped)', () => {
  const e = strataEvent();
  e.run.facets.strata = e.run.facets.strata_cache;
  delete e.run.facets.strata_cache;
  e.job.facets.strata_code._schemaURL = STRATA_FACET_SCHEMA_URLS.code.replace('/v0.1.0/', '/v9.9.9/');
  const problems = eventProblems(e);
  assert.ok(problems.some((p) => p.startsWith('run.facets.strata:') && p.includes('is the schema of facet strata_cache, not of strata')), problems.join('\n'));
  assert.ok(problems.some((p) => p.startsWith('job.facets.strata_code:') && p.includes('names no checked-in schema')), problems.join('\n'));
  // The official facets are held to their keys too.
  const o = strataEvent();
  o.job.facets.type = o.job.facets.jobType;
  delete o.job.facets.jobType;
  assert.ok(eventProblems(o).some((p) => p.includes('is the schema of facet jobType, not of type')));
});

test('the shipped schemas are where their URLs point, draft 2020-12, extending the facet base of the spec like the official facets', () => {
  const files = readdirSync(STRATA_SCHEMA_DIR).filter((f) => f.endsWith('.json')).sort();
  assert.deepEqual(files, ['StrataCacheRunFacet.json', 'StrataCodeJobFacet.json']);
  const expect = { cache: ['StrataCacheRunFacet', 'RunFacet', 'strata_cache'], code: ['StrataCodeJobFacet', 'JobFacet', 'strata_code'] } as const;
  for (const [k, [def, base, key]] of Object.entries(expect)) {
    const url = STRATA_FACET_SCHEMA_URLS[k as keyof typeof expect];
    const [id, fragment] = url.split('#');
    // An immutable URL: a release tag, the file's path in the repository, the definition.
    assert.match(id!, new RegExp(`^https://raw\\.githubusercontent\\.com/strata-data/strata/v\\d+\\.\\d+\\.\\d+/docs/openlineage/${def}\\.json$`));
    assert.equal(fragment, `/$defs/${def}`);
    const doc = JSON.parse(readFileSync(join(STRATA_SCHEMA_DIR, `${def}.json`), 'utf8')) as Record<string, any>;
    assert.equal(doc.$schema, 'https://json-schema.org/draft/2020-12/schema');
    assert.equal(doc.$id, id);
    assert.deepEqual(doc.$defs[def].allOf[0], { $ref: `https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/${base}` });
    assert.deepEqual(doc.properties, { [key]: { $ref: `#/$defs/${def}` } });
  }
});
