// Stage "evaluate": score the held-out split; accuracy, precision, recall, F1 and ROC AUC.
//   node evaluate.mjs models/model.json data/features.csv metrics/eval.json [--threshold 0.5]
import { readFileSync } from 'node:fs';
import { featureVector, loadParams, parseArgs, readRecords, round, sigmoid, writeOutput } from './lib.mjs';

const { args, opts } = parseArgs();
const [modelPath = 'models/model.json', input = 'data/features.csv', output = 'metrics/eval.json'] = args;
const p = loadParams('evaluate', opts, { threshold: 0.5 });
const threshold = Number(p.threshold);

const model = JSON.parse(readFileSync(modelPath, 'utf8'));
const test = readRecords(input).filter((r) => r.split === 'test');
const scored = test.map((r) => {
  const x = featureVector(r);
  let z = model.bias;
  for (let j = 0; j < x.length; j++) z += model.weights[j] * ((x[j] - model.mean[j]) / model.std[j]);
  return { score: sigmoid(z), label: r.is_fraud === '1' ? 1 : 0 };
});

let tp = 0, fp = 0, tn = 0, fn = 0;
for (const s of scored) {
  const pred = s.score >= threshold ? 1 : 0;
  if (pred && s.label) tp++;
  else if (pred) fp++;
  else if (s.label) fn++;
  else tn++;
}

// AUC = probability a random fraud scores above a random normal (Mann-Whitney U, ties averaged).
function auc(items) {
  const sorted = [...items].sort((a, b) => a.score - b.score);
  let rankSumPos = 0;
  let i = 0;
  while (i < sorted.length) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1].score === sorted[i].score) j++;
    const avgRank = (i + j + 2) / 2;
    for (let k = i; k <= j; k++) if (sorted[k].label) rankSumPos += avgRank;
    i = j + 1;
  }
  const nPos = items.filter((s) => s.label).length;
  const nNeg = items.length - nPos;
  if (nPos === 0 || nNeg === 0) return null;
  return (rankSumPos - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}

const n = scored.length;
const precision = tp + fp ? tp / (tp + fp) : 0;
const recall = tp + fn ? tp / (tp + fn) : 0;
const a = auc(scored);
const metrics = {
  rows: n,
  threshold,
  accuracy: round(n ? (tp + tn) / n : 0),
  precision: round(precision),
  recall: round(recall),
  f1: round(precision + recall ? (2 * precision * recall) / (precision + recall) : 0),
  auc: a === null ? null : round(a),
  confusion: { tp, fp, tn, fn },
};
writeOutput(output, JSON.stringify(metrics, null, 2) + '\n');
console.log(`evaluate: ${JSON.stringify(metrics)}`);
