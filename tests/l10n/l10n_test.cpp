#include "l10n/localizer.hpp"

#include "l10n/builtin_data.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

// Golden tests against the shipped catalogs (config/locales) and time-zone
// table (config/timezones.yaml), with ICU 72's exact output.
//
// ICU 72 (CLDR 42) puts U+202F NARROW NO-BREAK SPACE between the time and
// AM/PM in English ("8:00\u202FAM"); older ICU used a plain space. Clients
// render it as a space. NNBSP below is that byte sequence (E2 80 AF).

namespace {

using namespace std::chrono;
using herald::alarm_message_input;
using herald::l10n_error;
using herald::localizer;
namespace fs = std::filesystem;

const std::string source_dir = HERALD_TEST_SOURCE_DIR;
const std::string locales_dir = source_dir + "/config/locales";
const std::string zones_file = source_dir + "/config/timezones.yaml";
constexpr const char* nnbsp = "\u202F";

const localizer& shipped() {
  static const localizer l = localizer::load(locales_dir, zones_file, "en", "Europe/Oslo");
  return l;
}

constexpr sys_seconds at(year_month_day d, hours h, minutes m = minutes(0)) { return sys_days(d) + h + m; }

// The appointment of the golden tests: 2026-11-24T13:00:00Z, alarm 15 min before.
const sys_seconds start = at(2026y / 11 / 24, hours(13));
alarm_message_input meeting() { return {"Quarterly review", "Meeting room 4", start, minutes(15), false}; }

constexpr std::int32_t oslo_id = 261, new_york_id = 460, utc_id = 1, unknown_id = 857;

// ---------------------------------------------------------------------------
// The four devices of one appointment.

TEST(l10n_golden, four_devices_same_day) {
  const auto& l = shipped();
  const sys_seconds now = start - minutes(15);

  const auto nb = l.alarm(meeting(), "nb-NO", oslo_id, now);
  EXPECT_EQ(nb.title, "Quarterly review");
  EXPECT_EQ(nb.body, "Starter kl. 14:00 (om 15 minutter) · Meeting room 4");
  EXPECT_EQ(nb.language_used, "nb");
  EXPECT_EQ(nb.zone_used, "Europe/Oslo");
  EXPECT_FALSE(nb.zone_fallback);

  const auto en = l.alarm(meeting(), "en-US", new_york_id, now);
  EXPECT_EQ(en.title, "Quarterly review");
  EXPECT_EQ(en.body, std::string("Starts at 8:00") + nnbsp + "AM (in 15 minutes) · Meeting room 4");
  EXPECT_EQ(en.body, "Starts at 8:00\xE2\x80\xAF" "AM (in 15 minutes) \xC2\xB7 Meeting room 4");  // the raw bytes
  EXPECT_EQ(en.language_used, "en");
  EXPECT_EQ(en.zone_used, "America/New_York");
  EXPECT_FALSE(en.zone_fallback);

  const auto de = l.alarm(meeting(), "de", utc_id, now);
  EXPECT_EQ(de.body, "Beginnt um 13:00 Uhr (in 15 Minuten) · Meeting room 4");
  EXPECT_EQ(de.language_used, "de");
  EXPECT_EQ(de.zone_used, "UTC");
  EXPECT_FALSE(de.zone_fallback);

  const auto sv = l.alarm(meeting(), "sv", unknown_id, now);
  EXPECT_EQ(sv.body, "Börjar kl. 14:00 (om 15 minuter) · Meeting room 4");
  EXPECT_EQ(sv.language_used, "sv");
  EXPECT_EQ(sv.zone_used, "Europe/Oslo");
  EXPECT_TRUE(sv.zone_fallback);
}

TEST(l10n_golden, day_before_shows_the_date) {
  const auto& l = shipped();
  const sys_seconds now = start - hours(24);
  EXPECT_EQ(l.alarm(meeting(), "nb-NO", oslo_id, now).body,
            "Starter tirsdag 24. november kl. 14:00 (om 15 minutter) · Meeting room 4");
  EXPECT_EQ(l.alarm(meeting(), "en-US", new_york_id, now).body,
            std::string("Starts Tuesday, November 24 at 8:00") + nnbsp + "AM (in 15 minutes) · Meeting room 4");
  EXPECT_EQ(l.alarm(meeting(), "de", utc_id, now).body,
            "Beginnt am Dienstag, 24. November, um 13:00 Uhr (in 15 Minuten) · Meeting room 4");
  EXPECT_EQ(l.alarm(meeting(), "sv", unknown_id, now).body,
            "Börjar tisdag 24 november kl. 14:00 (om 15 minuter) · Meeting room 4");
}

TEST(l10n_golden, today_is_decided_in_the_devices_zone) {
  const auto& l = shipped();
  // 04:30Z: 05:30 on the 24th in Oslo, 23:30 on the 23rd in New York.
  const sys_seconds now = at(2026y / 11 / 24, hours(4), minutes(30));
  EXPECT_EQ(l.alarm(meeting(), "en", oslo_id, now).body, "Starts at 2:00\u202FPM (in 15 minutes) · Meeting room 4");
  EXPECT_EQ(l.alarm(meeting(), "en", new_york_id, now).body,
            "Starts Tuesday, November 24 at 8:00\u202FAM (in 15 minutes) · Meeting room 4");
  // The default zone too: an unknown id shows Oslo time and Oslo's "today".
  EXPECT_EQ(l.alarm(meeting(), "en", unknown_id, now).body, "Starts at 2:00\u202FPM (in 15 minutes) · Meeting room 4");
}

// Every shipped catalog, same day and day before (the reviewed sentences).
TEST(l10n_golden, every_shipped_language) {
  const auto& l = shipped();
  struct row {
    const char* language;
    const char* today;
    const char* other_day;
  };
  const row rows[] = {
      {"en", "Starts at 2:00\u202FPM (in 15 minutes) · Meeting room 4",
       "Starts Tuesday, November 24 at 2:00\u202FPM (in 15 minutes) · Meeting room 4"},
      {"en-GB", "Starts at 14:00 (in 15 minutes) · Meeting room 4",
       "Starts Tuesday, 24 November at 14:00 (in 15 minutes) · Meeting room 4"},
      {"nb", "Starter kl. 14:00 (om 15 minutter) · Meeting room 4",
       "Starter tirsdag 24. november kl. 14:00 (om 15 minutter) · Meeting room 4"},
      {"no", "Starter kl. 14:00 (om 15 minutter) · Meeting room 4",
       "Starter tirsdag 24. november kl. 14:00 (om 15 minutter) · Meeting room 4"},
      {"nn", "Startar kl. 14:00 (om 15 minutt) · Meeting room 4",
       "Startar tysdag 24. november kl. 14:00 (om 15 minutt) · Meeting room 4"},
      {"sv", "Börjar kl. 14:00 (om 15 minuter) · Meeting room 4",
       "Börjar tisdag 24 november kl. 14:00 (om 15 minuter) · Meeting room 4"},
      {"da", "Starter kl. 14.00 (om 15 minutter) · Meeting room 4",
       "Starter tirsdag den 24. november kl. 14.00 (om 15 minutter) · Meeting room 4"},
      {"de", "Beginnt um 14:00 Uhr (in 15 Minuten) · Meeting room 4",
       "Beginnt am Dienstag, 24. November, um 14:00 Uhr (in 15 Minuten) · Meeting room 4"},
      {"nl", "Begint om 14:00 (over 15 minuten) · Meeting room 4",
       "Begint op dinsdag 24 november om 14:00 (over 15 minuten) · Meeting room 4"},
      {"fr", "Commence à 14:00 (dans 15 minutes) · Meeting room 4",
       "Commence le mardi 24 novembre à 14:00 (dans 15 minutes) · Meeting room 4"},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(r.language);
    EXPECT_EQ(l.alarm(meeting(), r.language, oslo_id, start - minutes(15)).body, r.today);
    EXPECT_EQ(l.alarm(meeting(), r.language, oslo_id, start - hours(24)).body, r.other_day);
  }
  EXPECT_EQ(l.languages(), (std::vector<std::string>{"da", "de", "en", "fr", "nb", "nl", "nn", "no", "sv"}));
}

// ---------------------------------------------------------------------------
// Daylight saving time: the offset of the start instant, not of "now".

TEST(l10n_dst, oslo_spring_forward) {
  const auto& l = shipped();
  // Europe/Oslo switches to CEST (UTC+2) at 2026-03-29T01:00Z.
  alarm_message_input in = meeting();
  in.start = at(2026y / 3 / 29, hours(7));  // 09:00 CEST
  const sys_seconds before_switch = at(2026y / 3 / 28, hours(23), minutes(30));  // 00:30 CET on the 29th
  EXPECT_EQ(l.alarm(in, "nb", oslo_id, before_switch).body, "Starter kl. 09:00 (om 15 minutter) · Meeting room 4");
  in.start = at(2026y / 3 / 28, hours(7));  // the day before: 08:00 CET
  EXPECT_EQ(l.alarm(in, "nb", oslo_id, in.start - minutes(15)).body, "Starter kl. 08:00 (om 15 minutter) · Meeting room 4");
  in.start = at(2026y / 3 / 29, hours(1));  // the first CEST instant: 03:00
  EXPECT_EQ(l.alarm(in, "nb", oslo_id, in.start - minutes(15)).body, "Starter kl. 03:00 (om 15 minutter) · Meeting room 4");
}

TEST(l10n_dst, new_york_fall_back) {
  const auto& l = shipped();
  // America/New_York returns to EST (UTC-5) at 2026-11-01T06:00Z.
  alarm_message_input in = meeting();
  in.start = at(2026y / 11 / 1, hours(14));  // 9:00 AM EST
  EXPECT_EQ(l.alarm(in, "en-US", new_york_id, in.start - minutes(15)).body,
            "Starts at 9:00\u202FAM (in 15 minutes) · Meeting room 4");
  // 03:30Z is still Oct 31 (23:30 EDT) in New York: the date is shown.
  EXPECT_EQ(l.alarm(in, "en-US", new_york_id, at(2026y / 11 / 1, hours(3), minutes(30))).body,
            "Starts Sunday, November 1 at 9:00\u202FAM (in 15 minutes) · Meeting room 4");
  in.start = at(2026y / 10 / 31, hours(14));  // 10:00 AM EDT
  EXPECT_EQ(l.alarm(in, "en-US", new_york_id, in.start - minutes(15)).body,
            "Starts at 10:00\u202FAM (in 15 minutes) · Meeting room 4");
}

// ---------------------------------------------------------------------------
// Lead time in words.

std::string lead_text(const char* language, seconds lead) {
  alarm_message_input in = meeting();
  in.location.clear();
  in.lead_time = lead;
  return shipped().alarm(in, language, utc_id, start).body;
}

TEST(l10n_lead, english_plurals) {
  EXPECT_EQ(lead_text("en", minutes(1)), "Starts at 1:00\u202FPM (in 1 minute)");
  EXPECT_EQ(lead_text("en", minutes(15)), "Starts at 1:00\u202FPM (in 15 minutes)");
  EXPECT_EQ(lead_text("en", minutes(60)), "Starts at 1:00\u202FPM (in 1 hour)");
  EXPECT_EQ(lead_text("en", minutes(61)), "Starts at 1:00\u202FPM (in 1 hour 1 minute)");
  EXPECT_EQ(lead_text("en", minutes(90)), "Starts at 1:00\u202FPM (in 1 hour 30 minutes)");
  EXPECT_EQ(lead_text("en", hours(2)), "Starts at 1:00\u202FPM (in 2 hours)");
  EXPECT_EQ(lead_text("en", hours(24)), "Starts at 1:00\u202FPM (in 1 day)");
  EXPECT_EQ(lead_text("en", hours(49)), "Starts at 1:00\u202FPM (in 2 days 1 hour)");
  EXPECT_EQ(lead_text("en", seconds(0)), "Starts at 1:00\u202FPM (now)");
}

TEST(l10n_lead, rounds_to_whole_minutes) {
  EXPECT_EQ(lead_text("en", seconds(29)), "Starts at 1:00\u202FPM (now)");
  EXPECT_EQ(lead_text("en", seconds(30)), "Starts at 1:00\u202FPM (in 1 minute)");
  EXPECT_EQ(lead_text("en", seconds(89)), "Starts at 1:00\u202FPM (in 1 minute)");
  EXPECT_EQ(lead_text("en", seconds(90)), "Starts at 1:00\u202FPM (in 2 minutes)");
  EXPECT_EQ(lead_text("en", seconds(-300)), "Starts at 1:00\u202FPM (now)");
  EXPECT_EQ(lead_text("en", hours(24) + minutes(59)), "Starts at 1:00\u202FPM (in 1 day)");  // minutes dropped from a day on
}

TEST(l10n_lead, other_languages) {
  EXPECT_EQ(lead_text("nb", minutes(1)), "Starter kl. 13:00 (om 1 minutt)");
  EXPECT_EQ(lead_text("nb", minutes(90)), "Starter kl. 13:00 (om 1 time og 30 minutter)");
  EXPECT_EQ(lead_text("nb", hours(3)), "Starter kl. 13:00 (om 3 timer)");
  EXPECT_EQ(lead_text("nb", hours(24 * 2)), "Starter kl. 13:00 (om 2 dager)");
  EXPECT_EQ(lead_text("nn", hours(2) + minutes(1)), "Startar kl. 13:00 (om 2 timar og 1 minutt)");
  EXPECT_EQ(lead_text("sv", minutes(61)), "Börjar kl. 13:00 (om 1 timme och 1 minut)");
  EXPECT_EQ(lead_text("da", hours(26)), "Starter kl. 13.00 (om 1 dag og 2 timer)");
  EXPECT_EQ(lead_text("de", hours(1)), "Beginnt um 13:00 Uhr (in 1 Stunde)");
  EXPECT_EQ(lead_text("de", minutes(1)), "Beginnt um 13:00 Uhr (in 1 Minute)");
  EXPECT_EQ(lead_text("de", hours(48)), "Beginnt um 13:00 Uhr (in 2 Tagen)");
  EXPECT_EQ(lead_text("nl", minutes(150)), "Begint om 13:00 (over 2 uur en 30 minuten)");
  EXPECT_EQ(lead_text("nl", minutes(1)), "Begint om 13:00 (over 1 minuut)");
  EXPECT_EQ(lead_text("fr", minutes(90)), "Commence à 13:00 (dans 1 heure et 30 minutes)");
  EXPECT_EQ(lead_text("fr", seconds(0)), "Commence à 13:00 (maintenant)");
}

// ---------------------------------------------------------------------------
// Title and location.

TEST(l10n_content, private_appointment_is_neutral) {
  const auto& l = shipped();
  alarm_message_input in = meeting();
  in.title = "Dentist";
  in.location = "Storgata 1";
  in.is_private = true;
  const auto nb = l.alarm(in, "nb-NO", oslo_id, start);
  EXPECT_EQ(nb.title, "Avtale");
  EXPECT_EQ(nb.body, "Starter kl. 14:00 (om 15 minutter)");  // no location either
  EXPECT_EQ(l.alarm(in, "en", oslo_id, start).title, "Appointment");
  EXPECT_EQ(l.alarm(in, "sv", oslo_id, start).title, "Avtalad tid");
  EXPECT_EQ(l.alarm(in, "da", oslo_id, start).title, "Aftale");
  EXPECT_EQ(l.alarm(in, "de", oslo_id, start).title, "Termin");
  EXPECT_EQ(l.alarm(in, "nl", oslo_id, start).title, "Afspraak");
  EXPECT_EQ(l.alarm(in, "fr", oslo_id, start).title, "Rendez-vous");
}

TEST(l10n_content, untitled_gets_the_neutral_title_but_keeps_the_location) {
  alarm_message_input in = meeting();
  in.title = "  ";
  const auto m = shipped().alarm(in, "en", utc_id, start);
  EXPECT_EQ(m.title, "Appointment");
  EXPECT_EQ(m.body, "Starts at 1:00\u202FPM (in 15 minutes) · Meeting room 4");
}

TEST(l10n_content, no_location_no_separator) {
  alarm_message_input in = meeting();
  in.location = " ";
  EXPECT_EQ(shipped().alarm(in, "de", utc_id, start).body, "Beginnt um 13:00 Uhr (in 15 Minuten)");
}

TEST(l10n_content, user_text_is_not_a_pattern) {
  alarm_message_input in = meeting();
  in.title = "Budget {2027} 'draft' #1";
  in.location = "Room {a}, it's #4 ·";
  const auto m = shipped().alarm(in, "en", utc_id, start);
  EXPECT_EQ(m.title, "Budget {2027} 'draft' #1");
  EXPECT_EQ(m.body, "Starts at 1:00\u202FPM (in 15 minutes) · Room {a}, it's #4 ·");
}

// ---------------------------------------------------------------------------
// Language and zone resolution.

TEST(l10n_resolve, language_fallback_chain) {
  const auto& l = shipped();
  EXPECT_EQ(l.resolve_language("nb-NO"), "nb");
  EXPECT_EQ(l.resolve_language("NB_no"), "nb");
  EXPECT_EQ(l.resolve_language("nb_NO.UTF-8"), "nb");
  EXPECT_EQ(l.resolve_language("no"), "no");
  EXPECT_EQ(l.resolve_language("no-NO"), "no");
  EXPECT_EQ(l.resolve_language("nn-NO"), "nn");
  EXPECT_EQ(l.resolve_language("en-US"), "en");
  EXPECT_EQ(l.resolve_language(" en_gb "), "en");
  EXPECT_EQ(l.resolve_language("de-CH"), "de");
  EXPECT_EQ(l.resolve_language("fr-CA"), "fr");
  EXPECT_EQ(l.resolve_language("sv-FI"), "sv");
  EXPECT_EQ(l.resolve_language("pt-BR"), "en");  // unknown -> default
  EXPECT_EQ(l.resolve_language(""), "en");
  EXPECT_EQ(l.resolve_language("*"), "en");
  EXPECT_EQ(l.resolve_language("not a tag!"), "en");
  EXPECT_EQ(l.default_language(), "en");
  // The resolved catalog is what alarm() reports.
  EXPECT_EQ(shipped().alarm(meeting(), "pt-BR", oslo_id, start).language_used, "en");
}

TEST(l10n_resolve, zone_table) {
  const auto& l = shipped();
  const std::pair<std::int32_t, const char*> known[] = {
      {1, "UTC"},
      {36, "Australia/Sydney"},
      {50, "Asia/Dhaka"},
      {114, "America/Toronto"},
      {140, "Europe/Copenhagen"},
      {156, "Europe/Paris"},
      {261, "Europe/Oslo"},
      {425, "America/Los_Angeles"},
      {433, "Pacific/Honolulu"},
      {460, "America/New_York"},
  };
  for (const auto& [id, zone] : known) EXPECT_EQ(l.zone_for(id), zone) << id;
  EXPECT_EQ(l.zone_for(857), std::nullopt);
  EXPECT_EQ(l.zone_for(0), std::nullopt);
  EXPECT_EQ(l.zone_for_code("NO"), "Europe/Oslo");
  EXPECT_EQ(l.zone_for_code("us-ny"), "America/New_York");
  EXPECT_EQ(l.zone_for_code(" AU-ACT "), "Australia/Sydney");
  EXPECT_EQ(l.zone_for_code("SE"), "Europe/Stockholm");
  EXPECT_EQ(l.zone_for_code("XX"), std::nullopt);
  EXPECT_EQ(l.default_zone(), "Europe/Oslo");

  // 12:45Z is 23:45 on the 24th in Canberra, the start is just after midnight.
  const auto sydney = l.alarm(meeting(), "en-AU", 36, start - minutes(15));
  EXPECT_EQ(sydney.body, "Starts Wednesday, 25 November at 12:00\u202Fam (in 15 minutes) · Meeting room 4");
  const auto honolulu = l.alarm(meeting(), "en", 433, start);
  EXPECT_EQ(honolulu.body, "Starts at 3:00\u202FAM (in 15 minutes) · Meeting room 4");
}

TEST(l10n_resolve, zero_time_zone_id_falls_back_visibly) {
  const auto m = shipped().alarm(meeting(), "en", 0, start);
  EXPECT_EQ(m.zone_used, "Europe/Oslo");
  EXPECT_TRUE(m.zone_fallback);
}

TEST(l10n_threads, concurrent_const_use) {
  const auto& l = shipped();
  const std::string expected_nb = l.alarm(meeting(), "nb-NO", oslo_id, start).body;
  const std::string expected_en = l.alarm(meeting(), "en-US", new_york_id, start).body;
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 100; ++i) {
        const bool nb = (i + t) % 2 == 0;
        const auto m = nb ? l.alarm(meeting(), "nb-NO", oslo_id, start) : l.alarm(meeting(), "en-US", new_york_id, start);
        if (m.body != (nb ? expected_nb : expected_en)) ++mismatches;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(mismatches.load(), 0);
}

// ---------------------------------------------------------------------------
// Built-in data: the shipped files compiled into the binary.

std::string file_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Every shipped catalog is built in byte for byte (a new file in
// config/locales/ that is not listed in l10n/CMakeLists.txt fails here), and
// nothing else is.
TEST(l10n_builtin, matches_the_shipped_files) {
  std::vector<std::string> shipped_names;
  for (const auto& entry : fs::directory_iterator(locales_dir)) {
    if (entry.path().extension() == ".yaml") shipped_names.push_back(entry.path().filename().string());
  }
  std::sort(shipped_names.begin(), shipped_names.end());
  std::vector<std::string> builtin_names;
  for (const auto& f : herald::builtin_catalogs()) {
    builtin_names.emplace_back(f.name);
    EXPECT_EQ(f.text, file_text(fs::path(locales_dir) / f.name)) << f.name;
  }
  EXPECT_EQ(builtin_names, shipped_names);
  EXPECT_EQ(herald::builtin_timezone_table().text, file_text(zones_file));
}

TEST(l10n_builtin, loads_and_formats_like_the_files) {
  const localizer builtin = localizer::load("", "", "en", "Europe/Oslo");
  EXPECT_EQ(builtin.languages(), shipped().languages());
  EXPECT_EQ(builtin.default_language(), "en");
  EXPECT_EQ(builtin.zone_for(261), "Europe/Oslo");
  EXPECT_EQ(builtin.zone_for_code("US-NY"), "America/New_York");
  for (const auto& lang : shipped().languages()) {
    for (const std::int32_t zone : {oslo_id, new_york_id, unknown_id}) {
      const auto a = builtin.alarm(meeting(), lang, zone, start - hours(30));
      const auto b = shipped().alarm(meeting(), lang, zone, start - hours(30));
      EXPECT_EQ(a.title, b.title) << lang;
      EXPECT_EQ(a.body, b.body) << lang;
      EXPECT_EQ(a.zone_used, b.zone_used) << lang;
    }
  }
  // A missing default language names the built-in catalogs.
  try {
    localizer::load("", "", "xx", "Europe/Oslo");
    ADD_FAILURE() << "no error for a default language without a catalog";
  } catch (const l10n_error& e) {
    EXPECT_EQ(e.file(), "locales.default_language");
    EXPECT_NE(e.problem().find("<built-in>"), std::string::npos) << e.what();
  }
}

// ---------------------------------------------------------------------------
// Loading: operator-edited catalogs and tables.

class l10n_load : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device rd;
    dir_ = fs::temp_directory_path() / ("herald-l10n-" + std::to_string(rd()));
    fs::create_directories(dir_ / "locales");
    fs::copy_file(locales_dir + "/en.yaml", dir_ / "locales" / "en.yaml");
    fs::copy_file(zones_file, dir_ / "timezones.yaml");
  }
  void TearDown() override { fs::remove_all(dir_); }

