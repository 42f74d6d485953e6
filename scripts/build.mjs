#!/usr/bin/env node
// Bundle the CLI for a lean start (measured by `npm run bench`, docs/performance.md):
//
//   dist/cifs-upcall-bundle.cjs  src/cli/main.ts and everything it uses, ONE CommonJS file (no ESM
//                                loader at start-up, no chunks), written inside the CommonJS
//                                function wrapper so that the loader compiles it as read. A
//                                dynamic import() inside it is an in-memory module initialiser
//                                (esbuild's __esm), so credential sources are evaluated only when
//                                a path needs them and no code is ever read from disk after the
//                                namespace switch. node:crypto, node:net, node:dgram and node:os
//                                are bound lazily: Node loads those built-ins (compiled into its
//                                binary, no file access) on first use. asn1js's byte-view helpers
//                                get a fast path (fastByteViews below).
//   dist/cifs-upcall-bundle.blob V8 code cache of the bundle, every function compiled, made here
//                                by the node that builds; V8 refuses it silently if the node or
//                                its V8 flags differ, and compiles from source.
//   dist/cifs-upcall.cjs         the loader: reads both, compiles with the cache, runs the bundle
//                                with a require() that only gives Node built-ins.
//   dist/cifs-upcall.mjs         ESM entry for `node dist/cifs-upcall.mjs` (bin/, tests): requires
//                                the loader. Installed with a first line that starts node on the
//                                loader directly (src/install/installer.ts), skipping ESM.
//   dist/cifs_upcall_native.node the addon (src/os/native.ts looks beside the bundle first).
//   dist/cifs-upcall-install.mjs the installer, one self-contained ESM file.
//
//   node scripts/build.mjs [--outdir DIR] [--v8-flags "FLAGS"]
//     --outdir    default dist
//     --v8-flags  V8 flags the bundle will run with (the cache is only accepted under the same
//                 flags); for evaluating flags (npm run bench -- --variants=...), not for shipping
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const PRODUCTION_ENTRY = join(root, 'src', 'cli', 'main.ts');
/** Built-ins that cost start-up time (streams, sockets, OpenSSL glue, the os binding) and that some paths never use. */
const LAZY_BUILTINS = ['node:crypto', 'node:net', 'node:dgram', 'node:os'];
/** The bundle file is wrapped in exactly this at build time; the loader compiles it as it is. */
const WRAPPER_HEAD = '(function (exports, require, module, __filename, __dirname) {';
const WRAPPER_TAIL = '\n})';
/** First line of a code cache file (src/cli/code-cache.ts CODE_CACHE_MAGIC) */
const CODE_CACHE_MAGIC = 'cifs-upcall code cache 1\n';

function packageVersion() {
  return JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
}

/**
 * esbuild options for one entry. The production entry (src/cli/main.ts) gets the production
 * layout above; any other entry (the installer, the test-only stand-in) one self-contained ESM
 * file `<name>.mjs`. Shared with test/harness/standin/build.ts, so the chassis tests run the
 * production layout.
 */
