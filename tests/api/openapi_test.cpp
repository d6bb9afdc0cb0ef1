// docs/openapi.yaml against the code, both ways:
// - every operation it describes is routed by a running daemon to the route
//   its x-herald-route names (read back from herald_http_requests_total), and
//   answers a status the description lists; every SOAP operation it lists is
//   in the endpoint's WSDL and vice versa;
// - every route the code registers is described: the Pocket methods table,
//   every path literal, IBM resource name and route label in api/*.cpp.
// The description is also what GET /openapi.yaml serves, byte for byte.
#include <gtest/gtest.h>
#include <pugixml.hpp>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tests/api/daemon_fixture.hpp"

namespace herald::test {
namespace {

const std::string source_dir = HERALD_TEST_SOURCE_DIR;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

// One described operation.
struct operation {
  std::string path;    // as described, with {parameters}
  std::string method;  // upper case
  std::string route;   // x-herald-route
  std::set<std::string> statuses;
  std::map<std::string, std::string> soap_operations;  // name -> scope (SOAP POST only)
  std::vector<std::pair<std::string, bool>> required_query;  // name, allowEmptyValue
};

const std::vector<std::string> http_methods = {"get", "put", "post", "delete", "patch", "head", "options", "trace"};

std::vector<operation> described_operations(const YAML::Node& doc) {
  std::vector<operation> ops;
  for (const auto& path_item : doc["paths"]) {
    auto path = path_item.first.as<std::string>();
    for (const auto& m : http_methods) {
      auto node = path_item.second[m];
      if (!node) continue;
      operation op;
      op.path = path;
      op.method = m;
      std::transform(op.method.begin(), op.method.end(), op.method.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
      op.route = node["x-herald-route"] ? node["x-herald-route"].as<std::string>() : "";
      for (const auto& r : node["responses"]) op.statuses.insert(r.first.as<std::string>());
      for (const auto& s : node["x-herald-soap-operations"]) op.soap_operations[s.first.as<std::string>()] = s.second.as<std::string>();
      for (const auto& p : node["parameters"]) {
        if (p["in"] && p["in"].as<std::string>() == "query" && p["required"] && p["required"].as<bool>())
          op.required_query.emplace_back(p["name"].as<std::string>(), p["allowEmptyValue"] && p["allowEmptyValue"].as<bool>());
      }
      ops.push_back(std::move(op));
    }
  }
  return ops;
}

YAML::Node load_description() { return YAML::LoadFile(source_dir + "/docs/openapi.yaml"); }

// Every .cpp under api/ (subfolders too, so moving a surface into its own
// folder keeps it checked).
std::vector<std::string> api_sources() {
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::recursive_directory_iterator(source_dir + "/api"))
    if (e.path().extension() == ".cpp") files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  return files;
}

std::string all_api_code() {
  std::string all;
  for (const auto& f : api_sources()) all += read_file(f);
  return all;
}

// The scopes docs/SECURITY.md names (push.application.<id> aside).
const std::set<std::string> known_scopes = {"devices.read",   "devices.write",      "subscriptions.read", "subscriptions.write",
                                            "messages.write", "messages.any",       "appointments.read",  "appointments.write",
                                            "broker.run",     "admin.read",         "admin.write"};

bool known_scope(const std::string& s) {
  return known_scopes.count(s) || s == "push.application.{applicationId}";
}

// ---------------------------------------------------------------------------
// The description on its own, and the code's routes against it.

TEST(openapi_description, is_openapi_3_1_with_unique_operations_and_known_scopes) {
  auto doc = load_description();
  ASSERT_TRUE(starts_with(doc["openapi"].as<std::string>(), "3.1.")) << doc["openapi"].as<std::string>();
  auto schemes = doc["components"]["securitySchemes"];
  ASSERT_TRUE(schemes["bearer"]);
  ASSERT_TRUE(schemes["soTicket"]);
  std::set<std::string> ids;
  std::size_t count = 0;
  for (const auto& path_item : doc["paths"]) {
    for (const auto& m : http_methods) {
      auto node = path_item.second[m];
      if (!node) continue;
      ++count;
      std::string where = m + " " + path_item.first.as<std::string>();
      ASSERT_TRUE(node["operationId"]) << where;
      EXPECT_TRUE(ids.insert(node["operationId"].as<std::string>()).second) << "duplicate operationId at " << where;
      EXPECT_TRUE(node["x-herald-route"]) << where << " has no x-herald-route";
      ASSERT_TRUE(node["responses"] && node["responses"].size() > 0) << where;
      for (const auto& r : node["responses"]) EXPECT_TRUE(std::regex_match(r.first.as<std::string>(), std::regex("[1-5][0-9][0-9]"))) << where;
      ASSERT_TRUE(node["security"]) << where << " must state its security (an empty list for none)";
      for (const auto& requirement : node["security"]) {
        for (const auto& scheme : requirement) {
          auto name = scheme.first.as<std::string>();
          EXPECT_TRUE(schemes[name]) << where << " names the undefined scheme " << name;
          for (const auto& scope : scheme.second) EXPECT_TRUE(known_scope(scope.as<std::string>())) << where << ": " << scope.as<std::string>();
        }
      }
      for (const auto& s : node["x-herald-soap-operations"]) EXPECT_TRUE(known_scope(s.second.as<std::string>())) << where;
    }
  }
  EXPECT_GE(count, 40u);
  // Every $ref resolves.
  auto text = read_file(source_dir + "/docs/openapi.yaml");
  std::regex ref_re("\\$ref: '#/([^']+)'");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), ref_re); it != std::sregex_iterator(); ++it) {
    YAML::Node node = doc;
    std::stringstream parts((*it)[1].str());
    std::string key;
    while (std::getline(parts, key, '/')) {
      node.reset(node[key]);  // (assigning would write into the document)
      ASSERT_TRUE(node) << "unresolved $ref #/" << (*it)[1].str();
    }
  }
}

