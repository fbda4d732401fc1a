// Stage "clean": drop malformed rows and tiny amounts; report what was dropped.
//   node clean.mjs data/raw.csv data/clean.csv [metrics/clean.json] [--min_amount X]
import { readCsv, loadParams, parseArgs, writeOutput } from './lib.mjs';

const { args, opts } = parseArgs();
const [input = 'data/raw.csv', output = 'data/clean.csv', metricsOut = 'metrics/clean.json'] = args;
const p = loadParams('clean', opts, { min_amount: 1.0 });
const minAmount = Number(p.min_amount);

const { header, rows } = readCsv(input);
const expected = ['id', 'user', 'timestamp', 'amount', 'merchant', 'is_fraud'];
if (header.join(',') !== expected.join(',')) {
  console.error(`clean: ${input} has header ${header.join(',')}, expected ${expected.join(',')}`);
  process.exit(1);
}
const TS_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
const dropped = { malformed: 0, below_min_amount: 0, duplicate_id: 0 };
const seen = new Set();
const kept = [];
for (const r of rows) {
  const [id, user, ts, amount, merchant, fraud] = r;
  const t = TS_RE.test(ts ?? '') ? Date.parse(ts) : NaN;
  const a = /^\d+(\.\d+)?$/.test(amount ?? '') ? Number(amount) : NaN;
  if (r.length !== 6 || !/^\d+$/.test(id) || !user || !merchant || Number.isNaN(t) || new Date(t).toISOString().replace('.000Z', 'Z') !== ts || Number.isNaN(a) || (fraud !== '0' && fraud !== '1')) {
    dropped.malformed++;
    continue;
  }
  if (a < minAmount) {
    dropped.below_min_amount++;
    continue;
  }
  if (seen.has(id)) {
    dropped.duplicate_id++;
    continue;
  }
  seen.add(id);
  kept.push(r.join(','));
}
writeOutput(output, [expected.join(','), ...kept].join('\n') + '\n');
const metrics = { rows_in: rows.length, rows_out: kept.length, dropped };
writeOutput(metricsOut, JSON.stringify(metrics, null, 2) + '\n');
console.log(`clean: kept ${kept.length} of ${rows.length} rows (${JSON.stringify(dropped)})`);
