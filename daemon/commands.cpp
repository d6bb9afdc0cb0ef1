#include "daemon/commands.hpp"

#include <cstdio>
#include <cstring>
#include <iostream>

#include "config/config.hpp"
#include "l10n/localizer.hpp"

#ifndef HERALD_VERSION
#define HERALD_VERSION "0.0.0"
#endif

namespace herald {

namespace {

constexpr const char* usage_text =
    "usage: herald <command> [options]\n"
    "\n"
    "commands:\n"
    "  serve --config FILE          run the daemon\n"
    "  check-config --config FILE   validate and print the effective configuration (secrets masked)\n"
    "  send --config FILE (--associate ID | --device ID) --title T --body B [--data k=v ...]\n"
    "                               send one notification through the configured providers\n"
    "  broker run-once --config FILE\n"
    "                               one pass of the appointment-alarm broker\n"
    "  webpush keygen --out FILE    write a new VAPID private key (mode 0600), print its public key\n"
    "  version                      print the version\n";

// Finds `--config FILE` (or --config=FILE); default config/herald.yaml.
std::string config_option(const std::vector<std::string>& args, std::size_t from) {
  for (std::size_t i = from; i < args.size(); ++i) {
    if (args[i] == "--config" && i + 1 < args.size()) return args[i + 1];
    if (args[i].rfind("--config=", 0) == 0) return args[i].substr(9);
  }
  return "config/herald.yaml";
}

}  // namespace

int command_version() {
  std::printf("herald %s\n", HERALD_VERSION);
  return exit_ok;
}

int command_check_config(const std::string& config_path) {
  try {
    auto cfg = load_config_file(config_path);
    // The catalogs and the time-zone table are part of the configuration:
    // checked as `serve` loads them (every pattern, every zone).
    auto l10n = localizer::load(cfg.locales.directory, cfg.timezones.table_file, cfg.locales.default_language, cfg.timezones.default_zone);
    std::fputs(describe_effective(cfg).c_str(), stdout);
    std::string languages;
    for (const auto& l : l10n.languages()) languages += (languages.empty() ? "" : ", ") + l;
    std::fprintf(stderr, "configuration OK: %s (catalogs: %s)\n", config_path.c_str(), languages.c_str());
    return exit_ok;
  } catch (const config_error& e) {
    std::fprintf(stderr, "herald: bad configuration: %s\n", e.what());
    return exit_bad_config;
  } catch (const l10n_error& e) {
    std::fprintf(stderr, "herald: bad configuration: locales/timezones: %s\n", e.what());
    return exit_bad_config;
  }
}

int run_command(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "help" || args[0] == "--help" || args[0] == "-h") {
    std::fputs(usage_text, args.empty() ? stderr : stdout);
    return args.empty() ? exit_bad_config : exit_ok;
  }
  const auto& cmd = args[0];
  if (cmd == "version" || cmd == "--version") return command_version();
  if (cmd == "serve") return command_serve(config_option(args, 1));
  if (cmd == "check-config") return command_check_config(config_option(args, 1));
  if (cmd == "send") return command_send(args);
  if (cmd == "broker") return command_broker(args);
  if (cmd == "webpush") return command_webpush(args);
  std::fprintf(stderr, "herald: unknown command '%s'\n\n%s", cmd.c_str(), usage_text);
  return exit_bad_config;
}

}  // namespace herald
