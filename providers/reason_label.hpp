#pragma once
// The `reason` label of the provider metrics: a provider's reason text is
// whatever its answer carried, so only the reasons Herald knows (APNs
// reasons, FCM error codes, Herald's own) become label values; anything
// else is "other". Keeps the number of metric series bounded. Pure.
#include <string_view>

namespace herald {

std::string_view reason_label(std::string_view reason);

}  // namespace herald
