// cifs-upcall native addon: the system calls Node.js cannot make, and Kerberos crypto without
// loading node:crypto.
//
//   keyctl(2) / add_key(2) / request_key(2)  kernel key protocol and KEYRING ccaches
//   setns(2) / unshare(2)                    entering the namespaces of the triggering process
//   getpwuid_r, setgroups, setres[ug]id     identity (glibc wrappers: applied to every thread)
//   getgroups, capget/capset, prctl         capability trimming and checking the result
//   socket/connect/send on /dev/log          logging with cifs.upcall's ident and facility (one
//                                           connection per upcall; see the syslog section)
//   AES, HMAC, digests, PBKDF2, RAND_bytes  Kerberos crypto on the process's OpenSSL (crypto.cc)
//
// Every failure throws a JS Error carrying `errno`, `code` (e.g. "ENOKEY") and `syscall` (crypto.cc:
// `code` "ERR_OPENSSL" and `opensslCall`).
// Raw syscalls are used for keyctl so that no libkeyutils development package is needed.

#include <napi.h>

#include "args.h"

#include "crypto.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <sched.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <vector>

namespace {

// keyctl(2) operations (include/uapi/linux/keyctl.h).
constexpr int KEYCTL_GET_KEYRING_ID = 0;
constexpr int KEYCTL_CHOWN = 4;
constexpr int KEYCTL_SETPERM = 5;
constexpr int KEYCTL_DESCRIBE = 6;
constexpr int KEYCTL_CLEAR = 7;
constexpr int KEYCTL_LINK = 8;
constexpr int KEYCTL_UNLINK = 9;
constexpr int KEYCTL_SEARCH = 10;
constexpr int KEYCTL_READ = 11;
constexpr int KEYCTL_INSTANTIATE = 12;
constexpr int KEYCTL_NEGATE = 13;
constexpr int KEYCTL_SET_TIMEOUT = 15;
constexpr int KEYCTL_ASSUME_AUTHORITY = 16;
constexpr int KEYCTL_REJECT = 19;
constexpr int KEYCTL_INVALIDATE = 21;
constexpr int KEYCTL_GET_PERSISTENT = 22;

Napi::Error SysError(Napi::Env env, const char* call, int err) {
  const char* name = strerrorname_np(err);
  std::string msg = std::string(call) + ": " + strerror(err);
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("errno", Napi::Number::New(env, err));
  e.Set("code", Napi::String::New(env, name ? name : "EUNKNOWN"));
  e.Set("syscall", Napi::String::New(env, call));
  return e;
}

bool Int32Arg(const Napi::CallbackInfo& info, size_t i, int32_t* out) {
  if (!info[i].IsNumber()) {
    return ArgTypeError(info, i, "a number");
  }
  *out = info[i].As<Napi::Number>().Int32Value();
  return true;
}

bool Uint32Arg(const Napi::CallbackInfo& info, size_t i, uint32_t* out) {
  if (!info[i].IsNumber()) {
    return ArgTypeError(info, i, "a number");
  }
  double v = info[i].As<Napi::Number>().DoubleValue();
  if (v < 0 || v > 4294967295.0 || v != static_cast<double>(static_cast<uint32_t>(v))) {
    Napi::RangeError::New(info.Env(), "argument " + std::to_string(i) + " must be a u32")
        .ThrowAsJavaScriptException();
    return false;
  }
  *out = static_cast<uint32_t>(v);
  return true;
}

bool StringArg(const Napi::CallbackInfo& info, size_t i, std::string* out) {
  if (!info[i].IsString()) {
    return ArgTypeError(info, i, "a string");
  }
  *out = info[i].As<Napi::String>().Utf8Value();
  return true;
}

long Keyctl(int op, unsigned long a2 = 0, unsigned long a3 = 0, unsigned long a4 = 0,
            unsigned long a5 = 0) {
  return syscall(SYS_keyctl, op, a2, a3, a4, a5);
}

// ---- keyctl -------------------------------------------------------------------------------

Napi::Value KeyDescribe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t key;
  if (!ArgCount(info, 1) || !Int32Arg(info, 0, &key)) return env.Undefined();
  std::vector<char> buf(256);
  for (;;) {
    long n = Keyctl(KEYCTL_DESCRIBE, key, reinterpret_cast<unsigned long>(buf.data()), buf.size());
    if (n < 0) {
      SysError(env, "keyctl_describe", errno).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (static_cast<size_t>(n) <= buf.size()) {
      // n includes the terminating NUL.
      return Napi::String::New(env, buf.data(), n > 0 ? n - 1 : 0);
    }
    buf.resize(n);
  }
}

Napi::Value KeyRead(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t key;
  if (!ArgCount(info, 1) || !Int32Arg(info, 0, &key)) return env.Undefined();
  std::vector<char> buf(512);
  for (;;) {
    long n = Keyctl(KEYCTL_READ, key, reinterpret_cast<unsigned long>(buf.data()), buf.size());
    if (n < 0) {
      SysError(env, "keyctl_read", errno).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (static_cast<size_t>(n) <= buf.size()) {
      return Napi::Buffer<char>::Copy(env, buf.data(), n);
    }
    buf.resize(n);
  }
}

Napi::Value KeyInstantiate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t key, ring;
  if (!ArgCount(info, 3) || !Int32Arg(info, 0, &key) || !Int32Arg(info, 2, &ring)) {
    return env.Undefined();
  }
  if (!info[1].IsBuffer()) {
    Napi::TypeError::New(env, "payload must be a Buffer").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto payload = info[1].As<Napi::Buffer<uint8_t>>();
  if (Keyctl(KEYCTL_INSTANTIATE, key, reinterpret_cast<unsigned long>(payload.Data()),
             payload.Length(), ring) < 0) {
    SysError(env, "keyctl_instantiate", errno).ThrowAsJavaScriptException();
  }
  return env.Undefined();
}

Napi::Value KeyNegate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t key, ring;
  uint32_t timeout;
  if (!ArgCount(info, 3) || !Int32Arg(info, 0, &key) || !Uint32Arg(info, 1, &timeout) ||
      !Int32Arg(info, 2, &ring)) {
    return env.Undefined();
  }
  if (Keyctl(KEYCTL_NEGATE, key, timeout, ring) < 0) {
    SysError(env, "keyctl_negate", errno).ThrowAsJavaScriptException();
  }
  return env.Undefined();
}

Napi::Value KeyReject(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t key, ring;
  uint32_t timeout, error;
  if (!ArgCount(info, 4) || !Int32Arg(info, 0, &key) || !Uint32Arg(info, 1, &timeout) ||
      !Uint32Arg(info, 2, &error) || !Int32Arg(info, 3, &ring)) {
    return env.Undefined();
  }
  if (Keyctl(KEYCTL_REJECT, key, timeout, error, ring) < 0) {
    SysError(env, "keyctl_reject", errno).ThrowAsJavaScriptException();
  }
  return env.Undefined();
}

Napi::Value KeySetTimeout(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t key;
  uint32_t timeout;
  if (!ArgCount(info, 2) || !Int32Arg(info, 0, &key) || !Uint32Arg(info, 1, &timeout)) {
    return env.Undefined();
  }
  if (Keyctl(KEYCTL_SET_TIMEOUT, key, timeout) < 0) {
    SysError(env, "keyctl_set_timeout", errno).ThrowAsJavaScriptException();
  }
  return env.Undefined();
}

Napi::Value KeyGetKeyringId(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t id;
  if (!ArgCount(info, 2) || !Int32Arg(info, 0, &id)) return env.Undefined();
  bool create = info[1].ToBoolean().Value();
  long r = Keyctl(KEYCTL_GET_KEYRING_ID, id, create ? 1 : 0);
  if (r < 0) {
    SysError(env, "keyctl_get_keyring_ID", errno).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return Napi::Number::New(env, static_cast<double>(r));
}

Napi::Value KeyGetPersistent(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t uid, dest;
  if (!ArgCount(info, 2) || !Int32Arg(info, 0, &uid) || !Int32Arg(info, 1, &dest)) {
    return env.Undefined();
  }
  long r = Keyctl(KEYCTL_GET_PERSISTENT, static_cast<unsigned long>(uid), dest);
  if (r < 0) {
    SysError(env, "keyctl_get_persistent", errno).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return Napi::Number::New(env, static_cast<double>(r));
}

Napi::Value KeySearch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t ring, dest;
  std::string type, desc;
  if (!ArgCount(info, 4) || !Int32Arg(info, 0, &ring) || !StringArg(info, 1, &type) ||
      !StringArg(info, 2, &desc) || !Int32Arg(info, 3, &dest)) {
    return env.Undefined();
  }
  long r = Keyctl(KEYCTL_SEARCH, ring, reinterpret_cast<unsigned long>(type.c_str()),
                  reinterpret_cast<unsigned long>(desc.c_str()), dest);
  if (r < 0) {
    SysError(env, "keyctl_search", errno).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return Napi::Number::New(env, static_cast<double>(r));
}

Napi::Value KeyLinkOp(const Napi::CallbackInfo& info, int op, const char* name) {
  Napi::Env env = info.Env();
  int32_t key, ring;
  if (!ArgCount(info, 2) || !Int32Arg(info, 0, &key) || !Int32Arg(info, 1, &ring)) {
    return env.Undefined();
  }
  if (Keyctl(op, key, ring) < 0) {
    SysError(env, name, errno).ThrowAsJavaScriptException();
  }
  return env.Undefined();
}

Napi::Value KeyLink(const Napi::CallbackInfo& info) {
  return KeyLinkOp(info, KEYCTL_LINK, "keyctl_link");
}

Napi::Value KeyUnlink(const Napi::CallbackInfo& info) {
  return KeyLinkOp(info, KEYCTL_UNLINK, "keyctl_unlink");
}

Napi::Value KeySimpleOp(const Napi::CallbackInfo& info, int op, const char* name) {
  Napi::Env env = info.Env();
  int32_t key;
  if (!ArgCount(info, 1) || !Int32Arg(info, 0, &key)) return env.Undefined();
  if (Keyctl(op, key) < 0) {
    SysError(env, name, errno).ThrowAsJavaScriptException();
  }
  return env.Undefined();
}

Napi::Value KeyClear(const Napi::CallbackInfo& info) {
  return KeySimpleOp(info, KEYCTL_CLEAR, "keyctl_clear");
}

Napi::Value KeyInvalidate(const Napi::CallbackInfo& info) {
  return KeySimpleOp(info, KEYCTL_INVALIDATE, "keyctl_invalidate");
}

Napi::Value KeyAssumeAuthority(const Napi::CallbackInfo& info) {
  return KeySimpleOp(info, KEYCTL_ASSUME_AUTHORITY, "keyctl_assume_authority");
}

Napi::Value KeySetPerm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t key;
  uint32_t perm;
  if (!ArgCount(info, 2) || !Int32Arg(info, 0, &key) || !Uint32Arg(info, 1, &perm)) {
    return env.Undefined();
  }
  if (Keyctl(KEYCTL_SETPERM, key, perm) < 0) {
    SysError(env, "keyctl_setperm", errno).ThrowAsJavaScriptException();
  }
  return env.Undefined();
}

Napi::Value KeyChown(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t key, uid, gid;
  if (!ArgCount(info, 3) || !Int32Arg(info, 0, &key) || !Int32Arg(info, 1, &uid) ||
      !Int32Arg(info, 2, &gid)) {
    return env.Undefined();
  }
  if (Keyctl(KEYCTL_CHOWN, key, static_cast<unsigned long>(uid), static_cast<unsigned long>(gid)) <
      0) {
    SysError(env, "keyctl_chown", errno).ThrowAsJavaScriptException();
  }
  return env.Undefined();
}

Napi::Value AddKey(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string type, desc;
  int32_t ring;
  if (!ArgCount(info, 4) || !StringArg(info, 0, &type) || !StringArg(info, 1, &desc) ||
      !Int32Arg(info, 3, &ring)) {
    return env.Undefined();
  }
  const void* data = nullptr;
  size_t len = 0;
  if (info[2].IsBuffer()) {
    auto b = info[2].As<Napi::Buffer<uint8_t>>();
    data = b.Data();
    len = b.Length();
  } else if (!info[2].IsNull() && !info[2].IsUndefined()) {
    Napi::TypeError::New(env, "payload must be a Buffer or null").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  long r = syscall(SYS_add_key, type.c_str(), desc.c_str(), data, len, ring);
  if (r < 0) {
    SysError(env, "add_key", errno).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return Napi::Number::New(env, static_cast<double>(r));
}

Napi::Value RequestKey(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string type, desc, callout;
  int32_t dest;
  if (!ArgCount(info, 4) || !StringArg(info, 0, &type) || !StringArg(info, 1, &desc) ||
      !Int32Arg(info, 3, &dest)) {
    return env.Undefined();
  }
  const char* calloutp = nullptr;
  if (info[2].IsString()) {
    callout = info[2].As<Napi::String>().Utf8Value();
    calloutp = callout.c_str();
  }
  long r = syscall(SYS_request_key, type.c_str(), desc.c_str(), calloutp, dest);
  if (r < 0) {
    SysError(env, "request_key", errno).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return Napi::Number::New(env, static_cast<double>(r));
}

// ---- namespaces ---------------------------------------------------------------------------

Napi::Value Setns(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t fd, nstype;
  if (!ArgCount(info, 2) || !Int32Arg(info, 0, &fd) || !Int32Arg(info, 1, &nstype)) {
    return env.Undefined();
  }
  if (setns(fd, nstype) < 0) {
    SysError(env, "setns", errno).ThrowAsJavaScriptException();
  }
  return env.Undefined();
}

Napi::Value Unshare(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t flags;
  if (!ArgCount(info, 1) || !Int32Arg(info, 0, &flags)) return env.Undefined();
  if (unshare(flags) < 0) {
    SysError(env, "unshare", errno).ThrowAsJavaScriptException();
  }
  return env.Undefined();
}

// _exit(2) for the end of an upcall: everything it writes is written synchronously (key,
// payload, syslog, trace), so nothing is left for Node's exit to flush; skipping V8's and the
// platform's teardown saves ~2 ms of CPU per upcall (docs/performance.md).
Napi::Value ExitNow(const Napi::CallbackInfo& info) {
  int32_t status;
  if (!ArgCount(info, 1) || !Int32Arg(info, 0, &status)) return info.Env().Undefined();
  _exit(status & 0xff);
}

Napi::Value Gettid(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(gettid()));
}

// ---- identity and privileges --------------------------------------------------------------

Napi::Value Getpwuid(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t uid;
  if (!ArgCount(info, 1) || !Uint32Arg(info, 0, &uid)) return env.Undefined();
  long size = sysconf(_SC_GETPW_R_SIZE_MAX);
  std::vector<char> buf(size > 0 ? size : 16384);
  struct passwd pw;
  struct passwd* result = nullptr;
  for (;;) {
    int rc = getpwuid_r(uid, &pw, buf.data(), buf.size(), &result);
    if (rc == ERANGE && buf.size() < (1u << 20)) {
      buf.resize(buf.size() * 2);
      continue;
    }
    if (rc != 0) {
      SysError(env, "getpwuid_r", rc).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    break;
  }
  if (result == nullptr) return env.Null();
  Napi::Object o = Napi::Object::New(env);
  o.Set("name", Napi::String::New(env, pw.pw_name ? pw.pw_name : ""));
  o.Set("uid", Napi::Number::New(env, pw.pw_uid));
  o.Set("gid", Napi::Number::New(env, pw.pw_gid));
  o.Set("dir", Napi::String::New(env, pw.pw_dir ? pw.pw_dir : ""));
  o.Set("shell", Napi::String::New(env, pw.pw_shell ? pw.pw_shell : ""));
  return o;
}

Napi::Value Setgroups(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!ArgCount(info, 1) || !info[0].IsArray()) {
    Napi::TypeError::New(env, "expected an array of gids").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Array arr = info[0].As<Napi::Array>();
  std::vector<gid_t> gids;
  for (uint32_t i = 0; i < arr.Length(); i++) {
    gids.push_back(static_cast<gid_t>(arr.Get(i).As<Napi::Number>().Uint32Value()));
  }
  // glibc's setgroups applies the change to every thread of the process.
  if (setgroups(gids.size(), gids.empty() ? nullptr : gids.data()) < 0) {
    SysError(env, "setgroups", errno).ThrowAsJavaScriptException();
  }
  return env.Undefined();
}

Napi::Value Setresgid(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t r, e, s;
  if (!ArgCount(info, 3) || !Uint32Arg(info, 0, &r) || !Uint32Arg(info, 1, &e) ||
      !Uint32Arg(info, 2, &s)) {
    return env.Undefined();
  }
  if (setresgid(r, e, s) < 0) {
    SysError(env, "setresgid", errno).ThrowAsJavaScriptException();
  }
  return env.Undefined();
}

Napi::Value Setresuid(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t r, e, s;
  if (!ArgCount(info, 3) || !Uint32Arg(info, 0, &r) || !Uint32Arg(info, 1, &e) ||
      !Uint32Arg(info, 2, &s)) {
    return env.Undefined();
  }
  if (setresuid(r, e, s) < 0) {
    SysError(env, "setresuid", errno).ThrowAsJavaScriptException();
  }
  return env.Undefined();
}

Napi::Value Getresids(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uid_t ru, eu, su;
  gid_t rg, eg, sg;
  getresuid(&ru, &eu, &su);
  getresgid(&rg, &eg, &sg);
  Napi::Object o = Napi::Object::New(env);
  o.Set("ruid", Napi::Number::New(env, ru));
  o.Set("euid", Napi::Number::New(env, eu));
  o.Set("suid", Napi::Number::New(env, su));
  o.Set("rgid", Napi::Number::New(env, rg));
  o.Set("egid", Napi::Number::New(env, eg));
  o.Set("sgid", Napi::Number::New(env, sg));
  return o;
}

Napi::Value Capget(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2];
  memset(data, 0, sizeof(data));
  if (syscall(SYS_capget, &hdr, data) < 0) {
    SysError(env, "capget", errno).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto join = [](uint32_t lo, uint32_t hi) {
    return (static_cast<uint64_t>(hi) << 32) | lo;
  };
  Napi::Object o = Napi::Object::New(env);
  o.Set("effective", Napi::BigInt::New(env, join(data[0].effective, data[1].effective)));
  o.Set("permitted", Napi::BigInt::New(env, join(data[0].permitted, data[1].permitted)));
  o.Set("inheritable", Napi::BigInt::New(env, join(data[0].inheritable, data[1].inheritable)));
  return o;
}

bool BigIntArg(const Napi::CallbackInfo& info, size_t i, uint64_t* out) {
  if (!info[i].IsBigInt()) {
    return ArgTypeError(info, i, "a bigint");
  }
  bool lossless = false;
  *out = info[i].As<Napi::BigInt>().Uint64Value(&lossless);
  return true;
}

// capset(2) acts on the calling thread only; the caller uses it on the main thread, after
// setresuid has already cleared permitted/effective sets of every thread.
Napi::Value Capset(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint64_t eff, prm, inh;
  if (!ArgCount(info, 3) || !BigIntArg(info, 0, &eff) || !BigIntArg(info, 1, &prm) ||
      !BigIntArg(info, 2, &inh)) {
    return env.Undefined();
  }
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2];
  data[0].effective = static_cast<uint32_t>(eff);
  data[1].effective = static_cast<uint32_t>(eff >> 32);
  data[0].permitted = static_cast<uint32_t>(prm);
  data[1].permitted = static_cast<uint32_t>(prm >> 32);
  data[0].inheritable = static_cast<uint32_t>(inh);
  data[1].inheritable = static_cast<uint32_t>(inh >> 32);
  if (syscall(SYS_capset, &hdr, data) < 0) {
    SysError(env, "capset", errno).ThrowAsJavaScriptException();
  }
  return env.Undefined();
}

Napi::Value Getgroups(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int n = getgroups(0, nullptr);
  if (n < 0) {
    SysError(env, "getgroups", errno).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::vector<gid_t> gids(n > 0 ? n : 1);
  n = getgroups(gids.size(), gids.data());
  if (n < 0) {
    SysError(env, "getgroups", errno).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Array arr = Napi::Array::New(env, n);
  for (int i = 0; i < n; i++) arr.Set(i, Napi::Number::New(env, gids[i]));
  return arr;
}

// PR_CAPBSET_READ for one capability of the calling thread: true/false; throws EINVAL for a
// capability this kernel does not know (that is how callers find the last one).
Napi::Value CapBoundingRead(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t cap;
  if (!ArgCount(info, 1) || !Int32Arg(info, 0, &cap)) return env.Undefined();
  int r = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
  if (r < 0) {
    SysError(env, "prctl(PR_CAPBSET_READ)", errno).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return Napi::Boolean::New(env, r == 1);
}

Napi::Value GetNoNewPrivs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int r = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
  if (r < 0) {
    SysError(env, "prctl(PR_GET_NO_NEW_PRIVS)", errno).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return Napi::Boolean::New(env, r == 1);
}

Napi::Value CapBoundingDrop(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t cap;
  if (!ArgCount(info, 1) || !Int32Arg(info, 0, &cap)) return env.Undefined();
  if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
    SysError(env, "prctl(PR_CAPBSET_DROP)", errno).ThrowAsJavaScriptException();
  }
  return env.Undefined();
}

Napi::Value SetNoNewPrivs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
    SysError(env, "prctl(PR_SET_NO_NEW_PRIVS)", errno).ThrowAsJavaScriptException();
  }
  return env.Undefined();
}

Napi::Value ClearAmbient(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0) {
    SysError(env, "prctl(PR_CAP_AMBIENT_CLEAR_ALL)", errno).ThrowAsJavaScriptException();
  }
  return env.Undefined();
}

// ---- syslog -------------------------------------------------------------------------------
// A /dev/log client of our own instead of glibc's syslog(3), sending the same bytes (RFC 3164
// as glibc writes it: "<PRI>Mmm dd hh:mm:ss IDENT: MESSAGE", a trailing NUL on a stream socket).
// The difference is the connection: ONE per process, made by openlog() in the host's mount
// namespace and never made again. glibc connects again by path for every message while it is
// not connected — on a host without /dev/log, one connect(2) per message — and a connect made
// after setns(2) would reach the socket the caller's mount namespace puts at /dev/log. When
// there is no connection, or a send fails (the daemon went away), the message is dropped, as
// glibc drops it without LOG_CONS.

int g_log_fd = -1;
bool g_log_stream = false;
std::string g_log_ident;
int g_log_facility = LOG_USER;

void LogDisconnect() {
  if (g_log_fd >= 0) close(g_log_fd);
  g_log_fd = -1;
}

void LogConnect() {
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  strncpy(addr.sun_path, "/dev/log", sizeof addr.sun_path - 1);
  // a datagram socket first (journald, rsyslog); a stream socket when the daemon made one
  for (int type : {SOCK_DGRAM, SOCK_STREAM}) {
    int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
    if (fd < 0) return;
    if (connect(fd, reinterpret_cast<struct sockaddr*>(&addr), sizeof addr) == 0) {
      g_log_fd = fd;
      g_log_stream = type == SOCK_STREAM;
      return;
    }
    int err = errno;
    close(fd);
    if (err != EPROTOTYPE) return;
  }
}

// "Mmm dd hh:mm:ss" in local time, C locale, day padded with a blank (strftime's "%h %e %T").
std::string LogTimestamp() {
  static const char* const kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  time_t now = time(nullptr);
  struct tm tm;
  if (localtime_r(&now, &tm) == nullptr) return "Jan  1 00:00:00";
  char buf[32];
  snprintf(buf, sizeof buf, "%s %2d %02d:%02d:%02d", kMonths[tm.tm_mon % 12], tm.tm_mday, tm.tm_hour,
           tm.tm_min, tm.tm_sec);
  return buf;
}

// openlog(ident, option, facility): option is accepted for the old signature; the connection
// is always made now (what LOG_NDELAY asked of glibc).
Napi::Value Openlog(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string ident;
  int32_t option, facility;
  if (!ArgCount(info, 3) || !StringArg(info, 0, &ident) || !Int32Arg(info, 1, &option) ||
      !Int32Arg(info, 2, &facility)) {
    return env.Undefined();
  }
  LogDisconnect();
  g_log_ident = ident;
  g_log_facility = facility & LOG_FACMASK;
  // the local time zone is read now, in the host's mount namespace, for every later timestamp
  tzset();
  LogConnect();
  return env.Undefined();
}

Napi::Value Syslog(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t priority;
  std::string message;
  if (!ArgCount(info, 2) || !Int32Arg(info, 0, &priority) || !StringArg(info, 1, &message)) {
    return env.Undefined();
  }
  if (g_log_fd < 0) return env.Undefined();
  if ((priority & LOG_FACMASK) == 0) priority |= g_log_facility;
  std::string line = "<" + std::to_string(priority & (LOG_FACMASK | LOG_PRIMASK)) + ">" + LogTimestamp() + " " +
                     g_log_ident + ": " + message;
  size_t length = line.size() + (g_log_stream ? 1 : 0);  // c_str() supplies the NUL
  for (size_t sent = 0; sent < length;) {
    ssize_t n = send(g_log_fd, line.c_str() + sent, length - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      LogDisconnect();  // never connect again: see above
      break;
    }
    sent += static_cast<size_t>(n);
  }
  return env.Undefined();
}

Napi::Value Closelog(const Napi::CallbackInfo& info) {
  LogDisconnect();
  return info.Env().Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("keyDescribe", Napi::Function::New(env, KeyDescribe));
  exports.Set("keyRead", Napi::Function::New(env, KeyRead));
  exports.Set("keyInstantiate", Napi::Function::New(env, KeyInstantiate));
  exports.Set("keyNegate", Napi::Function::New(env, KeyNegate));
  exports.Set("keyReject", Napi::Function::New(env, KeyReject));
  exports.Set("keySetTimeout", Napi::Function::New(env, KeySetTimeout));
  exports.Set("keyGetKeyringId", Napi::Function::New(env, KeyGetKeyringId));
  exports.Set("keyGetPersistent", Napi::Function::New(env, KeyGetPersistent));
  exports.Set("keySearch", Napi::Function::New(env, KeySearch));
  exports.Set("keyLink", Napi::Function::New(env, KeyLink));
  exports.Set("keyUnlink", Napi::Function::New(env, KeyUnlink));
  exports.Set("keyClear", Napi::Function::New(env, KeyClear));
  exports.Set("keyInvalidate", Napi::Function::New(env, KeyInvalidate));
  exports.Set("keyAssumeAuthority", Napi::Function::New(env, KeyAssumeAuthority));
  exports.Set("keySetPerm", Napi::Function::New(env, KeySetPerm));
  exports.Set("keyChown", Napi::Function::New(env, KeyChown));
  exports.Set("addKey", Napi::Function::New(env, AddKey));
  exports.Set("requestKey", Napi::Function::New(env, RequestKey));
  exports.Set("setns", Napi::Function::New(env, Setns));
  exports.Set("unshare", Napi::Function::New(env, Unshare));
  exports.Set("gettid", Napi::Function::New(env, Gettid));
  exports.Set("exitNow", Napi::Function::New(env, ExitNow));
  exports.Set("getpwuid", Napi::Function::New(env, Getpwuid));
  exports.Set("setgroups", Napi::Function::New(env, Setgroups));
  exports.Set("setresgid", Napi::Function::New(env, Setresgid));
  exports.Set("setresuid", Napi::Function::New(env, Setresuid));
  exports.Set("getresids", Napi::Function::New(env, Getresids));
  exports.Set("capget", Napi::Function::New(env, Capget));
  exports.Set("capset", Napi::Function::New(env, Capset));
  exports.Set("capBoundingDrop", Napi::Function::New(env, CapBoundingDrop));
  exports.Set("capBoundingRead", Napi::Function::New(env, CapBoundingRead));
  exports.Set("getgroups", Napi::Function::New(env, Getgroups));
  exports.Set("getNoNewPrivs", Napi::Function::New(env, GetNoNewPrivs));
  exports.Set("setNoNewPrivs", Napi::Function::New(env, SetNoNewPrivs));
  exports.Set("clearAmbient", Napi::Function::New(env, ClearAmbient));
  exports.Set("openlog", Napi::Function::New(env, Openlog));
  exports.Set("syslog", Napi::Function::New(env, Syslog));
  exports.Set("closelog", Napi::Function::New(env, Closelog));
  InitCrypto(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(cifs_upcall_native, Init)
