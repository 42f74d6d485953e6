// FILE credential caches (MIT cc_file.c behaviour): read the whole file with the safety checks of
// safe-file.ts, parse it with marshal.ts; store = append one record in the file's own version
// with a single write() on an O_APPEND descriptor, never rewriting in place.
//
// Node has no fcntl/OFD lock API, so unlike libkrb5 we take no lock (docs/kerberos.md#locking). A reader
// racing an appender sees at worst an incomplete tail record, which ends the cache; a concurrent
// MIT writer and our single append write cannot interleave inside one record.
import { closeSync, readSync, writeSync } from 'node:fs';
import { CcacheError, CcacheFormatError, systemError } from './errors.ts';
import { encodeCredential, parseFileCcache, parseFileHeader, type CcacheVersion, type FileHeader } from './marshal.ts';
import { classifyRecords, type CcacheContents, type Credential, SynchronousCredentialCache } from './model.ts';
import { openUserFileForAppendSync, readUserFileSync } from './safe-file.ts';

export interface FileCcacheOptions {
  /** refuse a cache not owned by this uid; default the effective uid; null: no check */
  expectedOwner?: number | null;
  /** refuse larger files; default 16 MiB */
  maxBytes?: number;
  /** the full name to report; default "FILE:<path>" (DIR subsidiaries pass "DIR::<path>") */
  name?: string;
}

/** What one read of a FILE cache found, beyond the common contents. */
export interface FileCcacheSnapshot extends CcacheContents {
  version: CcacheVersion;
  /** entries libkrb5 marked removed (endtime 0, authtime ≠ 0) */
  removed: number;
  /** offset of an incomplete tail record that ended the read, else null */
  truncatedAt: number | null;
}

export class FileCredentialCache extends SynchronousCredentialCache {
  readonly type: 'FILE' | 'DIR';
  readonly name: string;

  constructor(
    readonly path: string,
    private readonly options: FileCcacheOptions = {},
  ) {
    super();
    this.name = options.name ?? `FILE:${path}`;
    this.type = this.name.startsWith('DIR:') ? 'DIR' : 'FILE';
  }

  private fileOptions() {
    return {
      what: 'credential cache',
      name: this.name,
      ...(this.options.expectedOwner !== undefined ? { expectedOwner: this.options.expectedOwner } : {}),
      ...(this.options.maxBytes !== undefined ? { maxBytes: this.options.maxBytes } : {}),
    };
  }

  /** Read and parse the whole cache (synchronously). */
  readSync(): FileCcacheSnapshot {
    const bytes = readUserFileSync(this.path, this.fileOptions());
    const parsed = parseFileCcache(bytes, this.name);
    const { credentials, config, removed } = classifyRecords(parsed.records.map((r) => r.credential));
    return {
      principal: parsed.principal,
      credentials,
      config,
      kdcTimeOffset: parsed.kdcTimeOffset,
      version: parsed.version,
      removed,
      truncatedAt: parsed.truncatedAt,
    };
  }

  /** Append one credential in the file's version with one write (MIT fcc_store). */
  storeSync(credential: Credential): void {
    const fd = openUserFileForAppendSync(this.path, this.fileOptions());
    try {
      const header = this.readHeader(fd);
      const record = encodeCredential(credential, header.version);
      let written: number;
      try {
        written = writeSync(fd, record, 0, record.length, null);
      } catch (e) {
        throw systemError(e, `cannot append to credential cache ${this.path}`, this.name);
      }
      if (written !== record.length) {
        throw new CcacheError('io', `short write to credential cache ${this.path}: ${written} of ${record.length} bytes`, this.name);
      }
    } finally {
      closeSync(fd);
    }
  }

  /** pread the version word and the v4 header (at most 4 + 65535 bytes). */
  private readHeader(fd: number): FileHeader {
    const pread = (length: number, position: number): Buffer => {
      const b = Buffer.alloc(length);
      let got = 0;
      while (got < length) {
        const n = readSync(fd, b, got, length - got, position + got);
        if (n === 0) break;
        got += n;
      }
      return b.subarray(0, got);
    };
    const start = pread(4, 0);
    if (start.length < 2) throw new CcacheFormatError('empty or truncated file: no ccache version', 0, this.name);
    let head = start;
    if (start[0] === 0x05 && start[1] === 0x04 && start.length === 4) {
      head = Buffer.concat([start, pread(start.readUInt16BE(2), 4)]);
    }
    return parseFileHeader(head, this.name, Number.MAX_SAFE_INTEGER);
  }
}
