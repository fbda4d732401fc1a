// Stage "ingest": synthetic card transactions with a little fraud and a little junk.
//   node generate.mjs data/raw.csv [--seed N] [--rows N] [--params params.yaml]
// Same seed and rows → byte-identical CSV.
import { loadParams, makeRng, parseArgs, writeOutput } from './lib.mjs';

const { args, opts } = parseArgs();
const out = args[0] ?? 'data/raw.csv';
const p = loadParams('ingest', opts, { seed: 42, rows: 5000 });
const rows = Math.max(10, Math.floor(Number(p.rows)));
const rng = makeRng(Number(p.seed));

const START = Date.UTC(2024, 0, 1); // 2024-01-01T00:00:00Z
const DAYS = 90;
const HOUR = 3600_000;

const nUsers = Math.max(10, Math.round(rows / 25));
const users = Array.from({ length: nUsers }, (_, i) => ({
  id: `U${String(i + 1).padStart(4, '0')}`,
  base: Math.exp(Math.log(40) + 0.6 * rng.normal()), // typical spend
  weight: 0.2 + rng.next() * 1.8, // activity
  compromised: rng.next() < 0.08,
}));
const totalWeight = users.reduce((s, u) => s + u.weight, 0);
const merchants = Array.from({ length: 60 }, (_, i) => ({ id: `M${String(i + 1).padStart(4, '0')}`, risky: rng.next() < 0.1 }));

function pickUser() {
  let r = rng.next() * totalWeight;
  for (const u of users) if ((r -= u.weight) < 0) return u;
  return users[users.length - 1];
}

function dayHour(night) {
  // Daytime hours 7-22 mostly; night 0-5.
  return night ? rng.int(6) : 7 + rng.int(16);
}

const txns = [];
function push(user, time, amount, merchant, fraud) {
  txns.push({ user: user.id, time, amount, merchant: merchant.id, fraud });
}

while (txns.length < rows) {
  const u = pickUser();
  const m = merchants[rng.int(merchants.length)];
  const day = rng.int(DAYS);
  const pFraud = 0.004 + (u.compromised ? 0.1 : 0) + (m.risky ? 0.03 : 0);
  const fraud = rng.next() < pFraud;
  const night = fraud ? rng.next() < 0.6 : rng.next() < 0.08;
  const time = START + day * 24 * HOUR + dayHour(night) * HOUR + rng.int(3600) * 1000;
  let amount = u.base * Math.exp(0.5 * rng.normal());
  if (fraud) amount *= 3 + rng.next() * 5;
  if (!fraud && rng.next() < 0.02) amount = 0.01 + rng.next() * 0.9; // card verification charges
  push(u, time, amount, m, fraud);
  if (fraud && rng.next() < 0.5) {
    // Fraudsters test a stolen card with a quick burst.
    const burst = 1 + rng.int(3);
    for (let b = 0; b < burst && txns.length < rows; b++) {
      const t2 = time + (b + 1) * rng.int(40 * 60) * 1000;
      push(u, t2, u.base * (2 + rng.next() * 6), merchants[rng.int(merchants.length)], true);
    }
  }
}

txns.sort((a, b) => a.time - b.time || a.user.localeCompare(b.user) || a.amount - b.amount);
const lines = ['id,user,timestamp,amount,merchant,is_fraud'];
txns.forEach((t, i) => {
  const id = String(i + 1);
  let ts = new Date(t.time).toISOString().replace('.000Z', 'Z');
  let amount = t.amount.toFixed(2);
  let fields = [id, t.user, ts, amount, t.merchant, t.fraud ? '1' : '0'];
  // About 1.5% of rows arrive damaged, in the ways real exports break.
  if (rng.next() < 0.015) {
    switch (rng.int(5)) {
      case 0: fields[3] = ''; break;
      case 1: fields[3] = 'N/A'; break;
      case 2: fields[2] = '2024-13-45T25:61:00Z'; break;
      case 3: fields = fields.slice(0, 4); break;
      case 4: fields[5] = '?'; break;
    }
  }
  lines.push(fields.join(','));
});
writeOutput(out, lines.join('\n') + '\n');
console.log(`ingest: wrote ${txns.length} transactions for ${nUsers} users to ${out} (seed ${p.seed})`);
