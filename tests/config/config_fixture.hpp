#pragma once
// A private directory for the files a configuration refers to (removed
// afterwards), and loading YAML with that directory as the base.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "config/config.hpp"

namespace herald {

class config_dir_test : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "herald-config-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& content, mode_t mode = 0600) {
    const std::filesystem::path path = dir_ / name;
    std::ofstream(path) << content;
    ::chmod(path.c_str(), mode);
    return path.string();
  }
  config load(const std::string& yaml) { return load_config_string(yaml, dir_.string()); }

  // The config_error `yaml` raises; fails the test when it loads.
  config_error error_of(const std::string& yaml) {
    try {
      load(yaml);
    } catch (const config_error& e) {
      return e;
    }
    ADD_FAILURE() << "loaded without error:\n" << yaml;
    return config_error("", "");
  }

  std::filesystem::path dir_;
};

}  // namespace herald
