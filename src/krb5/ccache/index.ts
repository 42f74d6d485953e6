// Credential caches (FILE, DIR, KEYRING, KCM, MEMORY): default-name resolution, reading, storing
// back, and picking credentials — the public surface of src/krb5/ccache.
export { CcacheError, CcacheFormatError, KcmError, type CcacheFailure } from './errors.ts';
export {
  CacheConfigKey,
  classifyRecords,
  configCredential,
  configValue,
  isConfigPrincipal,
  isRemovedEntry,
  parsePrincipal,
  principalsEqual,
  unparsePrincipal,
  wipeKeys,
  type AuthDataElement,
  type CacheConfigEntry,
  type CcacheContents,
  type CcacheType,
  type Credential,
  type CredentialCache,
  type HostAddress,
  type KdcTimeOffset,
  type Keyblock,
  type Principal,
} from './model.ts';
export {
  BUILTIN_DEFAULT_CCACHE_NAME,
  expandPathTokens,
  resolveDefaultCcacheName,
  splitCcacheName,
  type DefaultCcacheName,
  type DefaultCcacheNameInput,
  type ExpansionContext,
} from './name.ts';
export {
  decodeCredential,
  decodePrincipal,
  encodeCredential,
  encodeFileCcache,
  encodePrincipal,
  parseFileCcache,
  type CcacheVersion,
  type ParsedFileCcache,
} from './marshal.ts';
export { FileCredentialCache, type FileCcacheOptions, type FileCcacheSnapshot } from './file.ts';
export { listDirCollection, openDirCcache, readPrimaryName } from './dir.ts';
export {
  KeyringCredentialCache,
  listKeyringCollection,
  openKeyringCcache,
  parseKeyringResidual,
  type KeyringOptions,
  type KeyringResidual,
} from './keyring.ts';
export {
  DEFAULT_KCM_SOCKET,
  KcmConnection,
  KcmCredentialCache,
  KcmOp,
  KrbCcacheCode,
  isUnsupportedKcmCode,
  listKcmCollection,
  openKcmCcache,
  type KcmOptions,
} from './kcm.ts';
export { MemoryCredentialCache } from './memory.ts';
export { listCredentialCaches, openCredentialCache, type OpenCcacheOptions } from './open.ts';
export {
  findForeignTgt,
  findServiceTicket,
  findTgt,
  kdcNow,
  startRealm,
  tgsPrincipal,
  upcallCacheVerdict,
  type SelectOptions,
  type TgtLookup,
  type UpcallCacheVerdict,
} from './select.ts';
