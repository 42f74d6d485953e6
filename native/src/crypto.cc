// Kerberos crypto primitives on OpenSSL's EVP interface (src/krb5/crypto/primitives.ts).
//
//   aesCbc / aesEcb     AES-128/256 without padding (CTS, DR and the PRF are built on these in TS)
//   hmac / digest       MD5, SHA-1, SHA-256, SHA-384 over a list of buffers
//   pbkdf2              PKCS5_PBKDF2_HMAC (AES string-to-key)
//   randomBytes         RAND_bytes (confounders, session keys, nonces)
//   timingSafeEqual     CRYPTO_memcmp (MAC verification)
//
// Why here and not node:crypto: loading node:crypto costs an upcall ~4 ms of CPU and ~2 MiB (it
// pulls in Node's stream classes) for a handful of block operations. The node binary links and
// exports OpenSSL 3 (bundled, or the system's libssl3 for a distribution build), so these
// symbols resolve from the process and the addon links no library of its own. Only APIs that
// are current (not deprecated) in OpenSSL 3.0 are used. No RC4: OpenSSL 3 keeps it in the legacy
// provider; src/krb5/crypto/rfc4757.ts has its own.
//
// Every OpenSSL failure throws a JS Error naming the call, with OpenSSL's reason, and clears the
// thread's OpenSSL error queue (Node's own crypto expects to find it empty). Cipher contexts are
// freed with EVP_CIPHER_CTX_free, which cleanses the key schedule; intermediate buffers that
// held key or plaintext material are cleansed with OPENSSL_cleanse. Nothing is kept in statics.

#include "crypto.h"

#include "args.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <climits>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace {

constexpr size_t kAesBlock = 16;
// A valid pointer for empty inputs: some OpenSSL calls treat NULL as "no key" rather than "key
// of length 0" (EVP_MAC_init) or dereference before looking at the length.
const unsigned char kEmpty[1] = {0};

Napi::Error OpensslError(Napi::Env env, const char* call) {
  unsigned long code = ERR_peek_last_error();
  std::string msg = std::string(call) + " failed";
  if (code != 0) {
    char reason[256];
    ERR_error_string_n(code, reason, sizeof reason);
    msg += std::string(": ") + reason;
  }
  ERR_clear_error();
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("code", Napi::String::New(env, "ERR_OPENSSL"));
  e.Set("opensslCall", Napi::String::New(env, call));
  return e;
}

// A view of a Uint8Array argument (a Buffer is one). The pointer stays valid for the call: no JS
// runs between reading the arguments and using them.
struct Bytes {
  const unsigned char* data = kEmpty;
  size_t length = 0;
};

bool BytesOf(Napi::Env env, Napi::Value v, const char* what, Bytes* out) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    Napi::TypeError::New(env, std::string(what) + " must be a Uint8Array").ThrowAsJavaScriptException();
    return false;
  }
  Napi::Uint8Array a = v.As<Napi::Uint8Array>();
  out->length = a.ElementLength();
  out->data = out->length > 0 ? a.Data() : kEmpty;
  return true;
}

bool BytesArg(const Napi::CallbackInfo& info, size_t i, const char* what, Bytes* out) {
  return BytesOf(info.Env(), info[i], what, out);
}

bool BytesListArg(const Napi::CallbackInfo& info, size_t i, std::vector<Bytes>* out) {
  if (!info[i].IsArray()) {
    Napi::TypeError::New(info.Env(), "data must be an array of Uint8Arrays").ThrowAsJavaScriptException();
    return false;
  }
  Napi::Array arr = info[i].As<Napi::Array>();
  out->resize(arr.Length());
  for (uint32_t j = 0; j < arr.Length(); j++) {
    if (!BytesOf(info.Env(), arr.Get(j), "data element", &(*out)[j])) return false;
  }
  return true;
}

bool BoolArg(const Napi::CallbackInfo& info, size_t i, bool* out) {
  if (!info[i].IsBoolean()) {
    return ArgTypeError(info, i, "a boolean");
  }
  *out = info[i].As<Napi::Boolean>().Value();
  return true;
}

