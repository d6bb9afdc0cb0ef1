#include "daemon/wiring.hpp"

#include <cstdio>
#include <string>
#include <vector>

#include "runtime/log.hpp"
#include "runtime/metrics.hpp"

namespace herald {

provider_options provider_options_for(const config& cfg, logger& log, metrics_registry* metrics) {
  provider_options options;
  options.log = &log;
  options.threads = cfg.providers.threads;
  if (metrics) {
    std::vector<std::string> app_ids;
    for (const auto& app : cfg.apps) app_ids.push_back(app.id);
    options.metrics = make_metrics_listener(*metrics, app_ids);
  }
  return options;
}

broker_options broker_options_for(const config& cfg) {
  broker_options options;
  options.settings = cfg.broker;
  return options;
}

std::optional<localizer> load_localizer(const config& cfg) {
  try {
    return localizer::load(cfg.locales.directory, cfg.timezones.table_file, cfg.locales.default_language, cfg.timezones.default_zone);
  } catch (const l10n_error& e) {
    std::fprintf(stderr, "herald: bad configuration: locales/timezones: %s\n", e.what());
    return std::nullopt;
  }
}

}  // namespace herald
