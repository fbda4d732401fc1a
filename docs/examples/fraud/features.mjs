// Stage "features": per-user rolling window features, and a time-based train/test split.
//   node features.mjs data/clean.csv data/features.csv [--window_days 7] [--test_fraction 0.2]
import { loadParams, parseArgs, readRecords, writeOutput } from './lib.mjs';

const { args, opts } = parseArgs();
const [input = 'data/clean.csv', output = 'data/features.csv'] = args;
const p = loadParams('features', opts, { window_days: 7, test_fraction: 0.2 });
const windowMs = Number(p.window_days) * 86400_000;

const recs = readRecords(input).map((r) => ({ ...r, t: Date.parse(r.timestamp), a: Number(r.amount), n: Number(r.id) }));
recs.sort((x, y) => x.t - y.t || x.n - y.n);

// Time-based split: the latest test_fraction of transactions are held out.
const cutoffIndex = Math.floor(recs.length * (1 - Number(p.test_fraction)));
recs.forEach((r, i) => (r.split = i < cutoffIndex ? 'train' : 'test'));

// Rolling window over each user's earlier transactions (strictly before this one).
const byUser = new Map();
for (const r of recs) {
  if (!byUser.has(r.user)) byUser.set(r.user, []);
  byUser.get(r.user).push(r);
}
for (const list of byUser.values()) {
  let lo = 0;
  let sum = 0;
  for (let i = 0; i < list.length; i++) {
    const r = list[i];
    while (lo < i && r.t - list[lo].t >= windowMs) sum -= list[lo++].a;
    const count = i - lo;
    r.spend = Math.max(0, sum);
    r.count = count;
    r.ratio = count > 0 ? r.a / (sum / count) : 1;
    sum += r.a;
  }
}

recs.sort((x, y) => x.n - y.n);
const header = 'id,user,timestamp,amount,spend_7d,txn_count_7d,amount_ratio,hour,is_fraud,split';
const lines = recs.map((r) =>
  [r.id, r.user, r.timestamp, r.a.toFixed(2), r.spend.toFixed(2), r.count, r.ratio.toFixed(4), new Date(r.t).getUTCHours(), r.is_fraud, r.split].join(','),
);
writeOutput(output, [header, ...lines].join('\n') + '\n');
console.log(`features: ${recs.length} rows, ${cutoffIndex} train / ${recs.length - cutoffIndex} test, window ${p.window_days} days`);
