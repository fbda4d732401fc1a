/** What a YAML node is, for messages ("expected a list, found the string \"x\""). */
import { isMap, isScalar, isSeq } from 'yaml';

export function kindOf(node: unknown): string {
  if (node === null || node === undefined) return 'nothing';
  if (isMap(node)) return 'a map';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) {
    const v = node.value;
    if (v === null) return 'nothing';
    if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)}`;
    return `${typeof v} ${String(v)}`;
  }
  return 'something else';
}