export function bundleOptions(entry, name, dir, v8Flags = [], codeCache = 'trained') {
  const common = {
    outdir: dir,
    bundle: true,
    platform: 'node',
    target: 'node20',
    define: { __CIFS_UPCALL_VERSION__: JSON.stringify(packageVersion()) },
    // asn1js and friends are bundled; only Node built-ins stay external
    external: [],
    sourcemap: false,
    legalComments: 'inline',
    logLevel: 'warning',
  };
  if (resolve(entry) !== PRODUCTION_ENTRY) {
    return {
      ...common,
      entryPoints: { [name]: entry },
      format: 'esm',
      splitting: false,
      outExtension: { '.js': '.mjs' },
    };
  }
  return {
    ...common,
    entryPoints: { [`${name}-bundle`]: entry },
    format: 'cjs',
    splitting: false,
    outExtension: { '.js': '.cjs' },
    charset: 'ascii',
    // whitespace and comments out, syntax shortened, names kept (readable stack traces): a
    // smaller file to read and to hash for the code cache check
    minifyWhitespace: true,
    minifySyntax: true,
    define: {
      ...common.define,
      // src/cli/sources.ts defers source modules only when it knows import() stays in this file
      __CIFS_UPCALL_ONE_FILE__: 'true',
      // the bundle's directory is the loader's __dirname; the file: URL (only --version's
      // package.json lookup uses it) is computed on use, not at every start
      'import.meta.dirname': '__dirname',
      'import.meta.url': '__cifsUpcallBundle.url',
    },
    banner: { js: '"use strict";\nvar __cifsUpcallBundle = { get url() { return require("node:url").pathToFileURL(__filename).href; } };' },
    plugins: [lazyBuiltins(), fastByteViews(), productionLayout(name, dir, v8Flags, codeCache)],
  };
}

/**
 * asn1js turns every buffer it is given or keeps into a Uint8Array (and back into an ArrayBuffer
 * when encoding) through @peculiar/utils' toUint8Array/toArrayBuffer, several times per ASN.1
 * node. Both first ask Object.prototype.toString whether the argument is an ArrayBuffer or a
 * SharedArrayBuffer, four to five calls each, which is most of asn1js's own time in an upcall
 * (docs/performance.md). For an ArrayBuffer view (what our code and asn1js itself mostly pass)
 * the answer is known from ArrayBuffer.isView: this adds that fast path in front, with the result
 * the original computes for a view (a view of the same bytes; a fresh copy in an ArrayBuffer).
 * Anything else takes the original code. The build fails if the functions no longer read as
 * expected.
 */
export function fastByteViews() {
  const patches = [
    [
      'function toUint8Array(data) {\n',
      '\tif (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);\n',
    ],
    [
      'function toArrayBuffer(data) {\n',
      '\tif (ArrayBuffer.isView(data)) {\n\t\tconst copy = new ArrayBuffer(data.byteLength);\n\t\tnew Uint8Array(copy).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));\n\t\treturn copy;\n\t}\n',
    ],
  ];
  const original = [
    'function toUint8Array(data) {\n\tassertBufferSource(data);\n\tif (isArrayBufferLike(data)) return new Uint8Array(data);\n\treturn new Uint8Array(data.buffer, data.byteOffset, data.byteLength);\n}',
    'function toArrayBuffer(data) {\n\tassertBufferSource(data);\n\tif (isArrayBuffer(data)) return data;\n\tconst buffer = new ArrayBuffer(data.byteLength);\n\tnew Uint8Array(buffer).set(toUint8Array(data));\n\treturn buffer;\n}',
  ];
  return {
    name: 'fast-byte-views',
    setup(b) {
      b.onLoad({ filter: /[\\/]@peculiar[\\/]utils[\\/]build[\\/]bytes[\\/]buffer-source\.js$/ }, (args) => {
        let text = readFileSync(args.path, 'utf8');
        for (const body of original) {
          if (!text.includes(body))
            return { errors: [{ text: `${args.path}: not the toUint8Array/toArrayBuffer the fast path was written for` }] };
        }
        for (const [head, fast] of patches) text = text.replace(head, head + fast);
        return { contents: text, loader: 'js' };
      });
    },
  };
}

/**
 * `import { connect } from 'node:net'` in src/ becomes a function that loads node:net on its
 * first call. Only functions are wrapped (every name src/ imports from these modules is one); an
 * import of anything else fails the build ("No matching export").
 */
