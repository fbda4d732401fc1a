// Stage "train": logistic regression by full-batch gradient descent (deterministic: fixed
// initialization, fixed order, no randomness). Classes are weighted to balance fraud vs. normal.
//   node train.mjs data/features.csv models/model.json [--lr 0.3] [--epochs 400] [--l2 0.001]
import { featureVector, loadParams, MODEL_FEATURES, parseArgs, readRecords, round, sigmoid, writeOutput } from './lib.mjs';

const { args, opts } = parseArgs();
const [input = 'data/features.csv', output = 'models/model.json'] = args;
const p = loadParams('train', opts, { lr: 0.3, epochs: 400, l2: 0.001 });
const lr = Number(p.lr);
const epochs = Math.floor(Number(p.epochs));
const l2 = Number(p.l2);

const train = readRecords(input).filter((r) => r.split === 'train');
const X = train.map(featureVector);
const y = train.map((r) => (r.is_fraud === '1' ? 1 : 0));
const n = X.length;
const d = MODEL_FEATURES.length;

// Standardize with the training set's statistics (stored in the model for scoring).
const mean = new Array(d).fill(0);
const std = new Array(d).fill(0);
for (const x of X) for (let j = 0; j < d; j++) mean[j] += x[j] / n;
for (const x of X) for (let j = 0; j < d; j++) std[j] += (x[j] - mean[j]) ** 2 / n;
for (let j = 0; j < d; j++) std[j] = Math.sqrt(std[j]) || 1;
const Z = X.map((x) => x.map((v, j) => (v - mean[j]) / std[j]));

const pos = y.reduce((s, v) => s + v, 0);
const wPos = pos > 0 ? n / (2 * pos) : 1;
const wNeg = n - pos > 0 ? n / (2 * (n - pos)) : 1;

const w = new Array(d).fill(0);
let b = 0;
let loss = 0;
for (let epoch = 0; epoch < epochs; epoch++) {
  const gw = new Array(d).fill(0);
  let gb = 0;
  loss = 0;
  for (let i = 0; i < n; i++) {
    let z = b;
    for (let j = 0; j < d; j++) z += w[j] * Z[i][j];
    const prob = sigmoid(z);
    const cw = y[i] ? wPos : wNeg;
    const err = cw * (prob - y[i]);
    for (let j = 0; j < d; j++) gw[j] += err * Z[i][j];
    gb += err;
    loss -= cw * (y[i] ? Math.log(Math.max(prob, 1e-15)) : Math.log(Math.max(1 - prob, 1e-15)));
  }
  for (let j = 0; j < d; j++) w[j] -= lr * (gw[j] / n + l2 * w[j]);
  b -= lr * (gb / n);
  loss = loss / n + (l2 / 2) * w.reduce((s, v) => s + v * v, 0);
}

const model = {
  type: 'logistic_regression',
  features: MODEL_FEATURES,
  mean: mean.map((v) => round(v, 10)),
  std: std.map((v) => round(v, 10)),
  weights: w.map((v) => round(v, 10)),
  bias: round(b, 10),
  params: { lr, epochs, l2 },
  training: { rows: n, positives: pos, final_loss: round(loss, 8) },
};
writeOutput(output, JSON.stringify(model, null, 2) + '\n');
console.log(`train: ${n} rows (${pos} fraud), ${epochs} epochs, loss ${model.training.final_loss}`);
