// The code cache file beside the bundle (written by --train-code-cache, src/cli/code-cache.ts;
// read by the loader scripts/build.mjs generates, which repeats these checks in plain JS):
//
//   line 1   CODE_CACHE_MAGIC
//   line 2   a JSON header: the SHA-256 of the bundle it was made for, node and V8 versions, the
//            size of what follows, and the paths it was trained on
//   then     V8's serialised code cache (vm.Script cachedData)
import { readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

export const CODE_CACHE_MAGIC = 'cifs-upcall code cache 1\n';

export interface CodeCacheHeader {
  bundle: string;
  node: string;
  v8: string;
  bytes: number;
  trainedOn: string[];
}

export type CodeCacheFile = { ok: true; header: CodeCacheHeader; data: Buffer } | { ok: false; problem: string };

/**
 * Read and check a cache file as the loader would, for a reader of uid `reader`: a regular file
 * owned by the reader or root, not writable by group or others, in a directory that is neither,
 * with a well-formed header whose size matches.
 */
export function readCodeCacheFile(path: string, reader: number): CodeCacheFile {
  let st: ReturnType<typeof statSync>;
  let dir: ReturnType<typeof statSync>;
  try {
    st = statSync(path);
    dir = statSync(dirname(path));
  } catch (e) {
    return { ok: false, problem: (e as NodeJS.ErrnoException).code ?? (e as Error).message };
  }
  if (!st.isFile()) return { ok: false, problem: 'not a regular file' };
  if ((st.uid !== reader && st.uid !== 0) || (st.mode & 0o022) !== 0)
    return { ok: false, problem: `owned by uid ${st.uid}, mode ${(st.mode & 0o777).toString(8)}: not trusted` };
  if ((dir.uid !== reader && dir.uid !== 0) || (dir.mode & 0o022) !== 0)
    return { ok: false, problem: `its directory (uid ${dir.uid}, mode ${(dir.mode & 0o777).toString(8)}) may be written by others` };
  const bytes = readFileSync(path);
  const eol = bytes.indexOf(10, CODE_CACHE_MAGIC.length);
  if (eol < 0 || bytes.toString('latin1', 0, CODE_CACHE_MAGIC.length) !== CODE_CACHE_MAGIC)
    return { ok: false, problem: 'not a cifs-upcall code cache (an older format?)' };
  let header: CodeCacheHeader;
  try {
    header = JSON.parse(bytes.toString('latin1', CODE_CACHE_MAGIC.length, eol)) as CodeCacheHeader;
  } catch {
    return { ok: false, problem: 'its header is not JSON' };
  }
  const data = bytes.subarray(eol + 1);
  if (header.bytes !== data.length) return { ok: false, problem: `truncated: ${data.length} of ${header.bytes} bytes` };
  return { ok: true, header, data };
}