export function lazyBuiltins() {
  return {
    name: 'lazy-builtins',
    setup(b) {
      const filter = new RegExp(`^(${LAZY_BUILTINS.join('|')})$`);
      b.onResolve({ filter }, (args) =>
        args.importer.startsWith(join(root, 'src')) ? { path: args.path, namespace: 'lazy-builtin' } : undefined,
      );
      b.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, async (args) => {
        const real = await import(args.path);
        const names = Object.keys(real).filter((k) => k !== 'default' && /^[a-z]/.test(k) && typeof real[k] === 'function');
        const lines = [
          `// ${args.path}, loaded on first use (generated by scripts/build.mjs)`,
          'let loaded;',
          `const m = () => (loaded ??= require(${JSON.stringify(args.path)}));`,
          ...names.map((n) => `export function ${n}(...a) { return m().${n}(...a); }`),
        ];
        return { contents: lines.join('\n'), loader: 'js' };
      });
    },
  };
}

function loaderSource(name, bundleHash) {
  return `'use strict';
// cifs-upcall's loader (generated by scripts/build.mjs): compiles ${name}-bundle.cjs with its V8
// code cache (${name}-bundle.blob, written by --train-code-cache; V8 ignores it when made by
// another node or other flags) and runs it. The bundle may require() Node built-ins only: it
// never loads another file as code.
const { closeSync, constants, fstatSync, openSync, readFileSync, statSync } = require('node:fs');
const { join } = require('node:path');
const { Script } = require('node:vm');
const BUNDLE_SHA256 = ${JSON.stringify(bundleHash)};
const MAGIC = ${JSON.stringify(CODE_CACHE_MAGIC)};
const file = join(__dirname, ${JSON.stringify(`${name}-bundle.cjs`)});
const cachePath = join(__dirname, ${JSON.stringify(`${name}-bundle.blob`)});

// The cache only counts when its reader or root wrote it, in a directory nobody else can write,
// for this very bundle; V8 then checks its own version and flags (docs/performance.md).
function readCodeCache() {
  if (process.env.CIFS_UPCALL_NO_CODE_CACHE !== undefined) return undefined;
  let fd;
  try {
    fd = openSync(cachePath, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return undefined; // no cache: V8 compiles from source
  }
  try {
    const me = process.geteuid();
    const st = fstatSync(fd);
    const dir = statSync(__dirname);
    if (!st.isFile() || (st.uid !== me && st.uid !== 0) || (st.mode & 0o022) !== 0) return undefined;
    if ((dir.uid !== me && dir.uid !== 0) || (dir.mode & 0o022) !== 0) return undefined;
    const data = readFileSync(fd);
    const eol = data.indexOf(10, MAGIC.length);
    if (eol < 0 || data.toString('latin1', 0, MAGIC.length) !== MAGIC) return undefined;
    const header = JSON.parse(data.toString('latin1', MAGIC.length, eol));
    if (header.bundle !== BUNDLE_SHA256 || header.bytes !== data.length - eol - 1) return undefined;
    return data.subarray(eol + 1);
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

let cachedData = readCodeCache();
// the bundle is ASCII (esbuild charset=ascii, checked by the build): latin1 is the cheap decode.
// The file already holds the function wrapper: V8 compiles the string as read, no concatenated
// copy of 420 KiB to flatten.
const script = new Script(readFileSync(file, 'latin1'), { filename: file, cachedData });
const codeCache = cachedData === undefined ? 'none' : script.cachedDataRejected ? 'rejected by V8' : 'accepted';
// V8 is done with the cache: let the next scavenge free it before the upcall's peak
cachedData = undefined;
// what --train-code-cache needs (src/cli/code-cache.ts), and what became of the cache (tests)
globalThis[Symbol.for('cifs-upcall.loader')] = {
  bundleHash: BUNDLE_SHA256,
  cachePath,
  codeCache,
  createCachedData: () => script.createCachedData(),
};
const builtin = (id) => {
  if (!id.startsWith('node:')) throw new Error(\`\${file} may only require Node built-ins, not \${id}\`);
  return require(id);
};
const bundleModule = { exports: {} };
script.runInThisContext().call(bundleModule.exports, bundleModule.exports, builtin, bundleModule, file, __dirname);
`;
}

