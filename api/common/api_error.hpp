#pragma once
// A request that cannot be served: HTTP status plus the WebAPI error body
// fields ({"Error":true,"ErrorType":...,"ErrorMessage":...,"ErrorSource":"Herald"}).
#include <string>
#include <variant>

namespace herald {

struct api_error {
  int status = 400;
  std::string type;     // e.g. "ValidationException", "SoNotFoundException"
  std::string message;  // for the caller: names the field and the problem
};

// Value or api_error, for the pure request decoders.
template <typename T>
using decoded = std::variant<T, api_error>;

// The outcome of an operation without a result.
using done = std::monostate;

}  // namespace herald
