// YAML access (yaml_reader.hpp) and secret files (secret_file.hpp).
#include <gtest/gtest.h>

#include "config/secret_file.hpp"
#include "config/yaml_reader.hpp"
#include "tests/config/config_fixture.hpp"

namespace herald::cfg {
namespace {

using namespace std::chrono_literals;

// The config_error `make` raises; fails the test when it does not.
template <class F>
config_error raised_by(F&& make) {
  try {
    make();
  } catch (const config_error& e) {
    return e;
  }
  ADD_FAILURE() << "no config_error";
  return config_error("", "");
}

TEST(config_reader, unknown_key_is_reported_with_its_path_and_the_nearest_known_key) {
  const YAML::Node apps = YAML::Load("- {}\n- {apns: {tema_id: X}}\n");
  const auto e = raised_by([&] { section(apps[1]["apns"], index_path("providers.apps", 1) + ".apns", {"team_id", "key_id"}); });
  EXPECT_EQ(e.key(), "providers.apps[1].apns.tema_id");
  EXPECT_EQ(e.problem(), "unknown key; did you mean \"team_id\"?");
  EXPECT_EQ(std::string(e.what()), "providers.apps[1].apns.tema_id: unknown key; did you mean \"team_id\"?");
}

TEST(config_reader, unknown_key_far_from_every_known_key_gets_no_hint) {
  const auto e = raised_by([] { section(YAML::Load("colour: red"), "server", {"listen", "threads"}); });
  EXPECT_EQ(e.key(), "server.colour");
  EXPECT_EQ(e.problem(), "unknown key");
}

TEST(config_reader, shared_keys_count_as_known_and_as_hints) {
  constexpr std::string_view shared[] = {"connections", "ca_file"};
  const section s(YAML::Load("topic: t\nconnections: 3\n"), "apps.a.apns", {"topic"}, shared);
  int connections = 1;
  EXPECT_TRUE(s.read_int("connections", connections, 1, 64));
  EXPECT_EQ(connections, 3);
  EXPECT_EQ(raised_by([&] { section(YAML::Load("conections: 3"), "p", {"topic"}, shared); }).problem(),
            "unknown key; did you mean \"connections\"?");
}

TEST(config_reader, top_level_and_shape_errors) {
  EXPECT_EQ(raised_by([] { section(YAML::Load("srever: {}"), "", {"server"}); }).key(), "srever");
  const auto list = raised_by([] { section(YAML::Load("[1, 2]"), "server", {"listen"}); });
  EXPECT_EQ(list.key(), "server");
  EXPECT_EQ(list.problem(), "expected a mapping, got a list");
  EXPECT_EQ(raised_by([] { section(YAML::Load("[1]"), "", {"server"}); }).key(), "<config>");
  EXPECT_EQ(raised_by([] { section(YAML::Load("{[1]: x}"), "s", {"x"}); }).problem(), "keys must be plain strings");
  const auto dup = raised_by([] { section(YAML::Load("threads: 1\nthreads: 2\n"), "server", {"threads"}); });
  EXPECT_EQ(dup.key(), "server.threads");
  EXPECT_EQ(dup.problem(), "duplicate key");
}

TEST(config_reader, absent_and_null_keys_keep_defaults) {
  for (const char* text : {"", "~", "{}", "interval: ~"}) {
    const section s(YAML::Load(text), "broker", {"interval"});
    millis interval = 30s;
    EXPECT_FALSE(s.read_duration("interval", interval, 1s, 1h)) << text;
    EXPECT_EQ(interval, 30s) << text;
    EXPECT_FALSE(s.has("interval"));
  }
}

TEST(config_reader, typed_reads_check_ranges_and_name_the_key) {
  const section s(YAML::Load("n: 70\nd: 2h\nz: 2MiB\ne: \"\"\nc: blue\nl: [a, b]\n"), "x", {"n", "d", "z", "e", "c", "l"});
  int n = 0;
  EXPECT_EQ(raised_by([&] { s.read_int("n", n, 1, 64); }).problem(), "must be between 1 and 64, got 70");
  EXPECT_TRUE(s.read_int("n", n, 1, 100));
  EXPECT_EQ(n, 70);
  millis d{};
  const auto late = raised_by([&] { s.read_duration("d", d, 1s, 1h); });
  EXPECT_EQ(late.key(), "x.d");
  EXPECT_EQ(late.problem(), "must be between 1s and 1h, got 2h");
  std::size_t z = 0;
  EXPECT_EQ(raised_by([&] { s.read_size("z", z, 1024, 1024 * 1024); }).problem(), "must be between 1KiB and 1MiB, got 2MiB");
  std::string e = "default";
  EXPECT_EQ(raised_by([&] { s.read_string("e", e); }).problem(), "must not be empty");
  std::string c;
  EXPECT_EQ(raised_by([&] { s.read_choice("c", c, {"red", "green"}, "must be red or green, got "); }).problem(),
            "must be red or green, got \"blue\"");
  EXPECT_EQ(raised_by([&] { s.read_string("l", e); }).problem(), "expected a single value, got a list");
  EXPECT_EQ(string_list(*s.get("l"), s.path("l")), (std::vector<std::string>{"a", "b"}));
  const auto missing = raised_by([&] { s.required("topic", "is required"); });
  EXPECT_EQ(missing.key(), "x.topic");
  EXPECT_EQ(missing.problem(), "is required");
}

TEST(config_reader, yaml_syntax_errors_name_the_source_and_line) {
  const auto e = raised_by([] { parse_yaml("a: 1\nb: [1\n", "herald.yaml"); });
  EXPECT_EQ(e.key(), "herald.yaml");
  EXPECT_TRUE(e.problem().starts_with("YAML error at line ")) << e.problem();
}

using config_secret_file = config_dir_test;

TEST_F(config_secret_file, one_line_is_read_without_its_line_end) {
  EXPECT_EQ(read_secret_file(write("a", "s3cret\n"), "k"), "s3cret");
  EXPECT_EQ(read_secret_file(write("b", "s3cret\r\n"), "k"), "s3cret");
  EXPECT_EQ(read_secret_file(write("c", "no newline", 0640), "k"), "no newline");
}

TEST_F(config_secret_file, bad_secret_files_are_errors_naming_key_and_path) {
  const auto open = write("open", "x\n", 0644);
  auto e = raised_by([&] { read_secret_file(open, "redis.password_file"); });
  EXPECT_EQ(e.key(), "redis.password_file");
  EXPECT_EQ(e.problem(), open + " is world-readable; chmod o-r");
  const auto empty = write("empty", "\n");
  EXPECT_EQ(raised_by([&] { read_secret_file(empty, "k"); }).problem(), empty + " is empty");
  const auto two = write("two", "a\nb\n");
  EXPECT_EQ(raised_by([&] { read_secret_file(two, "k"); }).problem(), two + " must hold one line");
  const auto none = (dir_ / "none").string();
  EXPECT_EQ(raised_by([&] { read_secret_file(none, "k"); }).problem(), none + " does not exist");
  EXPECT_EQ(raised_by([&] { read_secret_file(dir_.string(), "k"); }).problem(), dir_.string() + " is not a regular file");
}

TEST_F(config_secret_file, ordinary_files_may_be_world_readable) {
  const auto ca = write("ca.pem", "pem", 0644);
  EXPECT_NO_THROW(require_file(ca, "k"));
  EXPECT_EQ(read_file(ca, "k"), "pem");
  EXPECT_THROW(require_secret_file(ca, "k"), config_error);
  EXPECT_EQ(resolve(dir_, "ca.pem"), ca);
  EXPECT_EQ(resolve(dir_, "/etc/../etc/x"), "/etc/x");
}

}  // namespace
}  // namespace herald::cfg