function entrySource(name) {
  return `// cifs-upcall's ESM entry (generated by scripts/build.mjs) for \`node ${name}.mjs\`; the installed
// first line starts node on ${name}.cjs directly instead.
import { createRequire } from 'node:module';
createRequire(import.meta.url)(${JSON.stringify(`./${name}.cjs`)});
`;
}

/**
 * The eager code cache (`--code-cache=eager`, for comparison and as the fallback when training
 * cannot run here): every function of the bundle compiled (V8 compiles lazily by default;
 * --no-lazy just for this compile, reset before the cache is written so that its flag hash is
 * the one a plain `node` has), in the trained cache's file format.
 */
function eagerCacheSource(bundle, blob, bundleHash) {
  return `'use strict';
const { readFileSync, writeFileSync } = require('node:fs');
const { setFlagsFromString } = require('node:v8');
const { Script } = require('node:vm');
const source = readFileSync(${JSON.stringify(bundle)}, 'latin1');
setFlagsFromString('--no-lazy');
const script = new Script(source, { filename: ${JSON.stringify(bundle)} });
setFlagsFromString('--lazy');
const data = script.createCachedData();
const header = { bundle: ${JSON.stringify(bundleHash)}, node: process.version, v8: process.versions.v8, bytes: data.length, trainedOn: ['every function (eager)'] };
writeFileSync(${JSON.stringify(blob)}, Buffer.concat([Buffer.from(${JSON.stringify(CODE_CACHE_MAGIC)} + JSON.stringify(header) + '\\n', 'latin1'), data]), { mode: 0o600 });
`;
}

/** Does a fresh node (with the same V8 flags) accept the cache? */
function cacheCheckSource(bundle, blob) {
  return `'use strict';
const { readFileSync } = require('node:fs');
const { Script } = require('node:vm');
const source = readFileSync(${JSON.stringify(bundle)}, 'latin1');
const data = readFileSync(${JSON.stringify(blob)});
const eol = data.indexOf(10, ${CODE_CACHE_MAGIC.length});
const script = new Script(source, { filename: ${JSON.stringify(bundle)}, cachedData: data.subarray(eol + 1) });
process.exit(script.cachedDataRejected ? 1 : 0);
`;
}

/**
 * The code cache shipped beside the bundle: trained (the bundle's own --train-code-cache, which
 * drives the upcall paths against a made-up realm; src/cli/code-cache.ts), else eager.
 */
