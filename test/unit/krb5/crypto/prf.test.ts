import { describe, expect, it } from 'vitest';
import { encryptionType, krbFxCf2, prfPlus, stringToKey } from '../../../../src/krb5/crypto/index.ts';
import { BACKENDS, useBackend } from './backends.ts';

const hex = (s: string) => Buffer.from(s, 'hex');
const seq = (from: number, to: number) => Buffer.from(Array.from({ length: to - from }, (_, i) => from + i));

describe.each(BACKENDS)('%s back end', (backend) => {
  useBackend(backend);

  describe('PRF', () => {
    // MIT krb5 src/lib/crypto/crypto_tests/t_prf.c
    const mit: [number, string, string, string][] = [
      [17, 'ae272e7cdec86ac5138cdb196d8e297d', '0161', '77b39a37a868920f2a51f9dd150c5717'],
      [17, '67ab1cfef35e4c27ffdeac60385a3e9c', '0162', 'e06c0dd31ff02091994f2ef5178bfe3d'],
      [18, 'c01f157211f7b77eaaf457c3e156690127ee127d810ba6392e97baa243eb0616', '0161', 'b2628c788e2e9c4a9bb4644678c29f2f'],
      [18, 'c01f157211f7b77eaaf457c3e156690127ee127d810ba6392e97baa243eb0616', '0261', 'b406373350cee8a6126f4a9b65a0cd21'],
      [18, '9d520d2d980aa7cb6b693682b62da258b333867951642ce647ae62b1e5e0b5e9', '0162', 'ff0e289ea756c0559a0e911856961a49'],
      [18, '9d520d2d980aa7cb6b693682b62da258b333867951642ce647ae62b1e5e0b5e9', '0262', '0d674dd0f9a6806525a4d92e828bd15a'],
    ];
    it.each(mit)('etype %i key %s input %s (MIT t_prf.c)', (etype, key, input, expected) => {
      expect(encryptionType(etype).prf(hex(key), hex(input)).toString('hex')).toBe(expected);
    });

    // Captured from MIT krb5 1.20.1 krb5_c_prf() on Debian 12 (libkrb5.so.3 driven through ctypes).
    const captured: [number, Buffer, string, string][] = [
      [19, seq(16, 32), '0161', 'da36f3a9d9368583e6bea17cd81b02f7e742c96dbc31505d5af51bf5f8bb6969'],
      [19, seq(16, 32), Buffer.from('test').toString('hex'), '59729bdb2d649284717d5e2d66b39e6455dab27ffda8681def7c7efc1391a2d1'],
      [20, seq(32, 64), '0161', '1abbafa3239baf94c5c24b17f7db1a322be4b64c9f9ad25834b11d292d13e8da4f117e47d255ce6364e02c1b38d13914'],
      [
        20,
        seq(32, 64),
        Buffer.from('test').toString('hex'),
        'd79ea7afe858ebc7bb6c984759fbfa82cec0f0a3842397593519311ba113573a54da3a65e3c8394c9b49f8bd22afae71',
      ],
      [23, seq(48, 64), '0161', '58f4015bb46e04a1c47c57dd3fd319c075b2502c'],
      [17, seq(0, 16), Buffer.from('test').toString('hex'), '859bfee93fa17ce57b1acdbc480e3314'],
      [18, seq(0, 32), '0161', '9add1dd3b638d0f442ea55f075cd681d'],
    ];
    it.each(captured)('etype %i (captured from MIT 1.20.1)', (etype, key, input, expected) => {
      const p = encryptionType(etype);
      const out = p.prf(key, hex(input));
      expect(out.toString('hex')).toBe(expected);
      expect(out.length).toBe(p.prfLength);
    });

    it('PRF+ concatenates PRF(K, i ‖ s) blocks', () => {
      const key = seq(0, 16);
      const out = prfPlus(17, key, Buffer.from('a'), 40);
      expect(out.subarray(0, 16)).toEqual(encryptionType(17).prf(key, Buffer.from('\x01a')));
      expect(out.subarray(16, 32)).toEqual(encryptionType(17).prf(key, Buffer.from('\x02a')));
      expect(out.length).toBe(40);
    });
  });

  describe('KRB-FX-CF2 (RFC 6113 §5.1)', () => {
    // MIT t_cf2.in/t_cf2.expected: keys = string-to-key("key1", salt "key1") and ("key2", "key2").
    it.each([
      [17, '97df97e4b798b29eb31ed7280287a92a'],
      [18, '4d6ca4e629785c1f01baf55e2e548566b9617ae3a96868c337cb93b5e72b1c7b'],
    ])('etype %i, peppers "a" and "b" (MIT t_cf2.expected)', (etype, expected) => {
      const k1 = stringToKey(etype, 'key1', 'key1');
      const k2 = stringToKey(etype, 'key2', 'key2');
      expect(krbFxCf2(etype, k1, 'a', etype, k2, 'b').toString('hex')).toBe(expected);
    });

    // Captured from MIT krb5 1.20.1 krb5_c_fx_cf2_simple(): key2 byte i = key1 byte i * 7 + 3.
    const second = (k: Buffer) => Buffer.from(k.map((b) => (b * 7 + 3) & 0xff));
    it.each([
      [19, seq(16, 32), 'e7341f4bf8482592c87aade820e8e7eb'],
      [20, seq(32, 64), '588371d9c17b78de38c991cad335f22f100df5991b3eebfeab632e85204806e6'],
      [23, seq(48, 64), 'aa912c259534ceb277f45a76d1516704'],
      [17, seq(0, 16), '7e7c5e5f733eb5ada2de6f25c13c0cbe'],
    ])('etype %i (captured from MIT 1.20.1)', (etype, key, expected) => {
      expect(krbFxCf2(etype, key, 'a', etype, second(key), 'b').toString('hex')).toBe(expected);
    });
  });

  describe('string-to-key', () => {
    it('RFC 3962 Appendix B, 1 iteration: the base keys of the t_derive.c vectors', () => {
      expect(stringToKey(17, 'password', 'ATHENA.MIT.EDUraeburn', 1).toString('hex')).toBe('42263c6e89f4fc28b8df68ee09799f15');
      expect(stringToKey(18, 'password', 'ATHENA.MIT.EDUraeburn', 1).toString('hex')).toBe(
        'fe697b52bc0d3ce14432ba036a92e65bbb52280990a2fa27883998d72af30161',
      );
    });

    it('RFC 8009 Appendix A (32768 iterations)', () => {
      const salt = Buffer.concat([hex('10df9dd783e5bc8acea1730e74355f61'), Buffer.from('ATHENA.MIT.EDUraeburn')]);
      expect(stringToKey(19, 'password', salt).toString('hex')).toBe('089bca48b105ea6ea77ca5d2f39dc5e7');
      expect(stringToKey(20, 'password', salt).toString('hex')).toBe('45bd806dbf6a833a9cffc1c94589a222367a79bc21c413718906e9f578a78467');
    });

    it('default iteration counts (captured from MIT 1.20.1 krb5_c_string_to_key)', () => {
      expect(stringToKey(17, 'password', 'EXAMPLE.TESTuser').toString('hex')).toBe('00c9d7144b3d05eb2d1449f73798e7b0');
      expect(stringToKey(18, 'password', 'EXAMPLE.TESTuser', 5000).toString('hex')).not.toBe(
        stringToKey(18, 'password', 'EXAMPLE.TESTuser').toString('hex'),
      );
      expect(stringToKey(18, 'password', 'EXAMPLE.TESTuser').toString('hex')).toBe(
        'a742c36e3f1947d13d8960d771412b1a54a58093c60a2eee0d33b01b0d949805',
      );
      expect(stringToKey(18, 'password', 'ATHENA.MIT.EDUraeburn', 5000).toString('hex')).toBe(
        'c1913da9b1e62d8cbe33c085172757f55d94d944eab9c0833afb0d3ca8fd27f8',
      );
      expect(stringToKey(19, 'password', 'EXAMPLE.TESTuser').toString('hex')).toBe('aff4c02b36586099e7a6653c2c6ed7d6');
      expect(stringToKey(20, 'password', 'EXAMPLE.TESTuser').toString('hex')).toBe(
        'a60d191f74045d7648be6bea5f65fcb9bfbe76259e62237329b61b73a9002d25',
      );
    });
  });

  describe('decrypting ciphertext produced by MIT krb5 1.20.1 krb5_c_encrypt (usage 11)', () => {
    const captured: [number, Buffer, string][] = [
      [17, seq(0, 16), '2e5d29bf35434bd812e67a59c3fcc97559b025092b6e7b3ee709c48cb3473e8c9eadff7f7fb8aa61dd2b2789ebe9c003bb35'],
      [18, seq(0, 32), 'f74e90f159ff76c81b08566cd69a354d83c959feb2c362f19247e4d1e7dedadecfda66c367f9a627e6341a7b24432cf6bdd8'],
      [19, seq(16, 32), 'f1da1b28038c9c87bbcd570890e114a6e552c002a94e5e0b6f1883fa87ca7c0e9c1461e42c35b20599e64509443c79d2ee65af995ee6'],
      [
        20,
        seq(32, 64),
        'da9b8f5a2b27438a0d902a5891420f7f3471e255610f168b1b78dd9e76a5588638acce8e9d6e2c986356853c60833acfbfe1ded9526f1a38d9e94effeaff',
      ],
      [23, seq(48, 64), '0490adceef2613332879d92ce50f33f7320f3c5ab00a482b229402ab4ee29461b2ab11262be805fcc80c3e0d5d18'],
    ];
    it.each(captured)('etype %i', (etype, key, ciphertext) => {
      expect(encryptionType(etype).decrypt(key, 11, hex(ciphertext)).toString()).toBe('authenticator from MIT');
    });
  });
});
