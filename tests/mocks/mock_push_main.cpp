// mock_push_server: the mock APNs or FCM server as a process, for manual runs
// and run.sh's local provider simulators. Prints "port=<P> endpoint=<URL>" on
// stdout once listening, serves until SIGTERM/SIGINT, then prints counters.
#include <pthread.h>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <cstdlib>
#include <cstring>
#include <chrono>
#include <exception>
#include <map>
#include <memory>
#include <string>

#include "tests/mocks/mock_platforms.hpp"
#include "tests/mocks/mock_push_server.hpp"

namespace {

constexpr const char* usage =
    "usage: mock_push_server --apns|--fcm [--port P] [--pki DIR | --cert F --key F ...]\n"
    "  --pki DIR                 use the files of --generate-pki DIR (and its default ids)\n"
    "  APNs: --p8 F --key-id K --team-id T --topic BUNDLE [--initial-streams N] [--max-streams N]\n"
    "        [--client-ca F]    certificate auth: require client certificates signed by F (no JWT)\n"
    "  FCM:  --service-account F [--token-lifetime SECONDS] [--no-write-token-uri] [--max-streams N]\n"
    "  WNS:  --wns [--client-id ID] [--client-secret S] [--scope SCOPE]   (token endpoint /token)\n"
    "  Web Push: --webpush --vapid-public-key K [--subscribe ID --subscription-out FILE]\n"
    "        (writes the subscription JSON of a new subscription ID to FILE)\n"
    "  WNS and Web Push speak HTTP/2 when the client offers h2 (ALPN), else HTTP/1.1;\n"
    "        [--http1-only]      never select h2\n"
    "        [--no-validate]     benchmarks: answer every send at once from memory (no token, XML,\n"
    "                            VAPID or decryption check; the WNS token endpoint still checks)\n"
    "       mock_push_server --generate-pki DIR\n"
    "       mock_push_server --pki DIR --print-apns-jwt | --print-fcm-assertion   (for curl/h2load)\n"
    "  Writes ca.pem, server.pem, server.key, AuthKey_<kid>.p8, apns-cert.{pem,p12,password},\n"
    "  apns-cert-encrypted.pem, service-account.json into DIR.\n";

[[noreturn]] void die(const std::string& msg) {
  std::fprintf(stderr, "mock_push_server: %s\n%s", msg.c_str(), usage);
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> opt;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--apns" || a == "--fcm" || a == "--wns" || a == "--webpush" || a == "--no-write-token-uri" || a == "--print-apns-jwt" ||
        a == "--print-fcm-assertion" || a == "--http1-only" || a == "--no-validate") {
      opt[a] = "1";
    } else if (a == "--help" || a == "-h") {
      std::fputs(usage, stdout);
      return 0;
    } else if (a.starts_with("--") && i + 1 < argc) {
      opt[a] = argv[++i];
    } else {
      die("bad argument " + a);
    }
  }
  auto get = [&](const std::string& k, const std::string& def = {}) {
    auto it = opt.find(k);
    return it == opt.end() ? def : it->second;
  };
  try {
    if (opt.contains("--generate-pki")) {
      auto pki = herald::test::test_pki::generate(get("--generate-pki"));
      std::printf("ca_file=%s\nserver_cert_file=%s\nserver_key_file=%s\napns_p8_file=%s\napns_key_id=%s\n"
                  "apns_team_id=%s\napns_topic=%s\napns_cert_pem_file=%s\napns_cert_p12_file=%s\n"
                  "apns_cert_password_file=%s\nfcm_service_account_file=%s\nfcm_project_id=%s\n",
                  pki.ca_file.c_str(), pki.server_cert_file.c_str(), pki.server_key_file.c_str(),
                  pki.apns_p8_file.c_str(), pki.apns_key_id.c_str(), pki.apns_team_id.c_str(),
                  pki.apns_topic.c_str(), pki.apns_cert_pem_file.c_str(), pki.apns_cert_p12_file.c_str(),
                  pki.apns_cert_password_file.c_str(), pki.fcm_service_account_file.c_str(),
                  pki.fcm_project_id.c_str());
      return 0;
    }

    herald::test::test_pki defaults;  // default ids; paths from --pki
    const std::string dir = get("--pki");
    if (!dir.empty()) {
      defaults.ca_file = dir + "/ca.pem";
      defaults.server_cert_file = dir + "/server.pem";
      defaults.server_key_file = dir + "/server.key";
      defaults.apns_p8_file = dir + "/AuthKey_" + defaults.apns_key_id + ".p8";
      defaults.fcm_service_account_file = dir + "/service-account.json";
    }
    const auto unix_now = std::chrono::duration_cast<std::chrono::seconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
    if (opt.contains("--print-apns-jwt")) {
      std::printf("%s\n", herald::test::make_apns_jwt(get("--p8", defaults.apns_p8_file),
                                                     get("--key-id", defaults.apns_key_id),
                                                     get("--team-id", defaults.apns_team_id), unix_now)
                              .c_str());
      return 0;
    }
    if (opt.contains("--print-fcm-assertion")) {
      std::printf("%s\n",
                  herald::test::make_fcm_assertion(get("--service-account", defaults.fcm_service_account_file),
                                                   unix_now)
                      .c_str());
      return 0;
    }
    const auto port = static_cast<unsigned short>(std::stoul(get("--port", "0")));
    const std::string cert = get("--cert", defaults.server_cert_file);
    const std::string key = get("--key", defaults.server_key_file);
    if (cert.empty() || key.empty()) die("--cert and --key (or --pki) are required");

    const bool apns = opt.contains("--apns");
    const bool wns = opt.contains("--wns");
    const bool webpush = opt.contains("--webpush");
    if (int(apns) + int(opt.contains("--fcm")) + int(wns) + int(webpush) != 1)
      die("give exactly one of --apns, --fcm, --wns, --webpush");

    // Block the stop signals before the server thread starts, so only sigwait sees them.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);

    std::unique_ptr<herald::test::mock_push_server> server;
    if (wns) {
      auto o = herald::test::mock_wns_options::from(defaults);
      o.cert_file = cert;
      o.key_file = key;
      o.port = port;
      o.client_id = get("--client-id", o.client_id);
      o.client_secret = get("--client-secret", o.client_secret);
      o.scope = get("--scope", o.scope);
      o.http2 = !opt.contains("--http1-only");
      o.validate = !opt.contains("--no-validate");
      server = std::make_unique<herald::test::mock_wns_server>(o);
    } else if (webpush) {
      herald::test::mock_webpush_options o;
      o.cert_file = cert;
      o.key_file = key;
      o.port = port;
      o.vapid_public_key = get("--vapid-public-key");
      o.http2 = !opt.contains("--http1-only");
      o.validate = !opt.contains("--no-validate");
      if (o.vapid_public_key.empty()) die("--vapid-public-key is required (herald webpush keygen prints it)");
      auto web = std::make_unique<herald::test::mock_webpush_server>(o);
      if (opt.contains("--subscribe")) {
        std::ofstream out(get("--subscription-out", "subscription.json"));
        out << web->subscribe(get("--subscribe")) << "\n";
        if (!out) die("cannot write --subscription-out");
      }
      server = std::move(web);
    } else if (apns) {
      herald::test::mock_apns_options o;
      o.cert_file = cert;
      o.key_file = key;
      o.port = port;
      o.p8_file = get("--p8", defaults.apns_p8_file);
      o.key_id = get("--key-id", defaults.apns_key_id);
      o.team_id = get("--team-id", defaults.apns_team_id);
      o.topic = get("--topic", defaults.apns_topic);
      o.client_ca_file = get("--client-ca");
      o.initial_max_concurrent_streams = static_cast<std::uint32_t>(std::stoul(get("--initial-streams", "1")));
      o.max_concurrent_streams = static_cast<std::uint32_t>(std::stoul(get("--max-streams", "1000")));
      if (o.p8_file.empty() && o.client_ca_file.empty()) die("--p8 (or --client-ca) is required");
      server = std::make_unique<herald::test::mock_apns_server>(o);
    } else {
      herald::test::mock_fcm_options o;
      o.cert_file = cert;
      o.key_file = key;
      o.port = port;
      o.service_account_file = get("--service-account", defaults.fcm_service_account_file);
      o.access_token_lifetime = std::chrono::seconds(std::stol(get("--token-lifetime", "3599")));
      o.write_token_uri = !opt.contains("--no-write-token-uri");
      o.max_concurrent_streams = static_cast<std::uint32_t>(std::stoul(get("--max-streams", "1000")));
      if (o.service_account_file.empty()) die("--service-account is required");
      server = std::make_unique<herald::test::mock_fcm_server>(o);
    }
    server->set_record_limit(10000);
    std::printf("port=%u endpoint=%s\n", static_cast<unsigned>(server->port()), server->endpoint().c_str());
    std::fflush(stdout);

    int sig = 0;
    sigwait(&set, &sig);
    server->stop();
    std::printf("requests=%zu delivered=%zu connections=%zu refused_streams=%zu protocol_errors=%zu\n",
                server->request_count(), server->delivered_count(), server->connection_count(),
                server->refused_streams(), server->protocol_errors());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mock_push_server: %s\n", e.what());
    return 1;
  }
}
