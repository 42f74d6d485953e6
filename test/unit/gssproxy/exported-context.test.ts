// MIT exported-context and linux_lucid_v1 parsers against the captured contexts and the keys the
// real acceptor (python-gssapi, GSS_C_INQ_SSPI_SESSION_KEY) computed for them
// (docs/gssproxy-protocol.md#exported-context, docs/gssproxy-protocol.md#lucid-context; gssproxy-test-vectors.json).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ExportedContextError, parseExportedContext, sessionKeyFromExportedContext } from '../../../src/gssproxy/exported-context.ts';
import { LucidContextError, parseLucidContext } from '../../../src/gssproxy/lucid.ts';
import { decodeReply } from '../../../src/gssproxy/rpc.ts';
import { decodeResInitSecContext } from '../../../src/gssproxy/protocol.ts';
import { vector } from './vectors.ts';

describe('MIT exported context (default export)', () => {
  it("established context: fast path gives the initiator subkey = the acceptor's SSPI key (default_export_established)", () => {
    const v = vector('default_export_established');
    const token = v.hex('exported_context_token_hex');
    const k = sessionKeyFromExportedContext(token);
    expect(k.from).toBe('subkey');
    expect(k.enctype).toBe(v.expected<number>('subkey_enctype'));
    expect(k.key.toString('hex')).toBe(v.expected<string>('subkey_hex'));
    expect(k.key.toString('hex')).toBe(v.expected<string>('acceptor_sspi_session_key_hex'));
    const c = k.context;
    expect(c.established).toBe(true);
    expect(c.initiate).toBe(true);
    expect(c.haveAcceptorSubkey).toBe(false);
    expect(c.gssFlags).toBe(v.expected<number>('gss_flags'));
    expect(c.principals).toEqual(v.expected<string[]>('principals'));
    expect(c.signalg).toBe(-1); // CFX
    expect(c.endtime).toBe(0x6b093dc3);
    // the token of the same context: RFC 2743 framing around the AP-REQ (docs/kerberos.md#gss-token-framing)
    const tok = v.hex('output_token_hex');
    expect(tok.subarray(0, 17).toString('hex')).toBe('6082030306092a864886f7120102020100');
    expect(tok[17]).toBe(0x6e);
    expect(tok.length).toBe(4 + 0x0303);
  });

  it('established context: the full walk consumes every byte and finds the ticket session key', () => {
    const v = vector('default_export_established');
    const c = parseExportedContext(v.hex('exported_context_token_hex'), { full: true });
    const full = c.full!;
    expect(full.krb5ContextLayout).toBe('1.19+'); // MIT 1.20.1
    expect(full.trailingBytes).toBe(0);
    expect(full.authdataContextPresent).toBe(false);
    expect(full.proto).toBe(v.expected<number>('proto'));
    expect(full.acceptorSubkey).toBeNull();
    // the daemon's library context had not loaded its default realm yet; its profile is the
    // capture's KRB5_CONFIG
    expect(full.defaultRealm).toBe('');
    expect(full.clockskew).toBe(300);
    expect(full.profileFiles).toEqual(['/tmp/gptest/krb5.conf']);
    expect(full.ticketSessionKey!.enctype).toBe(v.expected<number>('ticket_session_key_enctype'));
    expect(full.ticketSessionKey!.key.toString('hex')).toBe(v.expected<string>('ticket_session_key_hex'));
    // the auth context's send subkey is the same key as the context subkey
    expect(full.sendSubkey!.key).toEqual(c.subkey!.key);
  });

  it('after the AP-REP (mutual): the session key is the acceptor subkey (default_export_after_ap_rep)', () => {
    const v = vector('default_export_after_ap_rep');
    const token = v.hex('exported_context_token_hex');
    const k = sessionKeyFromExportedContext(token);
    expect(k.from).toBe('acceptor-subkey');
    expect(k.context.haveAcceptorSubkey).toBe(true);
    expect(k.enctype).toBe(v.expected<number>('acceptor_subkey_enctype'));
    expect(k.key.toString('hex')).toBe(v.expected<string>('acceptor_subkey_hex'));
    expect(k.key.toString('hex')).toBe(v.get<string>('acceptor_sspi_session_key_hex'));
    expect(k.context.subkey!.key.toString('hex')).toBe(v.expected<string>('subkey_hex'));
    expect(k.context.full!.trailingBytes).toBe(0);
  });

  it('partial context (CONTINUE_NEEDED): subkey present, not established (partial_export_mutual_pending)', () => {
    const v = vector('partial_export_mutual_pending');
    const c = parseExportedContext(v.hex('exported_context_token_hex'), { full: true });
    expect(c.established).toBe(false);
    expect(c.haveAcceptorSubkey).toBe(false);
    expect(c.subkey!.key.toString('hex')).toBe(v.expected<string>('subkey_hex'));
    // not the final key: the acceptor answered with its own subkey
    expect(c.subkey!.key.toString('hex')).not.toBe(v.get<string>('acceptor_sspi_session_key_hex'));
    expect(c.full!.trailingBytes).toBe(0);
  });

  it('the context inside the captured INIT_SEC_CONTEXT reply parses fully', () => {
    const reply = decodeReply(vector('init_reply_minimal_example').hex('body_hex'));
    if (!reply.ok) throw new Error('expected SUCCESS');
    const ctx = decodeResInitSecContext(reply.results).contextHandle!;
    const c = parseExportedContext(ctx.exportedContextToken, { full: true });
    expect(c.principals).toEqual(['host/client.example.com@EXAMPLE.COM', 'cifs/fs1.example.com@EXAMPLE.COM']);
    expect(c.subkey!.enctype).toBe(18);
    expect(c.subkey!.key.length).toBe(32);
    expect(c.full!.trailingBytes).toBe(0);
  });

  it('every truncation and random corruption fails with ExportedContextError only', () => {
    for (const name of ['default_export_established', 'default_export_after_ap_rep', 'partial_export_mutual_pending']) {
      const token = vector(name).hex('exported_context_token_hex');
      for (let n = 0; n < token.length; n++) {
        const cut = token.subarray(0, n);
        try {
          parseExportedContext(cut, { full: true });
          // a cut after the last required field can still parse (nothing mandatory follows)
        } catch (e) {
          expect(e).toBeInstanceOf(ExportedContextError);
        }
      }
    }
    const token = vector('default_export_after_ap_rep').hex('exported_context_token_hex');
    fc.assert(
      fc.property(fc.nat({ max: token.length - 1 }), fc.integer({ min: 0, max: 255 }), (at, byte) => {
        const bad = Buffer.from(token);
        bad[at] = byte;
        try {
          sessionKeyFromExportedContext(bad);
        } catch (e) {
          if (!(e instanceof ExportedContextError)) throw e;
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('rejects a context without the KG_CONTEXT magic', () => {
    const token = Buffer.from(vector('default_export_established').hex('exported_context_token_hex'));
    token.writeUInt32BE(0, 13);
    expect(() => parseExportedContext(token)).toThrow(/KG_CONTEXT/);
  });
});

describe('linux_lucid_v1 export', () => {
  it('reproduces the captured key, flags and sequence numbers (lucid_v1_established)', () => {
    const v = vector('lucid_v1_established');
    const l = parseLucidContext(v.hex('exported_context_token_hex'), 'LE');
    expect(l.flags).toBe(v.expected<number>('flags'));
    expect(l.initiator).toBe(true);
    expect(l.cfx).toBe(true);
    expect(l.acceptorSubkey).toBe(false);
    expect(l.endtime).toBe(v.expected<number>('endtime'));
    expect(l.sendSeq).toBe(BigInt(v.expected<number>('send_seq')));
    expect(l.enctype).toBe(v.expected<number>('enctype'));
    expect(l.key.toString('hex')).toBe(v.expected<string>('key'));
    expect(l.key.toString('hex')).toBe(v.get<string>('acceptor_sspi_session_key_hex'));
  });

  it("reads a big-endian daemon's buffer too, and refuses the wrong byte order", () => {
    const le = vector('lucid_v1_established').hex('exported_context_token_hex');
    const be = Buffer.from(le);
    be.writeUInt32BE(le.readUInt32LE(0), 0);
    be.writeUInt32BE(le.readUInt32LE(4), 4);
    be.writeBigUInt64BE(le.readBigUInt64LE(8), 8);
    be.writeUInt32BE(le.readUInt32LE(16), 16);
    expect(parseLucidContext(be, 'BE')).toEqual(parseLucidContext(le, 'LE'));
    expect(() => parseLucidContext(le, 'BE')).toThrow(LucidContextError);
  });

  it('refuses short and oversized buffers', () => {
    expect(() => parseLucidContext(Buffer.alloc(20), 'LE')).toThrow(LucidContextError);
    expect(() => parseLucidContext(Buffer.alloc(20 + 65), 'LE')).toThrow(/implausible/);
  });
});

describe('the two export forms agree', () => {
  it('lucid key == MIT-export subkey == acceptor key, for their captured contexts', () => {
    const lucid = parseLucidContext(vector('lucid_v1_established').hex('exported_context_token_hex'), 'LE');
    expect(lucid.key.toString('hex')).toBe(vector('lucid_v1_established').get<string>('acceptor_sspi_session_key_hex'));
    const mit = sessionKeyFromExportedContext(vector('default_export_established').hex('exported_context_token_hex'));
    expect(mit.key.toString('hex')).toBe(vector('default_export_established').expected<string>('acceptor_sspi_session_key_hex'));
    expect(mit.enctype).toBe(lucid.enctype);
  });
});
