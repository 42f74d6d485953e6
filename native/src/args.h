// Argument checks shared by the addon's source files (addon.cc, crypto.cc): each throws a pending
// JS exception and returns false when an argument is not what the call needs.
#ifndef CIFS_UPCALL_ARGS_H_
#define CIFS_UPCALL_ARGS_H_

#include <napi.h>

#include <string>

inline bool ArgCount(const Napi::CallbackInfo& info, size_t n) {
  if (info.Length() < n) {
    Napi::TypeError::New(info.Env(), "expected " + std::to_string(n) + " arguments").ThrowAsJavaScriptException();
    return false;
  }
  return true;
}

// "argument I must be WHAT" as a TypeError; always false, for `return ArgTypeError(…)`.
inline bool ArgTypeError(const Napi::CallbackInfo& info, size_t i, const char* what) {
  Napi::TypeError::New(info.Env(), "argument " + std::to_string(i) + " must be " + what).ThrowAsJavaScriptException();
  return false;
}

#endif  // CIFS_UPCALL_ARGS_H_