TEST(openapi_description, every_pocket_method_of_the_code_is_described_and_no_other) {
  // The methods table of the Pocket routes: {"Name", "lowercase", body_required, &pocket_routes::handler}.
  auto code = all_api_code();
  std::regex entry(R"re(\{"([A-Za-z]+)",\s*"([a-z]+)",\s*(true|false),\s*&pocket_routes::)re");
  std::set<std::string> in_code;
  for (auto it = std::sregex_iterator(code.begin(), code.end(), entry); it != std::sregex_iterator(); ++it) {
    in_code.insert((*it)[1].str());
    EXPECT_EQ(lower((*it)[1].str()), (*it)[2].str());
  }
  ASSERT_GE(in_code.size(), 7u) << "the methods table of the Pocket routes was not found under api/; update this test with it";
  std::set<std::string> described;
  for (const auto& op : described_operations(load_description())) {
    const std::string prefix = "/api/v1/Agents/Pocket/";
    if (!starts_with(op.path, prefix)) continue;
    EXPECT_EQ(op.method, "POST") << op.path;
    described.insert(op.path.substr(prefix.size()));
    EXPECT_EQ(op.route, "pocket." + op.path.substr(prefix.size()));
  }
  EXPECT_EQ(in_code, described);
}

TEST(openapi_description, every_path_literal_of_the_routes_is_described) {
  // A route module recognizes its paths by literals ("/api/v1/agents/pocket/",
  // "/remote/services88/pocket.svc", "/healthz", ...): each must be part of a
  // described path, so a new path in code fails here until it is described.
  std::vector<std::string> described;
  for (const auto& op : described_operations(load_description())) described.push_back(lower(op.path));
  std::regex literal(R"re("(/[A-Za-z][A-Za-z0-9_.{}/-]*))re");
  std::size_t seen = 0;
  for (const auto& file : api_sources()) {
    auto code = read_file(file);
    for (auto it = std::sregex_iterator(code.begin(), code.end(), literal); it != std::sregex_iterator(); ++it) {
      ++seen;
      auto l = lower((*it)[1].str());
      bool found = std::any_of(described.begin(), described.end(), [&](const std::string& p) { return p.find(l) != std::string::npos; });
      EXPECT_TRUE(found) << file << ": the path literal \"" << (*it)[1].str() << "\" is in no described path";
    }
  }
  EXPECT_GE(seen, 10u);
}

TEST(openapi_description, every_ibm_resource_of_the_code_is_described) {
  auto code = all_api_code();
  std::regex resource(R"re(resource == "([a-z]+)")re");
  std::set<std::string> in_code;
  for (auto it = std::sregex_iterator(code.begin(), code.end(), resource); it != std::sregex_iterator(); ++it) in_code.insert((*it)[1].str());
  ASSERT_GE(in_code.size(), 3u) << "the IBM resource names (resource == \"devices\") were not found under api/; update this test with them";
  std::set<std::string> described;
  std::regex ibm_path(R"re(^/imfpush/v1/apps/\{applicationId\}/([a-z]+)(/.*)?$)re");
  for (const auto& op : described_operations(load_description())) {
    std::smatch m;
    if (std::regex_match(op.path, m, ibm_path)) described.insert(m[1].str());
  }
  EXPECT_EQ(in_code, described);
}

