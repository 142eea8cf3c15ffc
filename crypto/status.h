// Status and Result<T>: how Parley reports an operation that can fail.
//
// A Status is a code plus a human-readable message that says what was wrong
// ("entry 7 of UA: prev does not match the ID of entry 6"). Result<T> holds
// either a value or a non-OK Status; its member names follow std::expected so
// that C++23 can replace it.
//
// Answers are not errors: a verification that simply fails returns bool, and
// parsing untrusted bytes that may be absent returns std::optional.
//
// Thread safety: immutable values; safe to share once built.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <variant>

namespace parley {

enum class Code {
  kOk = 0,
  kInvalidArgument,    // the caller's input is malformed or out of range
  kNotFound,           // no such entry / key / file
  kAlreadyExists,      // e.g. a second node on the same data folder
  kFailedPrecondition, // refused in the current state (e.g. rollback detected)
  kPermissionDenied,   // wrong passphrase, unauthorised caller
  kDataLoss,           // stored or transmitted bytes are corrupt or tampered
  kRejected,           // an entry broke a structural rule of the protocol
  kIoError,            // the operating system or storage failed
  kUnavailable,        // a peer or the local node cannot be reached
  kResourceExhausted,  // out of a resource, e.g. no space left on the disk
  kInternal,
};

const char* CodeName(Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

  // "rejected: entry 7 of UA: prev does not match ..." or "OK".
  std::string ToString() const {
    if (ok()) return "OK";
    return std::string(CodeName(code_)) + ": " + message_;
  }

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

inline const char* CodeName(Code code) {
  switch (code) {
    case Code::kOk: return "ok";
    case Code::kInvalidArgument: return "invalid argument";
    case Code::kNotFound: return "not found";
    case Code::kAlreadyExists: return "already exists";
    case Code::kFailedPrecondition: return "failed precondition";
    case Code::kPermissionDenied: return "permission denied";
    case Code::kDataLoss: return "data loss";
    case Code::kRejected: return "rejected";
    case Code::kIoError: return "I/O error";
    case Code::kUnavailable: return "unavailable";
    case Code::kResourceExhausted: return "resource exhausted";
    case Code::kInternal: return "internal";
  }
  return "unknown";
}

// Stops the process with file and line when a ledger invariant is broken,
// in every build type: a ledger must not continue past one.
#define PARLEY_CHECK(cond)                                                   \
  do {                                                                       \
    if (!(cond)) {                                                           \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__,        \
                   __LINE__, #cond);                                         \
      std::abort();                                                          \
    }                                                                        \
  } while (0)

// A value of type T or the Status that explains why there is none.
// REQUIRES: a Result is never built from an OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}
  Result(Status status) : v_(std::move(status)) {
    PARLEY_CHECK(!std::get<Status>(v_).ok());
  }

  bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  // REQUIRES: has_value().
  T& value() & { PARLEY_CHECK(has_value()); return std::get<0>(v_); }
  const T& value() const& { PARLEY_CHECK(has_value()); return std::get<0>(v_); }
  // By value, so that `for (auto& x : F().value())` does not dangle.
  T value() && { PARLEY_CHECK(has_value()); return std::move(std::get<0>(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  // REQUIRES: !has_value().
  const Status& error() const { PARLEY_CHECK(!has_value()); return std::get<1>(v_); }

  // OK when a value is held, the error otherwise.
  Status status() const { return has_value() ? Status::Ok() : std::get<1>(v_); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace parley
