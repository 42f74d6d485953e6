// Clocks without the `performance` global: its first use loads perf_hooks (~1 ms of CPU and
// ~0.7 MiB per upcall, docs/performance.md). process.hrtime reads the same monotonic clock
// (uv_hrtime) that performance.now() reads.

/** Monotonic milliseconds from an arbitrary origin: for durations and deadlines only. */
export function monotonicMs(): number {
  const [seconds, nanoseconds] = process.hrtime();
  return seconds * 1e3 + nanoseconds / 1e6;
}

/** Wall-clock time of monotonic time 0, in µs; fixed at the first call (as performance.timeOrigin is at start-up). */
let originMicros: number | undefined;

/**
 * Wall-clock microseconds since the epoch: the wall clock read once, then advanced by the
 * monotonic clock (µs resolution), as performance.timeOrigin + performance.now() is.
 */
export function wallClockMicros(): number {
  const monotonic = monotonicMs() * 1e3;
  originMicros ??= Date.now() * 1e3 - monotonic;
  return Math.round(originMicros + monotonic);
}
