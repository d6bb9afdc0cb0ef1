// File checks and secret reading for the configuration (see secret_file.hpp).
#include "config/secret_file.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace herald::cfg {
namespace {

struct stat stat_file(const std::string& path, const std::string& key) {
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) throw config_error(key, path + " does not exist");
    throw config_error(key, path + ": " + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) throw config_error(key, path + " is not a regular file");
  if (::access(path.c_str(), R_OK) != 0) throw config_error(key, path + " is not readable: " + std::strerror(errno));
  return st;
}

}  // namespace

std::string resolve(const std::filesystem::path& base_dir, const std::string& text) {
  std::filesystem::path p(text);
  if (p.is_relative()) p = base_dir / p;
  return p.lexically_normal().string();
}

void require_file(const std::string& path, const std::string& key) { stat_file(path, key); }

void require_secret_file(const std::string& path, const std::string& key) {
  const struct stat st = stat_file(path, key);
  if (st.st_mode & S_IROTH) throw config_error(key, path + " is world-readable; chmod o-r");
}

std::string read_file(const std::string& path, const std::string& key) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw config_error(key, "cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string read_secret_file(const std::string& path, const std::string& key) {
  require_secret_file(path, key);
  std::string secret = read_file(path, key);
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
  if (secret.empty()) throw config_error(key, path + " is empty");
  if (secret.find('\n') != std::string::npos) throw config_error(key, path + " must hold one line");
  return secret;
}

}  // namespace herald::cfg
