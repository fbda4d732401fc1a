/**
 * Removing secrets from URLs before anything is recorded (commit objects, run records, OpenLineage
 * events, messages). One rule for the whole code base:
 *
 * - `scheme://user:password@host/...` loses the whole user info for every scheme except ssh
 *   (`ssh://git@host/...` keeps `git@`, the password goes). A user name alone is dropped for
 *   http(s) and the rest too, since tokens are often passed as the user name
 *   (`https://TOKEN@github.com/...`, `https://x-access-token:TOKEN@...`).
 * - scp-like git remotes (`user@host:path`) keep the user (not a secret); anything after a `:` in
 *   the user part goes.
 * - Query and fragment parameters whose names look secret (X-Amz-Signature, X-Amz-Credential,
 *   X-Amz-Security-Token, token, access_token, sig, signature, password, secret, api_key, ...) are
 *   removed, with their values.
 *
 * Pure string work: the rest of the URL is kept byte for byte (no normalisation by `new URL`).
 */

/** Query/fragment parameter names (lowercase) whose values are secrets. */
const SECRET_PARAMS = new Set([
  'x-amz-signature',
  'x-amz-credential',
  'x-amz-security-token',
  'x-goog-signature',
  'x-goog-credential',
  'token',
  'access_token',
  'refresh_token',
  'id_token',
  'auth',
  'auth_token',
  'authorization',
  'sig',
  'signature',
  'password',
  'passwd',
  'pwd',
  'secret',
  'client_secret',
  'api_key',
  'apikey',
  'api-key',
  'key',
  'private_token',
]);

/** Whether a query/fragment parameter name carries a secret. */
export function isSecretParam(name: string): boolean {
  let n = name.toLowerCase();
  try {
    n = decodeURIComponent(n);
  } catch {
    /* keep the raw name */
  }
  if (SECRET_PARAMS.has(n)) return true;
  return /(^|[_-])(token|secret|password|passwd|signature|credential|api[_-]?key|access[_-]?key|private[_-]?key)([_-]|$)/.test(n);
}

/** `sep + part` without secret parameters (unchanged when it has none). */
function stripParams(part: string, sep: '?' | '#'): string {
  const all = part.split('&');
  const kept = all.filter((kv) => {
    const eq = kv.indexOf('=');
    return kv === '' || !isSecretParam(eq < 0 ? kv : kv.slice(0, eq));
  });
  if (kept.length === all.length) return sep + part;
  const rest = kept.filter((kv) => kv !== '');
  return rest.length ? sep + rest.join('&') : '';
}

/** Split `rest` (after `scheme://authority`) into path, query and fragment. */
function stripQuery(rest: string): string {
  const hashAt = rest.indexOf('#');
  const beforeHash = hashAt < 0 ? rest : rest.slice(0, hashAt);
  const fragment = hashAt < 0 ? '' : rest.slice(hashAt + 1);
  const q = beforeHash.indexOf('?');
  const path = q < 0 ? beforeHash : beforeHash.slice(0, q);
  const query = q < 0 ? '' : beforeHash.slice(q + 1);
  // A fragment that is not parameter-like (`#readme`) is kept as is.
  const frag = hashAt < 0 ? '' : fragment.includes('=') ? stripParams(fragment, '#') : '#' + fragment;
  return path + (q < 0 ? '' : stripParams(query, '?')) + frag;
}

const SCHEME_RE = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//;
const SCP_RE = /^([^@/:\s]+(?::[^@/\s]*)?)@([^:/\s]+):(?!\/\/)/;

/**
 * The URL without user info secrets and secret query parameters. Anything that is not a URL is
 * returned unchanged (a plain path stays a plain path).
 */
export function redactUrl(url: string): string;
export function redactUrl(url: string | null | undefined): string | null | undefined;
export function redactUrl(url: string | null | undefined): string | null | undefined {
  if (typeof url !== 'string' || url === '') return url;
  const m = SCHEME_RE.exec(url);
  if (m) {
    const scheme = m[1]!.toLowerCase();
    const after = url.slice(m[0].length);
    // The authority ends at the first '/', '?' or '#'; the user info at its last '@'.
    const end = after.search(/[/?#]/);
    const authority = end < 0 ? after : after.slice(0, end);
    const rest = end < 0 ? '' : after.slice(end);
    const at = authority.lastIndexOf('@');
    let host = authority;
    if (at >= 0) {
      const userinfo = authority.slice(0, at);
      host = authority.slice(at + 1);
      if (scheme === 'ssh' || scheme === 'git+ssh' || scheme === 'ssh+git') {
        const user = userinfo.split(':')[0]!;
        if (user) host = `${user}@${host}`;
      }
    }
    return `${m[0]}${host}${stripQuery(rest)}`;
  }
  const scp = SCP_RE.exec(url);
  if (scp) {
    const user = scp[1]!.split(':')[0]!;
    return `${user}@${scp[2]}:${url.slice(scp[0].length)}`;
  }
  return url;
}

/** Whether `url` carries user info or a secret parameter (what redactUrl would remove). */
export function hasUrlSecrets(url: string): boolean {
  return redactUrl(url) !== url;
}

// URLs inside free text: a scheme, then everything up to whitespace or a quote/bracket.
const URL_IN_TEXT_RE = /[A-Za-z][A-Za-z0-9+.-]*:\/\/[^\s"'<>`]+/g;

/** Free text (an error message, a log line) with every URL in it passed through redactUrl. */
export function redactText(text: string): string;
export function redactText(text: string | null | undefined): string | null | undefined;
export function redactText(text: string | null | undefined): string | null | undefined {
  if (typeof text !== 'string' || !text.includes('://')) return text;
  return text.replace(URL_IN_TEXT_RE, (u) => {
    // Trailing punctuation belongs to the sentence, not to the URL.
    const tail = /[).,;:!?\]}]+$/.exec(u)?.[0] ?? '';
    const core = tail ? u.slice(0, -tail.length) : u;
    return redactUrl(core) + tail;
  });
}
