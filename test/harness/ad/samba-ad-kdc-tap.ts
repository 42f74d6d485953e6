// A recording TCP relay in front of the AD DC's KDC, and a small KRB-ERROR decoder: lets the AD
// tests read the exact error code, e-text and e-data the directory sends (MIT's tools only print
// their own message text). Test-harness code, not product code.
//
// Kerberos over TCP (RFC 4120 §7.2.2): each message is a 4-byte big-endian length, then the DER.
// KRB-ERROR (RFC 4120 §5.9.1) = [APPLICATION 30] SEQUENCE { pvno [0], msg-type [1], ctime [2]?,
//   cusec [3]?, stime [4], susec [5], error-code [6], crealm [7]?, cname [8]?, realm [9],
//   sname [10], e-text [11] GeneralString?, e-data [12] OCTET STRING? }.
// e-data from AD is either METHOD-DATA (SEQUENCE OF PA-DATA {padata-type [1], padata-value [2]})
// or one KERB-ERROR-DATA {data-type [1], data-value [2]} ([MS-KILE] 2.2.1); data-type 3 carries
// KERB-EXT-ERROR, whose first 4 bytes are an NTSTATUS, little-endian ([MS-KILE] 2.2.2).
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface DerNode {
  /** class bits (0 universal, 1 application, 2 context) */
  cls: number;
  constructed: boolean;
  tag: number;
  value: Buffer;
  children: DerNode[];
}

export class DerError extends Error {}

/** Parse one DER element (definite lengths only, tags < 31) and its constructed children. */
export function parseDer(buf: Buffer, offset = 0): { node: DerNode; end: number } {
  if (offset + 2 > buf.length) throw new DerError(`truncated DER at ${offset}`);
  const first = buf[offset]!;
  const cls = first >> 6;
  const constructed = (first & 0x20) !== 0;
  const tag = first & 0x1f;
  if (tag === 0x1f) throw new DerError('high tag numbers are not used by Kerberos');
  let len = buf[offset + 1]!;
  let pos = offset + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw new DerError(`unsupported DER length form at ${offset}`);
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[pos + i]!;
    pos += n;
  }
  const end = pos + len;
  if (end > buf.length) throw new DerError(`DER element overruns its buffer at ${offset}`);
  const value = buf.subarray(pos, end);
  const children: DerNode[] = [];
  if (constructed) {
    let p = 0;
    while (p < value.length) {
      const child = parseDer(value, p);
      children.push(child.node);
      p = child.end;
    }
  }
  return { node: { cls, constructed, tag, value, children }, end };
}

function contextChild(node: DerNode, tag: number): DerNode | undefined {
  return node.children.find((c) => c.cls === 2 && c.tag === tag)?.children[0];
}

function derInteger(node: DerNode | undefined): number | null {
  if (!node || node.value.length === 0 || node.value.length > 6) return null;
  let v = node.value[0]! & 0x80 ? -1 : 0;
  for (const b of node.value) v = v * 256 + b;
  return v;
}

export interface TypedData {
  type: number;
  /** hex */
  value: string;
  /** for KERB-EXT-ERROR (type 3, 12 bytes): the NTSTATUS, e.g. "0xc0000072" */
  ntStatus?: string;
}

export interface KrbErrorInfo {
  errorCode: number;
  eText: string | null;
  /** hex of the raw e-data */
  eData: string | null;
  /** e-data decoded as METHOD-DATA / KERB-ERROR-DATA entries, when it has that shape */
  eDataEntries: TypedData[] | null;
  realm: string | null;
  sname: string | null;
  cname: string | null;
}

function principalName(node: DerNode | undefined): string | null {
  // PrincipalName ::= SEQUENCE { name-type [0], name-string [1] SEQUENCE OF KerberosString }
  const strings = node ? contextChild(node, 1) : undefined;
  return strings ? strings.children.map((s) => s.value.toString('utf8')).join('/') : null;
}

function typedEntry(seq: DerNode): TypedData | null {
  // PA-DATA and KERB-ERROR-DATA share the shape { [1] INTEGER, [2] OCTET STRING }
  const type = derInteger(contextChild(seq, 1));
  if (type === null) return null;
  const value = contextChild(seq, 2)?.value ?? Buffer.alloc(0);
  const entry: TypedData = { type, value: value.toString('hex') };
  if (type === 3 && value.length === 12) entry.ntStatus = `0x${value.readUInt32LE(0).toString(16).padStart(8, '0')}`;
  return entry;
}