  void write(const std::string& name, const std::string& text) { std::ofstream(dir_ / name) << text; }
  localizer load(std::string_view language = "en", std::string_view zone = "Europe/Oslo") {
    return localizer::load((dir_ / "locales").string(), (dir_ / "timezones.yaml").string(), language, zone);
  }
  // The l10n_error load() throws; fails the test if it does not throw.
  l10n_error load_error(std::string_view language = "en", std::string_view zone = "Europe/Oslo") {
    try {
      load(language, zone);
    } catch (const l10n_error& e) {
      return e;
    }
    ADD_FAILURE() << "load() did not throw";
    return l10n_error("", "");
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  fs::path dir_;
};

// Only "no" present: "nb-NO" -> "nb" -> "no"; the default may be given as nb-NO too.
// Each file overrides its built-in counterpart on its own.
TEST_F(l10n_load, directory_with_builtin_zones_and_builtin_catalogs_with_a_table) {
  const auto own_catalogs = localizer::load((dir_ / "locales").string(), "", "en", "Europe/Oslo");
  EXPECT_EQ(own_catalogs.languages(), std::vector<std::string>{"en"});
  EXPECT_EQ(own_catalogs.zone_for(460), "America/New_York");  // the built-in table

  write("timezones.yaml", "zones:\n  - { id: 857, code: IS, zone: Atlantic/Reykjavik }\n");
  const auto own_table = localizer::load("", path("timezones.yaml"), "en", "Europe/Oslo");
  EXPECT_EQ(own_table.languages(), shipped().languages());  // the built-in catalogs
  EXPECT_EQ(own_table.zone_for(857), "Atlantic/Reykjavik");
  EXPECT_EQ(own_table.zone_for(460), std::nullopt);  // replaced, not merged

  try {
    localizer::load("", path("missing.yaml"), "en", "Europe/Oslo");
    ADD_FAILURE() << "no error for a missing table";
  } catch (const l10n_error& e) {
    EXPECT_EQ(e.file(), path("missing.yaml"));
    EXPECT_NE(e.problem().find("cannot read time-zone table"), std::string::npos) << e.what();
  }
}

TEST_F(l10n_load, norwegian_macrolanguage_fallback) {
  fs::copy_file(locales_dir + "/nb.yaml", dir_ / "locales" / "no.yaml");
  const auto l = load("nb-NO");
  EXPECT_EQ(l.default_language(), "no");
  EXPECT_EQ(l.resolve_language("nb-NO"), "no");
  EXPECT_EQ(l.resolve_language("nn"), "no");
  EXPECT_EQ(l.resolve_language("de"), "no");
  EXPECT_EQ(l.alarm(meeting(), "nb-NO", oslo_id, start).body, "Starter kl. 14:00 (om 15 minutter) · Meeting room 4");
}

TEST_F(l10n_load, partial_catalog_takes_the_rest_from_the_default) {
  write("locales/pt.yaml", "alarm:\n  title: \"{private, select, yes {Compromisso} other {{title}}}\"\n");
  alarm_message_input in = meeting();
  in.is_private = true;
  const auto m = load().alarm(in, "pt-BR", utc_id, start);
  EXPECT_EQ(m.language_used, "pt");
  EXPECT_EQ(m.title, "Compromisso");
  EXPECT_EQ(m.body, "Starts at 1:00\u202FPM (in 15 minutes)");  // en patterns format with the en locale
}

TEST_F(l10n_load, flat_dotted_keys_and_explicit_fallback) {
  fs::copy_file(locales_dir + "/nb.yaml", dir_ / "locales" / "nb.yaml");
  write("locales/nb-x-kort.yaml", "fallback: nb\nalarm.body: \"{time} {lead}\"\n");
  const auto l = load();
  EXPECT_EQ(l.resolve_language("nb-x-kort"), "nb-x-kort");
  EXPECT_EQ(l.alarm(meeting(), "nb-x-kort", oslo_id, start).body, "14:00 om 15 minutter");
}

TEST_F(l10n_load, bad_pattern_syntax) {
  write("locales/de.yaml", "alarm:\n  body: \"Beginnt um {time\"\n");
  const auto e = load_error();
  EXPECT_EQ(e.file(), path("locales/de.yaml"));
  EXPECT_NE(e.problem().find("alarm.body: not a valid ICU MessageFormat pattern"), std::string::npos) << e.what();
}

TEST_F(l10n_load, unknown_argument) {
  write("locales/de.yaml", "alarm:\n  lead: \"{kind, select, other {in {minuten} Minuten}}\"\n");
  const auto e = load_error();
  EXPECT_EQ(e.file(), path("locales/de.yaml"));
  EXPECT_NE(e.problem().find("alarm.lead: unknown argument {minuten}"), std::string::npos) << e.what();
}

TEST_F(l10n_load, numbered_argument) {
  write("locales/de.yaml", "alarm:\n  title: \"{0}\"\n");
  EXPECT_NE(load_error().problem().find("numbered argument {0}"), std::string::npos);
}

TEST_F(l10n_load, unknown_key) {
  write("locales/de.yaml", "alarm:\n  tittle: \"x\"\n");
  EXPECT_NE(load_error().problem().find("unknown key \"alarm.tittle\""), std::string::npos);
}

TEST_F(l10n_load, nested_start_cannot_get_a_zone) {
  write("locales/de.yaml", "alarm:\n  date: \"{start, date, short}{start, time, short}\"\n");
  EXPECT_NE(load_error().problem().find("exactly once"), std::string::npos);
  write("locales/de.yaml", "alarm:\n  time: \"{start}\"\n");
  EXPECT_NE(load_error().problem().find("{start} must be a top-level"), std::string::npos);
}

TEST_F(l10n_load, argument_of_the_wrong_type_fails_the_trial_format) {
  write("locales/de.yaml", "alarm:\n  body: \"{time, number} {lead}\"\n");
  const auto e = load_error();
  EXPECT_EQ(e.file(), path("locales/de.yaml"));
  EXPECT_NE(e.problem().find("alarm.body: formatting failed"), std::string::npos) << e.what();
}

TEST_F(l10n_load, empty_lead_branch) {
  write("locales/de.yaml", "alarm:\n  lead: \"{kind, select, minutes {in {minutes} Minuten} other {}}\"\n");
  EXPECT_NE(load_error().problem().find("alarm.lead: empty for {kind} now"), std::string::npos);
}

TEST_F(l10n_load, bad_yaml) {
  write("locales/de.yaml", "alarm:\n  title: [unclosed\n");
  const auto e = load_error();
  EXPECT_EQ(e.file(), path("locales/de.yaml"));
  EXPECT_NE(e.problem().find("cannot read catalog"), std::string::npos) << e.what();
}

TEST_F(l10n_load, fallback_problems) {
  write("locales/de.yaml", "fallback: xx\n");
  EXPECT_NE(load_error().problem().find("fallback: no catalog \"xx\""), std::string::npos);
  write("locales/de.yaml", "fallback: fr\n");
  write("locales/fr.yaml", "fallback: de\n");
  EXPECT_NE(load_error().problem().find("fallback cycle: de -> fr -> de"), std::string::npos);
}

TEST_F(l10n_load, incomplete_default_catalog) {
  write("locales/en.yaml", "alarm:\n  title: \"{private, select, yes {Appt} other {{title}}}\"\n");
  const auto e = load_error();
  EXPECT_EQ(e.file(), path("locales/en.yaml"));
  EXPECT_NE(e.problem().find("alarm.lead: missing"), std::string::npos) << e.what();
}

TEST_F(l10n_load, bad_file_name_and_missing_default) {
  write("locales/English.yaml.yaml", "");
  EXPECT_NE(load_error().problem().find("file name must be a language tag"), std::string::npos);
  fs::remove(dir_ / "locales/English.yaml.yaml");
  const auto e = load_error("sv");
  EXPECT_EQ(e.file(), "locales.default_language");
  EXPECT_NE(e.problem().find("no catalog for \"sv\""), std::string::npos);
}

TEST_F(l10n_load, bad_zones) {
  EXPECT_EQ(load_error("en", "Europe/Olso").file(), "timezones.default");
  write("timezones.yaml", "zones:\n  - { id: 261, code: \"NO\", zone: Europe/Oslo }\n  - { id: 262, code: XX, zone: Mars/Olympus }\n");
  auto e = load_error();
  EXPECT_EQ(e.file(), path("timezones.yaml"));
  EXPECT_NE(e.problem().find("zones[1] (line 3).zone: unknown IANA time zone \"Mars/Olympus\""), std::string::npos) << e.what();
  write("timezones.yaml", "zones:\n  - { id: 261, zone: Europe/Oslo }\n  - { id: 261, zone: Europe/Paris }\n");
  EXPECT_NE(load_error().problem().find("id 261 already used by zones[0]"), std::string::npos);
  write("timezones.yaml", "zones:\n  - { code: no, zone: Europe/Oslo }\n  - { code: \"NO\", zone: Europe/Paris }\n");
  EXPECT_NE(load_error().problem().find("code NO already used"), std::string::npos);
  write("timezones.yaml", "zones:\n  - { id: -3, zone: Europe/Oslo }\n");
  EXPECT_NE(load_error().problem().find("must be a positive integer"), std::string::npos);
  write("timezones.yaml", "zones:\n  - { id: 3 }\n");
  EXPECT_NE(load_error().problem().find("zone is missing"), std::string::npos);
  write("timezones.yaml", "zone:\n  - { id: 3, zone: UTC }\n");
  EXPECT_NE(load_error().problem().find("zones: [{id, code, zone}"), std::string::npos);
  write("timezones.yaml", "zones:\n  - { id: 3, zone: Etc/Unknown }\n");
  EXPECT_NE(load_error().problem().find("unknown IANA time zone"), std::string::npos);
}

TEST_F(l10n_load, operator_adds_a_row) {
  write("timezones.yaml", "zones:\n  - { id: 900, code: SE, zone: Europe/Stockholm }\n");
  const auto l = load();
  EXPECT_EQ(l.zone_for(900), "Europe/Stockholm");
  EXPECT_EQ(l.zone_for(261), std::nullopt);
  EXPECT_EQ(l.alarm(meeting(), "en-GB", 900, start).body, "Starts at 14:00 (in 15 minutes) · Meeting room 4");
}

// Texts are cached per thread by catalog, start, lead time, zone and device
// language: a catalog loaded anew (edited patterns) never gets an old text,
// and a cached start still decides "today" by the current time.
TEST_F(l10n_load, reloaded_catalog_does_not_reuse_cached_texts) {
  const auto before = load();
  EXPECT_EQ(before.alarm(meeting(), "en-GB", oslo_id, start).body, "Starts at 14:00 (in 15 minutes) · Meeting room 4");
  write("locales/en.yaml", "alarm:\n  title: \"{private, select, yes {Appt} other {{title}}}\"\n  lead: \"{minutes} min\"\n  time: \"{start, time, ::HHmm}\"\n"
                           "  date: \"{start, date, ::yMd}\"\n  body: \"{time}/{date}/{today}/{lead}\"\n");
  const auto after = load();
  EXPECT_EQ(after.alarm(meeting(), "en-GB", oslo_id, start).body, "14:00/24/11/2026/yes/15 min");
  EXPECT_EQ(after.alarm(meeting(), "en-GB", oslo_id, start - hours(24)).body, "14:00/24/11/2026/no/15 min");
  EXPECT_EQ(after.alarm(meeting(), "en-GB", new_york_id, start).body, "08:00/24/11/2026/yes/15 min");
  // The first localizer still formats with its own catalog.
  EXPECT_EQ(before.alarm(meeting(), "en-GB", oslo_id, start).body, "Starts at 14:00 (in 15 minutes) · Meeting room 4");
}

}  // namespace