// A whole number in [min, max]; lengths and counts end up as OpenSSL ints.
bool IntArg(const Napi::CallbackInfo& info, size_t i, int min, int max, int* out) {
  if (!info[i].IsNumber()) {
    return ArgTypeError(info, i, "a number");
  }
  double v = info[i].As<Napi::Number>().DoubleValue();
  if (!(v >= min && v <= max) || v != static_cast<double>(static_cast<int>(v))) {
    Napi::RangeError::New(info.Env(), "argument " + std::to_string(i) + " must be an integer in " +
                                          std::to_string(min) + ".." + std::to_string(max))
        .ThrowAsJavaScriptException();
    return false;
  }
  *out = static_cast<int>(v);
  return true;
}

// The hashes Kerberos needs, by the names node:crypto uses for them. The EVP_MD getters are the
// stable 3.0 way to name the default provider's implementations; the MAC takes the name string.
struct Hash {
  const char* name;
  const char* ossl_name;
  const EVP_MD* (*md)();
};
const Hash kHashes[] = {
    {"md5", "MD5", EVP_md5},
    {"sha1", "SHA1", EVP_sha1},
    {"sha256", "SHA256", EVP_sha256},
    {"sha384", "SHA384", EVP_sha384},
};

const Hash* HashArg(const Napi::CallbackInfo& info, size_t i) {
  if (info[i].IsString()) {
    std::string name = info[i].As<Napi::String>().Utf8Value();
    for (const Hash& h : kHashes) {
      if (name == h.name) return &h;
    }
  }
  Napi::TypeError::New(info.Env(), "hash must be one of md5, sha1, sha256, sha384")
      .ThrowAsJavaScriptException();
  return nullptr;
}

// The key length selects AES-128 or AES-256: checked here, since EVP_CipherInit_ex reads as many
// key bytes as the cipher wants, whatever the buffer holds.
const EVP_CIPHER* AesCipher(Napi::Env env, const Bytes& key, bool cbc) {
  if (key.length == 16) return cbc ? EVP_aes_128_cbc() : EVP_aes_128_ecb();
  if (key.length == 32) return cbc ? EVP_aes_256_cbc() : EVP_aes_256_ecb();
  Napi::RangeError::New(env, "AES key must be 16 or 32 bytes, got " + std::to_string(key.length))
      .ThrowAsJavaScriptException();
  return nullptr;
}