function decodeEData(eData: Buffer): TypedData[] | null {
  try {
    const { node } = parseDer(eData);
    if (node.cls !== 0 || node.tag !== 16) return null;
    if (node.children.every((c) => c.cls === 0 && c.tag === 16)) {
      const entries = node.children.map(typedEntry);
      return entries.every((e) => e !== null) ? (entries as TypedData[]) : null;
    }
    const one = typedEntry(node);
    return one ? [one] : null;
  } catch {
    return null;
  }
}

/** Decode a KRB-ERROR message (DER, without the TCP length prefix); null if it is not one. */
export function decodeKrbError(der: Buffer): KrbErrorInfo | null {
  let root: DerNode;
  try {
    root = parseDer(der).node;
  } catch {
    return null;
  }
  if (root.cls !== 1 || root.tag !== 30) return null;
  const body = root.children[0];
  if (!body) return null;
  const errorCode = derInteger(contextChild(body, 6));
  if (errorCode === null) return null;
  const eText = contextChild(body, 11)?.value.toString('utf8') ?? null;
  const eDataRaw = contextChild(body, 12)?.value ?? null;
  return {
    errorCode,
    eText,
    eData: eDataRaw ? eDataRaw.toString('hex') : null,
    eDataEntries: eDataRaw ? decodeEData(eDataRaw) : null,
    realm: contextChild(body, 9)?.value.toString('utf8') ?? null,
    sname: principalName(contextChild(body, 10)),
    cname: principalName(contextChild(body, 8)),
  };
}

export interface KdcExchange {
  /** APPLICATION tag of the request: 10 AS-REQ, 12 TGS-REQ */
  requestType: number;
  request: Buffer;
  /** APPLICATION tag of the reply: 11 AS-REP, 13 TGS-REP, 30 KRB-ERROR */
  replyType: number;
  reply: Buffer;
}

export interface KdcTap {
  port: number;
  exchanges: KdcExchange[];
  /** the KRB-ERRORs recorded so far, decoded */
  errors(): KrbErrorInfo[];
  close(): Promise<void>;
}

function frames(acc: { buf: Buffer }, chunk: Buffer, out: Buffer[]): void {
  acc.buf = Buffer.concat([acc.buf, chunk]);
  while (acc.buf.length >= 4) {
    const len = acc.buf.readUInt32BE(0) & 0x7fffffff;
    if (acc.buf.length < 4 + len) return;
    out.push(acc.buf.subarray(4, 4 + len));
    acc.buf = acc.buf.subarray(4 + len);
  }
}

const appTag = (der: Buffer): number => (der.length > 0 && der[0]! >> 6 === 1 ? der[0]! & 0x1f : -1);

/** Relay TCP connections on 127.0.0.1:<free port> to the KDC at 127.0.0.1:kdcPort, recording every exchange. */
export async function startKdcTap(kdcPort: number): Promise<KdcTap> {
  const exchanges: KdcExchange[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect({ host: '127.0.0.1', port: kdcPort });
    sockets.add(client);
    sockets.add(upstream);
    const requests: Buffer[] = [];
    const replies: Buffer[] = [];
    const reqAcc = { buf: Buffer.alloc(0) };
    const repAcc = { buf: Buffer.alloc(0) };
    client.on('data', (d: Buffer) => {
      frames(reqAcc, d, requests);
      upstream.write(d);
    });
    upstream.on('data', (d: Buffer) => {
      frames(repAcc, d, replies);
      while (replies.length > 0 && requests.length > 0) {
        const request = requests.shift()!;
        const reply = replies.shift()!;
        exchanges.push({ requestType: appTag(request), request, replyType: appTag(reply), reply });
      }
      client.write(d);
    });
    const close = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', close);
    upstream.on('close', close);
    client.on('error', close);
    upstream.on('error', close);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('kdc tap: no TCP address');
  return {
    port: address.port,
    exchanges,
    errors: () =>
      exchanges
        .filter((e) => e.replyType === 30)
        .map((e) => decodeKrbError(e.reply))
        .filter((e): e is KrbErrorInfo => e !== null),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
