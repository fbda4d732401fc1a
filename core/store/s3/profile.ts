/**
 * The S3 endpoint a shared AWS config file names for a profile, read the way aws-cli and boto3 do
 * (AWS SDKs and Tools reference guide, "Service-specific endpoints"):
 *
 *   [profile minio]                  [profile ceph]
 *   endpoint_url = http://host:9000  services = ceph-s3
 *                                    [services ceph-s3]
 *                                    s3 =
 *                                      endpoint_url = http://ceph:7480
 *
 * The services section's `s3 = endpoint_url` wins over the profile's own `endpoint_url`; both give
 * way to AWS_ENDPOINT_URL_S3 and AWS_ENDPOINT_URL (checked by the caller), and none apply when
 * AWS_IGNORE_CONFIGURED_ENDPOINT_URLS or the profile's ignore_configured_endpoint_urls is true.
 * The file is AWS_CONFIG_FILE, else ~/.aws/config; a missing file names no endpoint.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { StrataError } from '../../errors/index.js';

type Section = Map<string, string | Map<string, string>>;

/** Parse an AWS config file: sections of `key = value`, a key with an empty value opens indented sub-keys. */
function parseConfig(text: string): Map<string, Section> {
  const sections = new Map<string, Section>();
  let current: Section | null = null;
  let nested: Map<string, string> | null = null;
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.replace(/^\s*[#;].*$/, '');
    if (line.trim() === '') continue;
    const header = /^\s*\[\s*([^\]]+?)\s*\]\s*$/.exec(line);
    if (header) {
      const name = header[1]!.replace(/\s+/g, ' ');
      current = sections.get(name) ?? new Map();
      sections.set(name, current);
      nested = null;
      continue;
    }
    const kv = /^(\s*)([^=\s][^=]*?)\s*=\s*(.*?)\s*$/.exec(line);
    if (!kv || !current) continue;
    const [, indent, key, value] = kv;
    if (indent && nested) nested.set(key!.toLowerCase(), value!);
    else if (value === '') {
      nested = new Map();
      current.set(key!.toLowerCase(), nested);
    } else {
      nested = null;
      current.set(key!.toLowerCase(), value!);
    }
  }
  return sections;
}

/** The endpoint_url configured for S3 in `profile` (default AWS_PROFILE, then "default"), or undefined. */
export function profileS3Endpoint(profile: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  if (/^true$/i.test(env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS ?? '')) return undefined;
  const file = env.AWS_CONFIG_FILE || join(env.HOME || homedir(), '.aws', 'config');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const sections = parseConfig(text);
  const name = profile || env.AWS_PROFILE || 'default';
  const section = sections.get(name === 'default' ? 'default' : `profile ${name}`) ?? (name === 'default' ? sections.get('profile default') : undefined);
  if (!section) return undefined;
  const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
  if (/^true$/i.test(str(section.get('ignore_configured_endpoint_urls')) ?? '')) return undefined;
  const services = str(section.get('services'));
  if (services) {
    const svc = sections.get(`services ${services}`);
    if (!svc) {
      throw new StrataError('CONFIG_INVALID', `AWS profile ${name} names services = ${services}, but ${file} has no [services ${services}] section`, {
        hint: `add [services ${services}] with "s3 =" and an indented "endpoint_url = ..." line, or remove the services line`,
      });
    }
    const s3 = svc.get('s3');
    const url = s3 instanceof Map ? str(s3.get('endpoint_url')) : undefined;
    if (url) return url;
  }
  return str(section.get('endpoint_url'));
}
