/**
 * BLAKE3-256 hashing. Native (@napi-rs/blake-hash) when it loads, else the hash-wasm fallback, which
 * produces identical ids (a test checks both backends against each other and against b3sum vectors).
 * Call `initHash()` once (async: the WASM fallback needs it), then use the synchronous API.
 */
import { createRequire } from 'node:module';
import { open } from 'node:fs/promises';

export interface Hasher {
  update(data: Uint8Array): void;
  /** Lowercase hex digest (64 chars). The hasher must not be used afterwards. */
  digestHex(): string;
}

export type HashBackend = 'native' | 'wasm';

interface Backend {
  name: HashBackend;
  create(): Hasher;
  oneShot(data: Uint8Array): string;
}

let backend: Backend | undefined;
let initPromise: Promise<Backend> | undefined;

function loadNative(): Backend | undefined {
  try {
    const require = createRequire(import.meta.url);
    const mod = require('@napi-rs/blake-hash') as {
      Blake3Hasher: new () => { update(i: Uint8Array): unknown; digest(f?: string): string };
      blake3(i: Uint8Array): Buffer;
    };
    return {
      name: 'native',
      create() {
        const h = new mod.Blake3Hasher();
        return {
          update(data) {
            h.update(data);
          },
          digestHex() {
            return h.digest('hex');
          },
        };
      },
      oneShot(data) {
        return mod.blake3(data).toString('hex');
      },
    };
  } catch {
    return undefined;
  }
}

async function loadWasm(): Promise<Backend> {
  const { createBLAKE3 } = await import('hash-wasm');
  // hash-wasm hashers are reusable after init(); keep a small pool to avoid re-instantiating WASM.
  const pool: Array<Awaited<ReturnType<typeof createBLAKE3>>> = [];
  const first = await createBLAKE3(256);
  pool.push(first);
  const take = async () => pool.pop() ?? (await createBLAKE3(256));
  // Pre-create a few so the synchronous API has hashers ready.
  for (let i = 0; i < 7; i++) pool.push(await createBLAKE3(256));
  const syncTake = () => {
    const h = pool.pop();
    if (!h) throw new Error('hash-wasm pool exhausted');
    void take;
    return h;
  };
  const refill = () => {
    if (pool.length < 4) void createBLAKE3(256).then((h) => pool.push(h));
  };
  return {
    name: 'wasm',
    create() {
      const h = syncTake();
      h.init();
      refill();
      return {
        update(data) {
          h.update(data);
        },
        digestHex() {
          const d = h.digest('hex');
          pool.push(h);
          return d;
        },
      };
    },
    oneShot(data) {
      const h = syncTake();
      h.init();
      h.update(data);
      const d = h.digest('hex');
      pool.push(h);
      return d;
    },
  };
}

/** Load the hashing backend. `force` picks one (tests compare both). */
export async function initHash(force?: HashBackend): Promise<HashBackend> {
  if (force) {
    backend = force === 'native' ? loadNative() : await loadWasm();
    if (!backend) throw new Error('native BLAKE3 backend (@napi-rs/blake-hash) is not available');
    initPromise = Promise.resolve(backend);
    return backend.name;
  }
  if (backend) return backend.name;
  initPromise ??= (async () => {
    const env = process.env.STRATA_HASH_BACKEND;
    const b = env === 'wasm' ? await loadWasm() : (loadNative() ?? (await loadWasm()));
    backend = b;
    return b;
  })();
  return (await initPromise).name;
}

function requireBackend(): Backend {
  if (!backend) {
    // Native loads synchronously; only the WASM fallback needs initHash() beforehand.
    const n = loadNative();
    if (!n) throw new Error('initHash() must be awaited before hashing (WASM fallback)');
    backend = n;
  }
  return backend;
}

export function hashBackend(): HashBackend | undefined {
  return backend?.name;
}

export function createHasher(): Hasher {
  return requireBackend().create();
}

/** BLAKE3-256 of bytes, lowercase hex. */
export function hashBytes(data: Uint8Array | string): string {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  return requireBackend().oneShot(bytes);
}

export const ID_RE = /^[0-9a-f]{64}$/;

export function isId(s: string): boolean {
  return ID_RE.test(s);
}

/** Stream a file through BLAKE3 in 1 MiB reads; never holds the whole file. */
export async function hashFile(path: string): Promise<{ id: string; size: number }> {
  const fh = await open(path, 'r');
  try {
    const h = createHasher();
    const buf = Buffer.allocUnsafe(1 << 20);
    let size = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      h.update(bytesRead === buf.length ? buf : buf.subarray(0, bytesRead));
      size += bytesRead;
    }
    return { id: h.digestHex(), size };
  } finally {
    await fh.close();
  }
}
