// `herald webpush keygen --out FILE`: a new VAPID key pair. The private key
// (PKCS#8 PEM, EC P-256) goes to FILE with mode 0600 (never overwritten);
// the public key is printed as the base64url uncompressed point a web app
// passes to pushManager.subscribe() as applicationServerKey.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "daemon/commands.hpp"
#include "providers/jwt.hpp"

namespace herald {

namespace {
constexpr const char* keygen_usage = "usage: herald webpush keygen --out FILE\n";

bool write_new_file(const std::string& path, const std::string& text, std::string& error) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    error = std::strerror(errno);
    return false;
  }
  std::size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      error = std::strerror(errno);
      ::close(fd);
      ::unlink(path.c_str());
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    error = std::strerror(errno);
    ::unlink(path.c_str());
    return false;
  }
  return true;
}
}  // namespace

int command_webpush(const std::vector<std::string>& args) {
  if (args.size() < 2 || args[1] != "keygen") {
    std::fputs(keygen_usage, stderr);
    return exit_bad_config;
  }
  std::string out;
  for (std::size_t i = 2; i < args.size(); ++i) {
    if (args[i] == "--out" && i + 1 < args.size()) out = args[++i];
    else if (args[i].rfind("--out=", 0) == 0) out = args[i].substr(6);
    else {
      std::fprintf(stderr, "herald webpush keygen: unknown option '%s'\n%s", args[i].c_str(), keygen_usage);
      return exit_bad_config;
    }
  }
  if (out.empty()) {
    std::fputs(keygen_usage, stderr);
    return exit_bad_config;
  }
  auto key = signing_key::generate(signing_key::algorithm::es256);
  std::string error;
  if (!write_new_file(out, key.private_pem(), error)) {
    std::fprintf(stderr, "herald webpush keygen: cannot create %s: %s (an existing file is never overwritten)\n",
                 out.c_str(), error.c_str());
    return exit_failure;
  }
  std::printf("%s\n", base64url_encode(key.ec_public_point()).c_str());
  std::fprintf(stderr, "VAPID private key written to %s (mode 0600); the line above is the applicationServerKey\n",
               out.c_str());
  return exit_ok;
}

}  // namespace herald
