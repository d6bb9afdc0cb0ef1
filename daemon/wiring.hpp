#pragma once
// The pieces every command that sends builds the same way from the
// configuration: `serve`, `send` and `broker run-once` use these, so a new
// setting is wired in one place.
#include <optional>

#include "broker/alarm_broker.hpp"
#include "config/config.hpp"
#include "l10n/localizer.hpp"
#include "providers/provider.hpp"

namespace herald {

class logger;
class metrics_registry;

// Provider tunables: the log, providers.threads, and with `metrics` the herald_push_*
// instruments of every configured app (created here, once).
provider_options provider_options_for(const config& cfg, logger& log, metrics_registry* metrics);

// The broker's settings from broker.*.
broker_options broker_options_for(const config& cfg);

// The catalogs and time-zone table of locales.* / timezones.*; prints
// "herald: bad configuration: locales/timezones: ..." and returns nullopt
// (exit 2) when they do not load.
std::optional<localizer> load_localizer(const config& cfg);

}  // namespace herald
