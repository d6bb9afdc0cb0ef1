#pragma once
// Case-insensitive property lookup: WebAPI model binding ignores the case of
// property names, so every JSON request decoder looks them up this way.
#include <boost/json/object.hpp>

#include <string_view>

#include "model/text.hpp"

namespace herald {

inline const boost::json::value* find_ci(const boost::json::object& obj, std::string_view name) {
  for (const auto& kv : obj)
    if (iequals(kv.key(), name)) return &kv.value();
  return nullptr;
}

}  // namespace herald
