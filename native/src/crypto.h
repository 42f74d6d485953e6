// Kerberos crypto primitives on the OpenSSL that the node binary already links and exports
// (src/krb5/crypto/primitives.ts): calling EVP directly spares an upcall loading node:crypto.
#ifndef CIFS_UPCALL_CRYPTO_H_
#define CIFS_UPCALL_CRYPTO_H_

#include <napi.h>

// Adds aesCbc, aesEcb, hmac, digest, pbkdf2, randomBytes and timingSafeEqual to `exports`.
void InitCrypto(Napi::Env env, Napi::Object exports);

#endif  // CIFS_UPCALL_CRYPTO_H_
