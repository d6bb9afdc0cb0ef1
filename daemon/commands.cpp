#include "daemon/commands.hpp"

#include <cstdio>
#include <cstring>
#include <iostream>

#include "config/config.hpp"
#include "daemon/build_info.hpp"
#include "l10n/localizer.hpp"


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
    "  redis ack-reset --config FILE\n"
    "                               acknowledge a detected Redis dataset reset (clears /readyz's \"dataset reset\")\n"
    "  redis status --config FILE   the dataset epoch and whether a reset is pending\n"
    "  trace --config FILE (--device ID | --appointment ID | --message ID)\n"
    "                               every delivery attempt for it, newest first (why a phone got nothing)\n"
    "  deadletter list --config FILE [--since 1h] [--reason TEXT] [--app APP] [--limit N]\n"
    "  deadletter show --config FILE ID | deadletter purge --config FILE --before 7d|ID\n"
    "  deadletter replay --config FILE (ID | --all-matching [--since 1h] [--reason TEXT] [--app APP])\n"
    "                               read, replay (once) or trim the dead-letter stream (undeliverable notifications)\n"
    "  token new --name N --scopes a,b [--associate ID]\n"
    "                               a random API token (stderr, shown once) and its tokens.yaml entry (stdout)\n"
    "  webpush keygen --out FILE    write a new VAPID private key (mode 0600), print its public key\n"
    "  version                      print the version and the git commit\n";

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
  std::printf("herald %.*s (commit %.*s)\n", static_cast<int>(build_version().size()), build_version().data(),
              static_cast<int>(build_commit().size()), build_commit().data());
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
    std::fprintf(stderr, "configuration OK: %s (catalogs: %s%s; time-zone table: %s)\n", config_path.c_str(), languages.c_str(),
                 cfg.locales.directory.empty() ? ", built in" : "",
                 cfg.timezones.table_file.empty() ? "built in" : cfg.timezones.table_file.c_str());
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
  if (cmd == "token") return command_token(args);
  if (cmd == "deadletter") return command_deadletter(args);
  if (cmd == "redis") return command_redis(args);
  if (cmd == "webpush") return command_webpush(args);
  if (cmd == "trace") return command_trace(args);
  std::fprintf(stderr, "herald: unknown command '%s'\n\n%s", cmd.c_str(), usage_text);
  return exit_bad_config;
}

}  // namespace herald