TEST(openapi_description, every_route_label_of_the_code_is_described) {
  // route_name = "<label>" (or "<prefix>." + name) in api/*.cpp. Labels of
  // refusals (*method_not_allowed, *unmatched) name no route.
  std::set<std::string> routes;
  for (const auto& op : described_operations(load_description())) {
    routes.insert(op.route);
    for (const auto& [name, scope] : op.soap_operations) routes.insert(op.route + "." + name);
  }
  std::regex label(R"re(route_name\s*=\s*(?:std::string\()?"([^"]+)")re");
  std::size_t seen = 0;
  for (const auto& file : api_sources()) {
    auto code = read_file(file);
    for (auto it = std::sregex_iterator(code.begin(), code.end(), label); it != std::sregex_iterator(); ++it) {
      ++seen;
      auto l = (*it)[1].str();
      if (l.ends_with("method_not_allowed") || l.ends_with("unmatched")) continue;
      bool found = l.ends_with(".") ? std::any_of(routes.begin(), routes.end(), [&](const std::string& r) { return starts_with(r, l); })
                                    : routes.count(l) > 0;
      EXPECT_TRUE(found) << file << ": the route label \"" << l << "\" is described by no operation's x-herald-route";
    }
  }
  EXPECT_GE(seen, 10u);
}

TEST(openapi_description, rest_and_soap_agents_describe_the_same_operations_and_scopes) {
  // The REST operations' scope (their first bearer scope) by method name.
  const auto doc = load_description();
  std::map<std::string, std::string> pocket_rest, foreign_rest;
  std::vector<operation> soap;
  for (const auto& op : described_operations(doc)) {
    auto scope_of = [&](std::map<std::string, std::string>& into, const std::string& prefix) {
      if (!starts_with(op.path, prefix)) return;
      auto scopes = doc["paths"][op.path]["post"]["security"][0]["bearer"];
      into[op.path.substr(prefix.size())] = scopes.size() ? scopes[0].as<std::string>() : "";
    };
    scope_of(pocket_rest, "/api/v1/Agents/Pocket/");
    scope_of(foreign_rest, "/api/v1/Agents/ForeignSystem/");
    if (!op.soap_operations.empty()) soap.push_back(op);
  }
  ASSERT_EQ(soap.size(), 4u);
  for (const auto& op : soap) {
    bool pocket = op.path.find("/Pocket.svc") != std::string::npos;
    EXPECT_EQ(op.soap_operations, pocket ? pocket_rest : foreign_rest) << op.path;
    EXPECT_EQ(op.route, pocket ? "soap.Pocket" : "soap.ForeignSystem") << op.path;
  }
}

// ---------------------------------------------------------------------------
// The description against a running daemon.

constexpr const char* token = "openapi-service-token";

class openapi_daemon : public herald_daemon_fixture {
 protected:
  std::vector<test_token> tokens() const override {
    return {{"openapi", token,
             "devices.read, devices.write, subscriptions.read, subscriptions.write, messages.write, appointments.read, "
             "appointments.write, broker.run, admin.read, admin.write, push.application.openapi-app",
             ""}};
  }

  // herald_http_requests_total summed over statuses, by route.
  std::map<std::string, long> requests_by_route() {
    auto r = client().request("GET", "/metrics");
    EXPECT_EQ(r.status, 200);
    std::map<std::string, long> out;
    std::istringstream lines(r.body);
    std::string line;
    std::regex sample(R"re(^herald_http_requests_total\{.*route="([^"]*)".*\} ([0-9]+)$)re");
    while (std::getline(lines, line)) {
      std::smatch m;
      if (std::regex_match(line, m, sample)) out[m[1].str()] += std::stol(m[2].str());
    }
    return out;
  }

  // Sends one request and checks the route label it was counted under
  // (the scrape before it counts once under "metrics" too) and its status.
  void expect_routed(const std::string& method, const std::string& target, const std::string& body,
                     const std::map<std::string, std::string>& headers, const std::string& route,
                     const std::set<std::string>& statuses) {
    auto before = requests_by_route();
    auto res = client().request(method, target, body, headers);
    auto after = requests_by_route();
    long expected = route == "metrics" ? 2 : 1;
    EXPECT_EQ(after[route] - before[route], expected)
        << method << " " << target << " was not counted under route \"" << route << "\" (status " << res.status << ": " << res.body << ")";
    EXPECT_EQ(after["unmatched"], before["unmatched"]) << method << " " << target << " matched no route";
    EXPECT_TRUE(statuses.count(std::to_string(res.status)))
        << method << " " << target << " answered " << res.status << ", which its description does not list: " << res.body;
  }
};

std::string concrete_target(const operation& op) {
  std::string target;
  for (std::size_t i = 0; i < op.path.size(); ++i) {
    if (op.path[i] != '{') {
      target += op.path[i];
      continue;
    }
    auto end = op.path.find('}', i);
    auto name = op.path.substr(i + 1, end - i - 1);
    target += name == "applicationId" ? "openapi-app" : "openapi-" + lower(name);
    i = end;
  }
  char sep = '?';
  for (const auto& [name, empty] : op.required_query) {
    target += sep + name + (empty ? "" : "=openapi-" + lower(name));
    sep = '&';
  }
  return target;
}

std::string soap_envelope(const std::string& operation_name) {
  return std::string(R"(<?xml version="1.0" encoding="utf-8"?>)"
                     R"(<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header><Credentials><Ticket>)") +
         token + "</Ticket></Credentials></s:Header><s:Body><" + operation_name + "/></s:Body></s:Envelope>";
}

TEST_F(openapi_daemon, serves_its_description_without_a_credential) {
  auto r = client().request("GET", "/openapi.yaml");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("content-type"), "application/yaml; charset=utf-8");
  EXPECT_EQ(r.body, read_file(source_dir + "/docs/openapi.yaml"));
  EXPECT_EQ(client().request("POST", "/openapi.yaml", "{}", {{"Content-Type", "application/json"}}).status, 405);
}

TEST_F(openapi_daemon, every_described_operation_is_routed_and_answers_a_described_status) {
  auto ops = described_operations(load_description());
  ASSERT_GE(ops.size(), 40u);
  const std::map<std::string, std::string> json_headers = {
      {"Authorization", std::string("Bearer ") + token}, {"Accept", "application/json"}, {"Content-Type", "application/json"}};
  for (const auto& op : ops) {
    auto target = concrete_target(op);
    if (!op.soap_operations.empty()) {
      // One call per SOAP operation: counted as <x-herald-route>.<operation>.
      for (const auto& [name, scope] : op.soap_operations)
        expect_routed("POST", target, soap_envelope(name), {{"Content-Type", "text/xml; charset=utf-8"}}, op.route + "." + name,
                      op.statuses);
      continue;
    }
    bool has_body = op.method == "POST" || op.method == "PUT";
    auto headers = json_headers;
    if (!has_body) headers.erase("Content-Type");
    expect_routed(op.method, target, has_body ? "{}" : "", headers, op.route, op.statuses);
  }
}

TEST_F(openapi_daemon, an_undescribed_method_is_counted_as_unmatched) {
  // The check above can fail: a Pocket method that does not exist is no route.
  auto before = requests_by_route();
  auto r = client().request("POST", "/api/v1/Agents/Pocket/NoSuchMethod", "{}",
                            {{"Authorization", std::string("Bearer ") + token}, {"Content-Type", "application/json"}});
  auto after = requests_by_route();
  EXPECT_EQ(r.status, 404);
  EXPECT_NE(r.body.find("no such route"), std::string::npos) << r.body;
  EXPECT_EQ(after["unmatched"] - before["unmatched"], 1);
}

TEST_F(openapi_daemon, every_soap_endpoint_describes_exactly_the_operations_of_its_wsdl) {
  std::size_t endpoints = 0;
  for (const auto& op : described_operations(load_description())) {
    if (op.soap_operations.empty()) continue;
    ++endpoints;
    auto r = client().request("GET", op.path + "?wsdl");
    ASSERT_EQ(r.status, 200) << op.path;
    pugi::xml_document wsdl;
    ASSERT_TRUE(wsdl.load_string(r.body.c_str())) << op.path;
    std::set<std::string> in_wsdl;
    for (auto port : wsdl.document_element().children("wsdl:portType"))
      for (auto o : port.children("wsdl:operation")) in_wsdl.insert(o.attribute("name").value());
    std::set<std::string> described;
    for (const auto& [name, scope] : op.soap_operations) described.insert(name);
    EXPECT_FALSE(in_wsdl.empty()) << op.path;
    EXPECT_EQ(in_wsdl, described) << op.path;
  }
  EXPECT_EQ(endpoints, 4u);
}

}  // namespace
}  // namespace herald::test
