#pragma once
// Files a configuration refers to: existence and permission checks, and the
// one way Herald reads a secret out of a file (passwords, client secrets).
// Errors are config_error(key, ...) naming the configuration key.
#include <filesystem>
#include <string>

#include "config/config.hpp"

namespace herald::cfg {

// `text` as a path: relative ones resolve against `base_dir`, normalised.
std::string resolve(const std::filesystem::path& base_dir, const std::string& text);

// A readable regular file.
void require_file(const std::string& path, const std::string& key);
// A readable regular file that is not world-readable: keys, passwords and
// service accounts are identities, and a leaked one is a leaked identity.
void require_secret_file(const std::string& path, const std::string& key);

// The whole file (require_file's checks are the caller's).
std::string read_file(const std::string& path, const std::string& key);

// The secret in a one-line file: require_secret_file, read, trailing CR/LF
// removed; an empty file or one with more than one line is an error.
std::string read_secret_file(const std::string& path, const std::string& key);

}  // namespace herald::cfg