function makeCodeCache(dir, name, bundle, bundleHash, v8Flags, kind) {
  const blob = join(dir, `${name}-bundle.blob`);
  rmSync(blob, { force: true });
  const notes = [];
  if (kind === 'trained') {
    const trained = spawnSync(process.execPath, [...v8Flags, join(dir, `${name}.cjs`), '--train-code-cache'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 60_000,
    });
    if (trained.status !== 0 || !existsSync(blob)) {
      notes.push(
        `training the code cache failed (${trained.status ?? trained.signal}): ${(trained.stdout + trained.stderr).trim()}; using the eager cache`,
      );
      kind = 'eager';
    }
  }
  if (kind === 'eager') {
    const made = spawnSync(process.execPath, [...v8Flags, '-e', eagerCacheSource(bundle, blob, bundleHash)], {
      encoding: 'utf8',
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    if (made.status !== 0 || !existsSync(blob))
      return { errors: [{ text: `making the code cache failed (${made.status}): ${made.stderr}` }] };
  }
  if (kind !== 'none') {
    const check = spawnSync(process.execPath, [...v8Flags, '-e', cacheCheckSource(bundle, blob)], { stdio: 'ignore' });
    if (check.status !== 0) {
      // this node would not use it: ship none rather than a file every start reads for nothing
      rmSync(blob, { force: true });
      notes.push(`V8 refuses the code cache made by ${process.execPath} ${process.version}: shipping without one`);
    }
  }
  return notes.length > 0 ? { warnings: notes.map((text) => ({ text })) } : undefined;
}

function productionLayout(name, dir, v8Flags, codeCache) {
  return {
    name: 'production-layout',
    setup(b) {
      b.onEnd((result) => {
        if (result.errors.length > 0) return;
        const bundle = join(dir, `${name}-bundle.cjs`);
        const text = readFileSync(bundle);
        const problems = [];
        if (text.some((byte) => byte > 0x7f)) problems.push('non-ASCII bytes');
        const source = text.toString('latin1');
        if (/\bimport\s*\(/.test(source)) problems.push('a dynamic import() left (it would load a file)');
        // the loader's require() serves node:-prefixed built-ins only
        const builtins = new Set(builtinModules.map((m) => `node:${m}`));
        for (const [, id] of source.matchAll(/\brequire\(\s*["']([^"']+)["']\s*\)/g)) {
          if (!builtins.has(id)) problems.push(`require("${id}"): only node:-prefixed Node built-ins can be loaded`);
        }
        const emitted = readdirSync(dir).filter((f) => f.startsWith(`${name}-bundle`) && f.endsWith('.cjs'));
        if (emitted.length !== 1) problems.push(`expected one bundle file, found ${emitted.join(', ')}`);
        if (problems.length > 0) {
          return { errors: problems.map((text) => ({ text: `${basename(bundle)}: ${text}` })) };
        }
        // the loader compiles the file as it is: the CommonJS function wrapper goes into the file
        const wrapped = Buffer.from(WRAPPER_HEAD + source + WRAPPER_TAIL, 'latin1');
        writeFileSync(bundle, wrapped);
        const bundleHash = createHash('sha256').update(wrapped).digest('hex');
        writeFileSync(join(dir, `${name}.cjs`), loaderSource(name, bundleHash));
        writeFileSync(join(dir, `${name}.mjs`), entrySource(name));
        return makeCodeCache(dir, name, bundle, bundleHash, v8Flags, codeCache);
      });
    },
  };
}

export function copyAddon(dir) {
  const addon = join(root, 'native', 'build', 'Release', 'cifs_upcall_native.node');
  if (!existsSync(addon)) throw new Error(`${addon} missing: run npm ci (or npm run install) first`);
  copyFileSync(addon, join(dir, 'cifs_upcall_native.node'));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const at = args.indexOf('--outdir');
  const outdir = resolve(at >= 0 && args[at + 1] ? args[at + 1] : join(root, 'dist'));
  const flagsAt = args.indexOf('--v8-flags');
  const v8Flags = flagsAt >= 0 ? (args[flagsAt + 1] ?? '').split(' ').filter(Boolean) : [];
  const cacheArg = args.find((a) => a.startsWith('--code-cache='));
  const codeCache = cacheArg ? cacheArg.slice('--code-cache='.length) : 'trained';
  if (!['trained', 'eager', 'none'].includes(codeCache)) throw new Error(`--code-cache: trained, eager or none, not ${codeCache}`);
  mkdirSync(outdir, { recursive: true });
  // stale files of an earlier build would be shipped by the installer
  for (const f of readdirSync(outdir)) if (/\.(mjs|cjs|blob)$/.test(f)) rmSync(join(outdir, f));
  const started = Date.now();
  copyAddon(outdir);
  await build(bundleOptions(PRODUCTION_ENTRY, 'cifs-upcall', outdir, v8Flags, codeCache));
  // the installer: one self-contained file, never loaded by the upcall itself
  await build(bundleOptions(join(root, 'src', 'install', 'main.ts'), 'cifs-upcall-install', outdir));
  console.log(
    `built ${join(outdir, 'cifs-upcall.mjs')} (+ .cjs loader, bundle, code cache) and cifs-upcall-install.mjs in ${Date.now() - started} ms`,
  );
}
