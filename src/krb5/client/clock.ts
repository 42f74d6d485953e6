// The client's idea of the KDC's time: local time plus the credential cache's KDC time offset
// (FILE header tag 1, keyring __krb5_time_offsets__, KCM GET_KDC_OFFSET), as MIT does with
// kdc_timesync. A KRB_AP_ERR_SKEW from the KDC carries its own time (stime, susec): `correct`
// turns that into a new offset, the one retry the TGS and AS exchanges allow themselves.
import type { KdcTimeOffset } from '../ccache/model.ts';
import { wallClockMicros } from '../../clock.ts';

/** Local wall-clock time in microseconds (µs resolution where the platform has it). */
function localMicros(): number {
  return wallClockMicros();
}

export interface KdcTimestamp {
  /** whole seconds, as a Date (KerberosTime has no fractions) */
  time: Date;
  /** microseconds within that second (cusec, pausec) */
  usec: number;
  /** seconds since the epoch */
  seconds: number;
}

export class KdcClock {
  private offsetMicros: number;
  /** set once the offset came from a KDC error rather than the cache */
  corrected = false;

  constructor(
    offset: KdcTimeOffset | null,
    private readonly localNow: () => number = localMicros,
  ) {
    this.offsetMicros = offset ? offset.seconds * 1_000_000 + offset.microseconds : 0;
  }

  /** The offset in force, as a cache would store it. */
  get offset(): KdcTimeOffset {
    const seconds = Math.trunc(this.offsetMicros / 1_000_000);
    return { seconds, microseconds: this.offsetMicros - seconds * 1_000_000 };
  }

  /** Offset in seconds (fractional), for traces. */
  get offsetSeconds(): number {
    return this.offsetMicros / 1_000_000;
  }

  now(): KdcTimestamp {
    const micros = this.localNow() + this.offsetMicros;
    const seconds = Math.floor(micros / 1_000_000);
    return { time: new Date(seconds * 1000), usec: micros - seconds * 1_000_000, seconds };
  }

  /**
   * Adopt the KDC's time from a KRB-ERROR (stime, susec). Returns how far our previous idea of
   * KDC time was off, in seconds (positive: the KDC is ahead of us).
   */
  correct(stime: Date, susec: number): number {
    const kdcMicros = stime.getTime() * 1000 + susec;
    const ours = this.localNow() + this.offsetMicros;
    const off = (kdcMicros - ours) / 1_000_000;
    this.offsetMicros = kdcMicros - this.localNow();
    this.corrected = true;
    return off;
  }

  /** Adopt `kdcSeconds` as the KDC's current time (MIT krb5_set_real_time after an AS exchange). */
  syncTo(kdcSeconds: number): void {
    this.offsetMicros = kdcSeconds * 1_000_000 - this.localNow();
  }
}

/** "2 h", "35 s", "3 min" — for "expired 2 h ago" in traces and errors. */
export function describeDuration(seconds: number): string {
  const s = Math.abs(Math.round(seconds));
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 172800) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} days`;
}

/** ISO time of a cache timestamp (seconds), for messages. */
export function isoSeconds(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');
}
