// Published known-answer vectors restated in docs/kerberos.md#crypto-test-vectors: decryption samples from MIT
// t_decrypt.c (17, 18, 23) and RFC 8009 Appendix A (19, 20); checksum samples from MIT
// t_cksums.c and RFC 8009 Appendix A.

export interface DecryptVector {
  etype: number;
  usage: number;
  key: string;
  plaintext: string;
  ciphertext: string;
}

export const decryptVectors: DecryptVector[] = [
  {
    etype: 23,
    usage: 0,
    key: 'f81fec39255f5784e850c4377c88bd85',
    plaintext: '',
    ciphertext: '02c1eb15586144122ec717763dd348bf00434ddc6585954c',
  },
  {
    etype: 23,
    usage: 1,
    key: '67d1300d281223867f9647ff48721273',
    plaintext: '31',
    ciphertext: '6156e0cc04e0a0874f9fda008f498a7adbbc80b70b14dddbc0',
  },
  {
    etype: 23,
    usage: 3,
    key: '4ba2fbf0379faed87a254d3b353d5a7e',
    plaintext: '31332062797465732062797465',
    ciphertext: '612c57568b17a70352bae8cf26fb9459a6f3353cd35fd439db3107cbec765d326dfc04c1dd',
  },
  {
    etype: 17,
    usage: 0,
    key: '5a5c0f0ba54f3828b2195e66ca24a289',
    plaintext: '',
    ciphertext: '49ff8e11c173d9583a3254fbe7b1f1df36c538e8416784a1672e6676',
  },
  {
    etype: 17,
    usage: 1,
    key: '98450e3f3baa13f5c99beb936981b06f',
    plaintext: '31',
    ciphertext: 'f86742f537b35dc2174a4dbaa920faf9042090b065e1ebb1cad9a65394',
  },
  {
    etype: 17,
    usage: 4,
    key: 'dceeb70b3de76562e689226c76429148',
    plaintext: '333020627974657320627974657320627974657320627974657320627974',
    ciphertext: 'c96081032d5d8eeb7e32b4089f789d0faa481dea74c0f97cbf3146ddfcf8e800156ecb532fc203e30ff600b63b350939fece510f02d7ff1e7bac',
  },
  {
    etype: 18,
    usage: 0,
    key: '17f275f2954f2ed1f90c377ba7f4d6a369aa0136e0bf0c927ad6133c693759a9',
    plaintext: '',
    ciphertext: 'e5094c55ee7b38262e2b044280b069379a95bf95bd8376fb3281b435',
  },
  {
    etype: 18,
    usage: 2,
    key: 'b1ae4cd8462aff1677053cc9279aac30b796fb81ce21474dd3ddbcfea4ec76d7',
    plaintext: '392062797465737373',
    ciphertext: '09957aa25fcaf88f7b39e4406e633012d5fea21853f6478da7065caef41fd454a40824eec5',
  },
  {
    etype: 18,
    usage: 3,
    key: 'e5a72be9b7926c1225bafef9c1872e7ba4cdb2b17893d84abd90acdd8764d966',
    plaintext: '31332062797465732062797465',
    ciphertext: 'd8f1aafeec84587cc3e700a774e56651a6d693e174ec4473b5e6d96f80297a653fb818ad893e719f96',
  },
  {
    etype: 19,
    usage: 2,
    key: '3705d96080c17728a0e800eab6e0d23c',
    plaintext: '',
    ciphertext: 'ef85fb890bb8472f4dab20394dca781dad877eda39d50c870c0d5a0a8e48c718',
  },
  {
    etype: 19,
    usage: 2,
    key: '3705d96080c17728a0e800eab6e0d23c',
    plaintext: '000102030405',
    ciphertext: '84d7f30754ed987bab0bf3506beb09cfb55402cef7e6877ce99e247e52d16ed4421dfdf8976c',
  },
  {
    etype: 19,
    usage: 2,
    key: '3705d96080c17728a0e800eab6e0d23c',
    plaintext: '000102030405060708090a0b0c0d0e0f1011121314',
    ciphertext: '720f73b18d9859cd6ccb4346115cd336c70f58edc0c4437c5573544c31c813bce1e6d072c186b39a413c2f92ca9b8334a287ffcbfc',
  },
  {
    etype: 20,
    usage: 2,
    key: '6d404d37faf79f9df0d33568d320669800eb4836472ea8a026d16b7182460c52',
    plaintext: '',
    ciphertext: '41f53fa5bfe7026d91faf9be959195a058707273a96a40f0a01960621ac612748b9bbfbe7eb4ce3c',
  },
  {
    etype: 20,
    usage: 2,
    key: '6d404d37faf79f9df0d33568d320669800eb4836472ea8a026d16b7182460c52',
    plaintext: '000102030405060708090a0b0c0d0e0f',
    ciphertext: 'bc47ffec7998eb91e8115cf8d19dac4bbbe2e163e87dd37f49beca92027764f68cf51f14d798c2273f35df574d1f932e40c4ff255b36a266',
  },
  {
    etype: 20,
    usage: 2,
    key: '6d404d37faf79f9df0d33568d320669800eb4836472ea8a026d16b7182460c52',
    plaintext: '000102030405060708090a0b0c0d0e0f1011121314',
    ciphertext:
      '40013e2df58e8751957d2878bcd2d6fe101ccfd556cb1eae79db3c3ee86429f2b2a602ac86fef6ecb647d6295fae077a1feb517508d2c16b4192e01f62',
  },
];

export interface ChecksumVector {
  cksumtype: number;
  usage: number;
  key?: string;
  data: Buffer;
  checksum: string;
}

export const checksumVectors: ChecksumVector[] = [
  {
    cksumtype: 15,
    usage: 3,
    key: '9062430c8cda3388922e6d6a509f5b7a',
    data: Buffer.from('eight nine ten eleven twelve thirteen'),
    checksum: '01a4b088d45628f6946614e3',
  },
  {
    cksumtype: 16,
    usage: 4,
    key: 'b1ae4cd8462aff1677053cc9279aac30b796fb81ce21474dd3ddbcfea4ec76d7',
    data: Buffer.from('fourteen'),
    checksum: 'e08739e3279e2903ec8e3836',
  },
  {
    cksumtype: 19,
    usage: 2,
    key: '3705d96080c17728a0e800eab6e0d23c',
    data: Buffer.from('000102030405060708090a0b0c0d0e0f1011121314', 'hex'),
    checksum: 'd78367186643d67b411cba9139fc1dee',
  },
  {
    cksumtype: 20,
    usage: 2,
    key: '6d404d37faf79f9df0d33568d320669800eb4836472ea8a026d16b7182460c52',
    data: Buffer.from('000102030405060708090a0b0c0d0e0f1011121314', 'hex'),
    checksum: '45ee791567eefca37f4ac1e0222de80d43c3bfa06699672a',
  },
  {
    cksumtype: -138,
    usage: 6,
    key: 'f7d3a155af5e238a0b7a871a96ba2ab2',
    data: Buffer.from('seventeen eighteen nineteen twenty'),
    checksum: 'eb38cc97e2230f59da4117dc5859d7ec',
  },
  { cksumtype: 7, usage: 0, data: Buffer.from('two three four five'), checksum: 'bab5321551e1084490869635b3c26815' },
];
