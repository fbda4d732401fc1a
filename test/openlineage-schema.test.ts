/**
 * The schema validator the OpenLineage tests rely on (test/helpers/openlineage-schema.ts) accepts a
 * well-formed event and names each kind of violation: a root field of the wrong format, a facet
 * field of the wrong type, and a facet claiming a version that is not checked in.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eventProblems } from './helpers/openlineage-schema.js';

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
