// One fuzz campaign worker (bundled by scripts/fuzz.mjs, run with plain node): runs `count`
// generated inputs against one target and prints JSON lines on stdout —
//   {"type":"progress","done":N,"crashes":N,"slow":N}        after every chunk
//   {"type":"start","chunk":C,"index":I}                     before every input (--careful only)
//   {"type":"crash"|"slow","chunk":C,"index":I,"input":…,"error":…,"ms":…}
//   {"type":"done","done":N,"accepted":N,"rejected":N,"crashes":N,"slow":N,"maxMs":X,"ms":T}
// Inputs are a pure function of (seed, chunk, index): chunk C is fc.sample(input, {seed: seed ⊕ C}),
// so the parent can replay a chunk that hung in --careful mode to name the input.
//
//   node campaign.mjs --list
//   node campaign.mjs --target NAME --seed S --count N [--chunk 1000] [--first-chunk C] [--careful]
//                     [--slow-ms 1000] --workdir DIR
//   node campaign.mjs --target NAME --seed S --first-chunk C --show I --workdir DIR   (print one input)
import fc from 'fast-check';
import { fuzzTargets, runOne, type FuzzTarget, type Verdict } from './targets.ts';

interface Args {
  list: boolean;
  target: string;
  seed: number;
  count: number;
  chunk: number;
  firstChunk: number;
  careful: boolean;
  slowMs: number;
  workdir: string;
  /** print the input at this index of --first-chunk instead of running anything */
  show: number;
}

function parseArgs(argv: string[]): Args {
  const a: Args = {
    list: false,
    target: '',
    seed: 1,
    count: 1000,
    chunk: 1000,
    firstChunk: 0,
    careful: false,
    slowMs: 1000,
    workdir: '/tmp/cifs-upcall-fuzz',
    show: -1,
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!;
    const v = (): string => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${k} needs a value`);
      return x;
    };
    switch (k) {
      case '--list':
        a.list = true;
        break;
      case '--target':
        a.target = v();
        break;
      case '--seed':
        a.seed = Number(v());
        break;
      case '--count':
        a.count = Number(v());
        break;
      case '--chunk':
        a.chunk = Number(v());
        break;
      case '--first-chunk':
        a.firstChunk = Number(v());
        break;
      case '--careful':
        a.careful = true;
        break;
      case '--slow-ms':
        a.slowMs = Number(v());
        break;
      case '--workdir':
        a.workdir = v();
        break;
      case '--show':
        a.show = Number(v());
        break;
      default:
        throw new Error(`unknown argument ${k}`);
    }
  }
  return a;
}

/** The fast-check seed of one chunk (32-bit, distinct per chunk). */
export function chunkSeed(seed: number, chunk: number): number {
  return (Math.imul(seed ^ 0x5bd1e995, 0x9e3779b1) + Math.imul(chunk + 1, 0x85ebca6b)) | 0;
}

const emit = (o: unknown): void => {
  process.stdout.write(`${JSON.stringify(o)}\n`);
};

function errorText(e: unknown): string {
  if (e instanceof Error) {
    const frame = (e.stack ?? '').split('\n').find((l) => l.trim().startsWith('at ')) ?? '';
    let cause = '';
    for (let c = (e as { cause?: unknown }).cause; c; c = (c as { cause?: unknown }).cause) {
      cause += ` <- ${c instanceof Error ? `${c.name}: ${c.message}` : String(c)}`;
    }
    return `${e.name}: ${e.message}${cause} ${frame.trim()}`;
  }
  return String(e);
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const targets = fuzzTargets(args.workdir);
  if (args.list) {
    for (const t of targets) emit({ name: t.name, subject: t.subject });
    return;
  }
  const target = targets.find((t) => t.name === args.target) as FuzzTarget<unknown> | undefined;
  if (!target) throw new Error(`no target ${args.target}`);
  if (args.show >= 0) {
    const inputs = fc.sample(target.input, { seed: chunkSeed(args.seed, args.firstChunk), numRuns: args.show + 1 });
    emit({ type: 'input', chunk: args.firstChunk, index: args.show, input: target.show(inputs[args.show]) });
    return;
  }
  const counts = { done: 0, accepted: 0, rejected: 0, crashes: 0, slow: 0, maxMs: 0 };
  const started = performance.now();
  let reported = 0;
  for (let chunk = args.firstChunk; counts.done < args.count; chunk++) {
    const n = Math.min(args.chunk, args.count - counts.done);
    const inputs = fc.sample(target.input, { seed: chunkSeed(args.seed, chunk), numRuns: n });
    for (let index = 0; index < inputs.length; index++) {
      const input = inputs[index];
      if (args.careful) emit({ type: 'start', chunk, index });
      const timed = async (): Promise<{ verdict: Verdict; ms: number }> => {
        const t0 = performance.now();
        let verdict = runOne(target, input);
        if (verdict instanceof Promise) verdict = await verdict;
        return { verdict, ms: performance.now() - t0 };
      };
      const { verdict, ms } = await timed();
      // one timing over the bound is re-timed twice: a hang is slow every time, a pause of a
      // loaded machine (GC, the other worker, other jobs) is not
      let fastest = ms;
      for (let again = 0; again < 2 && fastest > args.slowMs; again++) fastest = Math.min(fastest, (await timed()).ms);
      counts.done++;
      if (ms > counts.maxMs) counts.maxMs = ms;
      const v = verdict as Verdict;
      if (v.kind === 'accepted') counts.accepted++;
      else if (v.kind === 'rejected') counts.rejected++;
      else {
        counts.crashes++;
        // report the first few of each kind of crash in full
        if (reported++ < 50) emit({ type: 'crash', chunk, index, input: target.show(input), error: errorText(v.error), ms });
      }
      if (fastest > args.slowMs) {
        counts.slow++;
        emit({ type: 'slow', chunk, index, input: target.show(input), ms: fastest });
      }
    }
    emit({ type: 'progress', done: counts.done, crashes: counts.crashes, slow: counts.slow });
  }
  emit({ type: 'done', ...counts, ms: performance.now() - started });
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    emit({ type: 'fatal', error: errorText(e) });
    process.exit(2);
  },
);
