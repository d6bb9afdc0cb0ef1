// `herald token new`: a fresh random bearer token and the tokens.yaml entry
// that accepts it. The entry (stdout) holds only the token's SHA-256; the
// token itself is printed once, on stderr, and never stored by Herald.
#include <openssl/rand.h>

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "daemon/commands.hpp"
#include "providers/jwt.hpp"

namespace herald {

namespace {

constexpr const char* token_usage =
    "usage: herald token new --name NAME --scopes SCOPE[,SCOPE...] [--associate ID]\n"
    "  prints the tokens.yaml entry on stdout (append it: >> tokens.yaml) and the token, once, on stderr\n";

struct token_options {
  std::string name;
  std::vector<std::string> scopes;
  std::string associate;
};

std::vector<std::string> split_scopes(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto comma = text.find(',', start);
    std::string part = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    const auto first = part.find_first_not_of(' ');
    const auto last = part.find_last_not_of(' ');
    part = first == std::string::npos ? std::string() : part.substr(first, last - first + 1);
    if (!part.empty()) out.push_back(part);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

std::optional<std::string> parse_token_args(const std::vector<std::string>& args, token_options& out) {
  // args[0] is "token", args[1] "new".
  for (std::size_t i = 2; i < args.size(); ++i) {
    const auto& a = args[i];
    if (a != "--name" && a != "--scopes" && a != "--associate") return "unknown option " + a;
    if (i + 1 >= args.size()) return a + " needs a value";
    const auto& v = args[++i];
    if (a == "--name") out.name = v;
    else if (a == "--scopes") out.scopes = split_scopes(v);
    else out.associate = v;
  }
  if (out.name.empty()) return "--name is required";
  if (out.scopes.empty()) return "--scopes is required (comma-separated, e.g. devices.read,devices.write)";
  return std::nullopt;
}

// The YAML list entry for tokens.yaml (or, indented, auth.tokens).
std::string token_entry(const token_options& o, const std::string& sha256) {
  std::string scopes;
  for (const auto& s : o.scopes) scopes += (scopes.empty() ? "" : ", ") + s;
  std::string out = "- name: " + o.name + "\n  sha256: \"" + sha256 + "\"\n  scopes: [" + scopes + "]\n";
  if (!o.associate.empty()) out += "  associate_id: " + o.associate + "\n";
  return out;
}

// Indents a list entry so it sits under `auth: tokens:`.
std::string indented(const std::string& entry) {
  std::string out = "    ";
  for (char c : entry) {
    out += c;
    if (c == '\n') out += "    ";
  }
  return out;
}

}  // namespace

int command_token(const std::vector<std::string>& args) {
  if (args.size() < 2 || args[1] != "new") {
    std::fputs(token_usage, stderr);
    return exit_bad_config;
  }
  token_options opts;
  if (auto problem = parse_token_args(args, opts)) {
    std::fprintf(stderr, "herald token: %s\n%s", problem->c_str(), token_usage);
    return exit_bad_config;
  }
  // 256 bits from OpenSSL's CSPRNG, base64url (43 characters, no padding):
  // usable as is in `Authorization: Bearer`.
  unsigned char random[32];
  if (RAND_bytes(random, sizeof random) != 1) {
    std::fputs("herald token: the random number generator failed\n", stderr);
    return exit_failure;
  }
  const std::string token = base64url_encode(std::string_view(reinterpret_cast<const char*>(random), sizeof random));
  const std::string entry = token_entry(opts, sha256_hex(token));
  // The entry must be one Herald accepts: checked by the configuration loader itself.
  try {
    const config parsed = load_config_string("auth:\n  tokens:\n" + indented(entry) + "\n");
    // Read back exactly as given: no option smuggled YAML into the entry.
    const bool same = parsed.auth.tokens.size() == 1 && parsed.auth.tokens[0].name == opts.name &&
                      parsed.auth.tokens[0].scopes == opts.scopes &&
                      parsed.auth.tokens[0].associate_id.has_value() == !opts.associate.empty();
    if (!same) throw config_error("auth.tokens[0].name", "must be a plain name (letters, digits, '_', '-', '.', '@', ':')");
  } catch (const config_error& e) {
    std::string key = e.key();
    const std::string prefix = "auth.tokens[0].";
    if (key.rfind(prefix, 0) == 0) key = "--" + key.substr(prefix.size());
    if (key == "--associate_id") key = "--associate";
    std::fprintf(stderr, "herald token: %s: %s\n", key.c_str(), e.problem().c_str());
    return exit_bad_config;
  }
  std::fputs(entry.c_str(), stdout);
  std::fflush(stdout);
  std::fprintf(stderr,
               "token for %s (shown only now; Herald keeps only its SHA-256, in the entry on stdout):\n%s\n",
               opts.name.c_str(), token.c_str());
  return exit_ok;
}

}  // namespace herald