// One AES pass without padding over whole blocks.
Napi::Value AesCrypt(Napi::Env env, const EVP_CIPHER* cipher, const Bytes& key, const unsigned char* iv,
                     const Bytes& data, bool encrypt) {
  if (data.length % kAesBlock != 0 || data.length > static_cast<size_t>(INT_MAX) - kAesBlock) {
    Napi::RangeError::New(env, "AES data must be whole 16-byte blocks, got " + std::to_string(data.length) +
                                   " bytes")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  if (ctx == nullptr) {
    OpensslError(env, "EVP_CIPHER_CTX_new").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  // EVP_CipherUpdate may write up to one block more than it is given (its documented bound), so
  // the output goes to a scratch buffer first, cleansed afterwards: it holds plaintext one way.
  std::vector<unsigned char> out(data.length + kAesBlock);
  int n = 0, tail = 0;
  const char* failed = nullptr;
  if (EVP_CipherInit_ex(ctx, cipher, nullptr, key.data, iv, encrypt ? 1 : 0) != 1) {
    failed = "EVP_CipherInit_ex";
  } else if (EVP_CIPHER_CTX_set_padding(ctx, 0) != 1) {
    failed = "EVP_CIPHER_CTX_set_padding";
  } else if (EVP_CipherUpdate(ctx, out.data(), &n, data.data, static_cast<int>(data.length)) != 1) {
    failed = "EVP_CipherUpdate";
  } else if (EVP_CipherFinal_ex(ctx, out.data() + n, &tail) != 1) {
    failed = "EVP_CipherFinal_ex";
  } else if (static_cast<size_t>(n) + tail != data.length) {
    failed = "EVP_CipherUpdate (output length)";
  }
  EVP_CIPHER_CTX_free(ctx);  // cleanses the key schedule
  Napi::Value result = env.Undefined();
  if (failed != nullptr) {
    OpensslError(env, failed).ThrowAsJavaScriptException();
  } else {
    result = Napi::Buffer<unsigned char>::Copy(env, out.data(), data.length);
  }
  OPENSSL_cleanse(out.data(), out.size());
  return result;
}

// aesCbc(encrypt, key, iv, data): AES-CBC, no padding, data a multiple of 16 bytes.
Napi::Value AesCbc(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  bool encrypt;
  Bytes key, iv, data;
  if (!ArgCount(info, 4) || !BoolArg(info, 0, &encrypt) || !BytesArg(info, 1, "key", &key) ||
      !BytesArg(info, 2, "iv", &iv) || !BytesArg(info, 3, "data", &data)) {
    return env.Undefined();
  }
  const EVP_CIPHER* cipher = AesCipher(env, key, true);
  if (cipher == nullptr) return env.Undefined();
  if (iv.length != kAesBlock) {
    Napi::RangeError::New(env, "AES-CBC IV must be 16 bytes, got " + std::to_string(iv.length))
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return AesCrypt(env, cipher, key, iv.data, data, encrypt);
}

// aesEcb(encrypt, key, data): the raw block function over whole blocks (DR, the PRF, CTS).
Napi::Value AesEcb(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  bool encrypt;
  Bytes key, data;
  if (!ArgCount(info, 3) || !BoolArg(info, 0, &encrypt) || !BytesArg(info, 1, "key", &key) ||
      !BytesArg(info, 2, "data", &data)) {
    return env.Undefined();
  }
  const EVP_CIPHER* cipher = AesCipher(env, key, false);
  if (cipher == nullptr) return env.Undefined();
  return AesCrypt(env, cipher, key, nullptr, data, encrypt);
}

// hmac(hash, key, [data…]): HMAC through the EVP_MAC interface (HMAC_CTX is deprecated in 3.0).
Napi::Value Hmac(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!ArgCount(info, 3)) return env.Undefined();
  const Hash* hash = HashArg(info, 0);
  Bytes key;
  std::vector<Bytes> parts;
  if (hash == nullptr || !BytesArg(info, 1, "key", &key) || !BytesListArg(info, 2, &parts)) {
    return env.Undefined();
  }
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  if (mac == nullptr) {
    OpensslError(env, "EVP_MAC_fetch(HMAC)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(mac);
  unsigned char out[EVP_MAX_MD_SIZE];
  size_t outl = 0;
  const char* failed = nullptr;
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>(hash->ossl_name), 0),
      OSSL_PARAM_construct_end(),
  };
  if (ctx == nullptr) {
    failed = "EVP_MAC_CTX_new";
  } else if (EVP_MAC_init(ctx, key.data, key.length, params) != 1) {
    failed = "EVP_MAC_init";
  } else {
    for (const Bytes& p : parts) {
      if (EVP_MAC_update(ctx, p.data, p.length) != 1) {
        failed = "EVP_MAC_update";
        break;
      }
    }
    if (failed == nullptr && EVP_MAC_final(ctx, out, &outl, sizeof out) != 1) failed = "EVP_MAC_final";
  }
  EVP_MAC_CTX_free(ctx);  // frees (and cleanses) the keyed digest states
  EVP_MAC_free(mac);
  if (failed != nullptr) {
    OPENSSL_cleanse(out, sizeof out);
    OpensslError(env, failed).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  // the MAC is often a key (DK, KDF-HMAC-SHA2): no copy left on the stack
  Napi::Buffer<unsigned char> result = Napi::Buffer<unsigned char>::Copy(env, out, outl);
  OPENSSL_cleanse(out, sizeof out);
  return result;
}

// digest(hash, [data…]): an unkeyed hash.
Napi::Value Digest(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!ArgCount(info, 2)) return env.Undefined();
  const Hash* hash = HashArg(info, 0);
  std::vector<Bytes> parts;
  if (hash == nullptr || !BytesListArg(info, 1, &parts)) return env.Undefined();
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int outl = 0;
  const char* failed = nullptr;
  if (ctx == nullptr) {
    failed = "EVP_MD_CTX_new";
  } else if (EVP_DigestInit_ex(ctx, hash->md(), nullptr) != 1) {
    failed = "EVP_DigestInit_ex";
  } else {
    for (const Bytes& p : parts) {
      if (EVP_DigestUpdate(ctx, p.data, p.length) != 1) {
        failed = "EVP_DigestUpdate";
        break;
      }
    }
    if (failed == nullptr && EVP_DigestFinal_ex(ctx, out, &outl) != 1) failed = "EVP_DigestFinal_ex";
  }
  EVP_MD_CTX_free(ctx);
  if (failed != nullptr) {
    OpensslError(env, failed).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return Napi::Buffer<unsigned char>::Copy(env, out, outl);
}

// pbkdf2(hash, password, salt, iterations, length): PBKDF2-HMAC (RFC 8018 §5.2).
Napi::Value Pbkdf2(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!ArgCount(info, 5)) return env.Undefined();
  const Hash* hash = HashArg(info, 0);
  Bytes password, salt;
  int iterations, length;
  if (hash == nullptr || !BytesArg(info, 1, "password", &password) || !BytesArg(info, 2, "salt", &salt) ||
      !IntArg(info, 3, 1, INT_MAX, &iterations) || !IntArg(info, 4, 1, 1024, &length)) {
    return env.Undefined();
  }
  if (password.length > static_cast<size_t>(INT_MAX) || salt.length > static_cast<size_t>(INT_MAX)) {
    Napi::RangeError::New(env, "PBKDF2 password or salt too long").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  // the derived key is the result: written straight into the returned buffer
  Napi::Buffer<unsigned char> out = Napi::Buffer<unsigned char>::New(env, length);
  if (PKCS5_PBKDF2_HMAC(reinterpret_cast<const char*>(password.data), static_cast<int>(password.length),
                        salt.data, static_cast<int>(salt.length), iterations, hash->md(), length,
                        out.Data()) != 1) {
    OPENSSL_cleanse(out.Data(), out.Length());
    OpensslError(env, "PKCS5_PBKDF2_HMAC").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return out;
}

// randomBytes(n): n bytes from OpenSSL's CSPRNG (the one node:crypto's randomBytes uses).
Napi::Value RandomBytes(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int n;
  if (!ArgCount(info, 1) || !IntArg(info, 0, 0, 65536, &n)) return env.Undefined();
  Napi::Buffer<unsigned char> out = Napi::Buffer<unsigned char>::New(env, n);
  if (n > 0 && RAND_bytes(out.Data(), n) != 1) {
    OpensslError(env, "RAND_bytes").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return out;
}

// timingSafeEqual(a, b): equal-length buffers compared in time independent of their contents.
// Different lengths throw, as node:crypto's does (callers compare lengths first, in the open).
Napi::Value TimingSafeEqual(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Bytes a, b;
  if (!ArgCount(info, 2) || !BytesArg(info, 0, "a", &a) || !BytesArg(info, 1, "b", &b)) {
    return env.Undefined();
  }
  if (a.length != b.length) {
    Napi::RangeError::New(env, "timingSafeEqual: inputs must have the same length").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return Napi::Boolean::New(env, CRYPTO_memcmp(a.data, b.data, a.length) == 0);
}

}  // namespace

void InitCrypto(Napi::Env env, Napi::Object exports) {
  exports.Set("aesCbc", Napi::Function::New(env, AesCbc));
  exports.Set("aesEcb", Napi::Function::New(env, AesEcb));
  exports.Set("hmac", Napi::Function::New(env, Hmac));
  exports.Set("digest", Napi::Function::New(env, Digest));
  exports.Set("pbkdf2", Napi::Function::New(env, Pbkdf2));
  exports.Set("randomBytes", Napi::Function::New(env, RandomBytes));
  exports.Set("timingSafeEqual", Napi::Function::New(env, TimingSafeEqual));
}
