// The authorization matrix: every route of every surface (Pocket REST and
// SOAP, ForeignSystem, IBM devices/subscriptions/messages, appointments,
// admin: readiness, delivery traces, dead letters) asked by every kind of caller, against the real daemon and a real
// redis-server. For each cell the victim's data (associate 42's) is created
// fresh by a service credential, the request is made, and the test checks
// the status, that no foreign data leaks into the body, and that a refused
// request changed nothing.
#include "tests/api/daemon_fixture.hpp"

#include <gtest/gtest.h>

#include <functional>

#include "tests/api/seed_envelopes.hpp"

namespace herald::test {
namespace {

// Callers.
enum class caller { none, wrong_scope, service, owner, other, other_with_proof };
constexpr caller all_callers[] = {caller::none,  caller::wrong_scope, caller::service,
                                  caller::owner, caller::other,       caller::other_with_proof};
const char* name(caller c) {
  switch (c) {
    case caller::none: return "no credential";
    case caller::wrong_scope: return "wrong scope";
    case caller::service: return "service";
    case caller::owner: return "bound owner";
    case caller::other: return "bound other";
    case caller::other_with_proof: return "bound other with the device's PNSHandle";
  }
  return "?";
}

const std::string all_scopes =
    "devices.read, devices.write, subscriptions.read, subscriptions.write, messages.write, appointments.read, "
    "appointments.write, broker.run, push.application.pocket";
const std::string service_token = "svc-token";
const std::string owner_token = "owner-token";  // associate 42, owns the victim data
const std::string other_token = "other-token";  // associate 919
const std::string noscope_token = "noscope-token";  // associate 42, only push.application.pocket
const std::string bound_admin_token = "bound-admin-token";  // associate 42 with the admin scopes

std::string token_of(caller c) {
  switch (c) {
    case caller::none: return "";
    case caller::wrong_scope: return noscope_token;
    case caller::service: return service_token;
    case caller::owner: return owner_token;
    case caller::other:
    case caller::other_with_proof: return other_token;
  }
  return "";
}

// What the victim's data contains that no other caller may see.
const std::string secret_handle = "secret-handle-";
const std::string secret_title = "Secret title";

struct expectation {
  int status;
  std::string body_has;  // "" = not checked
};

class authorization_matrix : public herald_daemon_fixture {
 protected:
  std::vector<test_token> tokens() const override {
    return {{"svc", service_token, all_scopes + ", admin.read, admin.write", ""},
            {"owner", owner_token, all_scopes, "42"},
            {"other", other_token, all_scopes, "919"},
            {"noscope", noscope_token, "push.application.pocket", "42"},
            {"boundadmin", bound_admin_token, "admin.read, admin.write", "42"}};
  }

 public:
  using herald_daemon_fixture::client;

  http_response call(const std::string& method, const std::string& target, const std::string& body, caller c,
                     const std::string& content_type = "application/json") {
    std::map<std::string, std::string> h;
    if (auto t = token_of(c); !t.empty()) h["Authorization"] = "Bearer " + t;
    if (!body.empty()) h["Content-Type"] = content_type;
    return client().request(method, target, body, h);
  }
  http_response as_service(const std::string& method, const std::string& target, const std::string& body = {}) {
    return call(method, target, body, caller::service);
  }
  http_response soap(const std::string& path, const std::string& envelope) {
    return client().request("POST", path, envelope, {{"Content-Type", "application/soap+xml; charset=utf-8"}});
  }

  // The victim's data for one cell, created by the service credential.
  void make_device(const std::string& id) {
    auto r = as_service("POST", "/api/v1/Agents/Pocket/RegisterDeviceForPushNotification",
                        R"({"AssociateId":42,"DeviceInfo":{"DeviceName":"Phone","DeviceIdentifier":")" + id +
                            R"(","PocketVersion":"10","Language":"en-US","PNSHandle":")" + secret_handle + id +
                            R"(","Platform":"Apple","OSVersion":"iOS 17","TimeZoneId":460}})");
    ASSERT_EQ(r.status, 204) << r.body;
    auto s = as_service("POST", "/imfpush/v1/apps/pocket/subscriptions", R"({"deviceId":")" + id + R"(","tagName":"news"})");
    ASSERT_EQ(s.status, 201) << s.body;
  }
  void make_appointment(const std::string& id) {
    auto r = as_service("PUT", "/api/v1/appointments/" + id,
                        R"({"AssociateIds":[42],"Title":")" + secret_title +
                            R"(","Location":"Secret place","StartDate":"2031-01-01T10:00:00Z","HasAlarm":false,"Private":true})");
    ASSERT_EQ(r.status, 201) << r.body;
  }
  void make_foreign(const std::string& id) {
    auto r = call("POST", "/api/v1/Agents/ForeignSystem/SaveForeignKey",
                  R"({"ApplicationName":"App","DeviceName":"D","DeviceIdentifier":")" + id +
                      R"(","ForeignKey":{"Key":"k","Value":")" + secret_handle + id + R"(","TableName":"contact","RecordId":1}})",
                  caller::owner);
    ASSERT_EQ(r.status, 200) << r.body;
  }

  // The victim device as stored: owner and handle (service view).
  std::string device_owner(const std::string& id) {
    auto r = as_service("GET", "/imfpush/v1/apps/pocket/devices/" + id);
    if (r.status != 200) return "gone";
    auto pos = r.body.find("\"userId\"");
    std::string owner = r.body.find(secret_handle + id) != std::string::npos ? "handle-kept" : "handle-changed";
    (void)pos;
    auto list42 = as_service("POST", "/api/v1/Agents/Pocket/GetRegisteredDevices", R"({"AssociateId":42})");
    return owner + (list42.body.find(id) != std::string::npos ? ",owner-42" : ",moved");
  }
  std::string device_tags(const std::string& id) {
    auto r = as_service("POST", "/api/v1/Agents/Pocket/GetPushNotificationTagsForDevice", R"({"DeviceIdentifier":")" + id + "\"}");
    return std::to_string(r.status) + ":" + r.body;
  }
  std::string appointment_state(const std::string& id) {
    auto r = as_service("GET", "/api/v1/appointments/" + id);
    return std::to_string(r.status) + ":" + r.body;
  }
  std::string subscriptions_of(const std::string& id) {
    auto r = as_service("GET", "/imfpush/v1/apps/pocket/subscriptions?deviceId=" + id);
    return std::to_string(r.status) + ":" + r.body;
  }
  // A dead letter about the victim device, as the broker writes one; its
  // stream id is remembered per victim.
  std::string redis_key(const std::string& suffix) const { return "t" + std::to_string(port_) + ":" + suffix; }
  void make_dead_letter(const std::string& id) {
    make_device(id);
    if (HasFatalFailure()) return;
    auto out = redis_.cli("XADD " + redis_key("deadletter") + " '*' delivery message:m-" + id + ":0:" + id + " kind message id m-" + id +
                          " device " + id + " platform Apple reason BadDeviceToken-" + id + " status 400");
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    ASSERT_NE(out.find('-'), std::string::npos) << out;
    dead_letter_ids[id] = out;
  }
  std::string dead_letter_state(const std::string& id) {
    const auto& dl = dead_letter_ids[id];
    return redis_.cli("XLEN " + redis_key("deadletter")) + redis_.cli("XRANGE " + redis_key("deadletter") + " " + dl + " " + dl) +
           redis_.cli("EXISTS " + redis_key("deadletter:replayed:" + dl)) + redis_.cli("XLEN " + redis_key("work")) + device_owner(id);
  }
  std::map<std::string, std::string> dead_letter_ids;

  std::string foreign_state(const std::string& id) {
    auto r = call("POST", "/api/v1/Agents/ForeignSystem/GetKeyValueOnDeviceIdentifier",
                  R"({"ApplicationName":"App","DeviceIdentifier":")" + id + R"(","KeyName":"k","TableName":"contact","RecordId":1})",
                  caller::owner);
    return std::to_string(r.status) + ":" + r.body;
  }
};

// One route: how to prepare, call and check it.
struct route {
  std::string name;
  std::function<void(authorization_matrix&, const std::string& id)> setup;
  std::function<http_response(authorization_matrix&, const std::string& id, caller)> request;
  // The status (and a body fragment) each caller gets.
  std::function<expectation(caller)> expect;
  // A snapshot of the victim's data; must not change when the caller is refused.
  std::function<std::string(authorization_matrix&, const std::string& id)> state;
};

// Typical answers: what is not the caller's is unknown to it.
std::function<expectation(caller)> owned(int ok, int hidden, int wrong_scope = 403) {
  return [=](caller c) -> expectation {
    switch (c) {
      case caller::none: return {401, ""};
      case caller::wrong_scope: return {wrong_scope, ""};
      case caller::service:
      case caller::owner: return {ok, ""};
      case caller::other:
      case caller::other_with_proof: return {hidden, ""};
    }
    return {0, ""};
  };
}

std::string pocket(const std::string& method) { return "/api/v1/Agents/Pocket/" + method; }
std::string foreign(const std::string& method) { return "/api/v1/Agents/ForeignSystem/" + method; }
std::string ibm(const std::string& rest) { return "/imfpush/v1/apps/pocket/" + rest; }

// A service credential names the owner (associate 42, who has the device).
std::string register_body(const std::string& id, const std::string& handle, bool service = false) {
  return std::string(service ? R"({"AssociateId":42,)" : "{") + R"("DeviceInfo":{"DeviceName":"Mine","DeviceIdentifier":")" + id + R"(","PocketVersion":"10","Language":"nb-NO","PNSHandle":")" +
         handle + R"(","Platform":"Apple","OSVersion":"iOS 18","TimeZoneId":460}})";
}
// A registration presents the stored handle only for other_with_proof (and the owner).
std::string presented_handle(const std::string& id, caller c) {
  return (c == caller::other_with_proof || c == caller::owner) ? secret_handle + id : "attacker-handle";
}

std::vector<route> routes() {
  auto dev = [](authorization_matrix& t, const std::string& id) { t.make_device(id); };
  auto appt = [](authorization_matrix& t, const std::string& id) { t.make_appointment(id); };
  auto fdev = [](authorization_matrix& t, const std::string& id) { t.make_foreign(id); };
  auto owner_state = [](authorization_matrix& t, const std::string& id) { return t.device_owner(id) + "|" + t.device_tags(id); };
  auto appt_state = [](authorization_matrix& t, const std::string& id) { return t.appointment_state(id); };
  auto sub_state = [](authorization_matrix& t, const std::string& id) { return t.subscriptions_of(id); };
  auto foreign_state = [](authorization_matrix& t, const std::string& id) { return t.foreign_state(id); };
  // Registering another's device: moved with proof or by a service, 409 otherwise.
  auto registration = [](int ok, int conflict) {
    return [=](caller c) -> expectation {
      switch (c) {
        case caller::none: return {401, ""};
        case caller::wrong_scope: return {403, ""};
        case caller::service:
        case caller::owner:
        case caller::other_with_proof: return {ok, ""};
        case caller::other: return {conflict, ""};
      }
      return {0, ""};
    };
  };
  // SOAP answers errors as Faults (HTTP 500) naming the exception type.
  auto soap_registration = [](caller c) -> expectation {
    switch (c) {
      case caller::none: return {500, "SoAuthenticationException"};
      case caller::wrong_scope: return {500, "SoAccessDeniedException"};
      case caller::service: return {500, "ArgumentException"};  // the seed envelope names no AssociateId
      case caller::owner:
      case caller::other_with_proof: return {200, "RegisterDeviceForPushNotificationResponse"};
      case caller::other: return {500, "SoConflictException"};
    }
    return {0, ""};
  };
  auto soap_owned = [](caller c) -> expectation {
    switch (c) {
      case caller::none: return {500, "SoAuthenticationException"};
      case caller::wrong_scope: return {500, "SoAccessDeniedException"};
      case caller::service:
      case caller::owner: return {200, "GetPushNotificationTagsForDeviceResponse"};
      case caller::other:
      case caller::other_with_proof: return {500, "SoNotFoundException"};
    }
    return {0, ""};
  };
  const std::string ticket_tag = "TICKET";

  std::vector<route> r;
  // ---- Pocket REST
  r.push_back({"pocket.RegisterDeviceForPushNotification", dev,
               [](authorization_matrix& t, const std::string& id, caller c) {
                 return t.call("POST", pocket("RegisterDeviceForPushNotification"),
                               register_body(id, presented_handle(id, c), c == caller::service), c);
               },
               registration(204, 409),
               owner_state});
  r.push_back({"pocket.GetRegisteredDevices", dev,
               [](authorization_matrix& t, const std::string&, caller c) {
                 return t.call("POST", pocket("GetRegisteredDevices"), R"({"AssociateId":42})", c);
               },
               owned(200, 403), owner_state});
  r.push_back({"pocket.SetPushNotificationTagsForDevice", dev,
               [](authorization_matrix& t, const std::string& id, caller c) {
                 return t.call("POST", pocket("SetPushNotificationTagsForDevice"),
                               R"({"DeviceIdentifier":")" + id + R"(","Tags":"NewTicket"})", c);
               },
               owned(204, 404), owner_state});
  r.push_back({"pocket.SetPushNotificationTagsForUser", dev,
               [](authorization_matrix& t, const std::string&, caller c) {
                 return t.call("POST", pocket("SetPushNotificationTagsForUser"), R"({"AssociateId":42,"Tags":"NewTicket"})", c);
               },
               owned(204, 403), owner_state});
  r.push_back({"pocket.GetPushNotificationTagsForDevice", dev,
               [](authorization_matrix& t, const std::string& id, caller c) {
                 return t.call("POST", pocket("GetPushNotificationTagsForDevice"), R"({"DeviceIdentifier":")" + id + "\"}", c);
               },
               owned(200, 404), owner_state});
  r.push_back({"pocket.SendPushNotification", dev,
               [](authorization_matrix& t, const std::string&, caller c) {
                 return t.call("POST", pocket("SendPushNotification"), R"({"AssociateIds":[42],"Message":{"Title":"Hi","Message":"x"}})", c);
               },
               owned(204, 403), owner_state});
  r.push_back({"pocket.RunAppointmentAlarmBroker", dev,
               [](authorization_matrix& t, const std::string&, caller c) {
                 return t.call("POST", pocket("RunAppointmentAlarmBroker"), "", c);
               },
               // Not owned data: any credential with broker.run may run a pass.
               owned(204, 204), owner_state});
  // ---- Pocket SOAP (seed envelope with the caller's ticket)
  r.push_back({"soap.RegisterDeviceForPushNotification", dev,
               [ticket_tag](authorization_matrix& t, const std::string& id, caller c) {
                 auto env = replace_all(replace_all(replace_all(seed000_request, ticket_tag, token_of(c)), "DEVICE_IDENTIFIER", id),
                                        "PNS_HANDLE", presented_handle(id, c));
                 return t.soap("/Remote/Services87/Pocket.svc", env);
               },
               soap_registration, owner_state});
  r.push_back({"soap.GetPushNotificationTagsForDevice", dev,
               [](authorization_matrix& t, const std::string& id, caller c) {
                 auto env = soap11_envelope("http://www.superoffice.net/ws/crm/NetServer/Services87", token_of(c),
                                            "<tns:GetPushNotificationTagsForDevice><tns:DeviceIdentifier>" + id +
                                                "</tns:DeviceIdentifier></tns:GetPushNotificationTagsForDevice>");
                 return t.client().request("POST", "/Remote/Services87/Pocket.svc", env,
                                           {{"Content-Type", "text/xml; charset=utf-8"},
                                            {"SOAPAction", "\"http://www.superoffice.net/ws/crm/NetServer/Services87/Pocket/GetPushNotificationTagsForDevice\""}});
               },
               soap_owned, owner_state});
  // ---- ForeignSystem
  r.push_back({"foreign.GetKeyValueOnDeviceIdentifier", fdev,
               [](authorization_matrix& t, const std::string& id, caller c) {
                 return t.call("POST", foreign("GetKeyValueOnDeviceIdentifier"),
                               R"({"ApplicationName":"App","DeviceIdentifier":")" + id + R"(","KeyName":"k","TableName":"contact","RecordId":1})", c);
               },
               // Another's device reads like an unknown one: 200 with an empty value.
               owned(200, 200), foreign_state});
  r.push_back({"foreign.SaveForeignKey", fdev,
               [](authorization_matrix& t, const std::string& id, caller c) {
                 return t.call("POST", foreign("SaveForeignKey"),
                               R"({"ApplicationName":"App","DeviceName":"D","DeviceIdentifier":")" + id +
                                   R"(","ForeignKey":{"Key":"k","Value":"overwritten","TableName":"contact","RecordId":1}})", c);
               },
               owned(200, 409), foreign_state});
  r.push_back({"foreign.DeleteDeviceByIdentifier", fdev,
               [](authorization_matrix& t, const std::string& id, caller c) {
                 return t.call("POST", foreign("DeleteDeviceByIdentifier"), R"({"ApplicationName":"App","DeviceIdentifier":")" + id + "\"}", c);
               },
               // Deleting an unknown device succeeds without effect; so does another's.
               owned(204, 204), foreign_state});
  // ---- IBM devices
  r.push_back({"ibm.GET device", dev,
               [](authorization_matrix& t, const std::string& id, caller c) { return t.call("GET", ibm("devices/" + id), "", c); },
               owned(200, 404), owner_state});
  r.push_back({"ibm.PUT device", dev,
               [](authorization_matrix& t, const std::string& id, caller c) {
                 return t.call("PUT", ibm("devices/" + id), R"({"token":"bbbb","platform":"A"})", c);
               },
               owned(200, 404), owner_state});
  r.push_back({"ibm.DELETE device", dev,
               [](authorization_matrix& t, const std::string& id, caller c) { return t.call("DELETE", ibm("devices/" + id), "", c); },
               owned(204, 404), owner_state});
  r.push_back({"ibm.POST devices", dev,
               [](authorization_matrix& t, const std::string& id, caller c) {
                 return t.call("POST", ibm("devices"), R"({"deviceId":")" + id + R"(","token":")" + presented_handle(id, c) + R"(","platform":"A"})", c);
               },
               registration(201, 409), owner_state});
  r.push_back({"ibm.GET devices", dev,
               [](authorization_matrix& t, const std::string&, caller c) { return t.call("GET", ibm("devices"), "", c); },
               // The list answers 200 to everyone; others' devices are not in it (body check).
               owned(200, 200), owner_state});
  // ---- IBM subscriptions
  r.push_back({"ibm.POST subscriptions", dev,
               [](authorization_matrix& t, const std::string& id, caller c) {
                 return t.call("POST", ibm("subscriptions"), R"({"deviceId":")" + id + R"(","tagName":"sports"})", c);
               },
               owned(201, 404), sub_state});
  r.push_back({"ibm.DELETE subscriptions", dev,
               [](authorization_matrix& t, const std::string& id, caller c) {
                 return t.call("DELETE", ibm("subscriptions?deviceId=" + id + "&tagName=news"), "", c);
               },
               owned(204, 404), sub_state});
  r.push_back({"ibm.GET subscriptions", dev,
               [](authorization_matrix& t, const std::string& id, caller c) {
                 return t.call("GET", ibm("subscriptions?deviceId=" + id), "", c);
               },
               owned(200, 200), sub_state});
  r.push_back({"ibm.POST messages", dev,
               [](authorization_matrix& t, const std::string&, caller c) {
                 return t.call("POST", ibm("messages"), R"({"message":{"alert":"hi"},"target":{"userIds":["42"]}})", c);
               },
               owned(202, 403), owner_state});
  // ---- Appointments
  r.push_back({"appointments.GET", appt,
               [](authorization_matrix& t, const std::string& id, caller c) { return t.call("GET", "/api/v1/appointments/" + id, "", c); },
               owned(200, 404), appt_state});
  r.push_back({"appointments.PUT existing", appt,
               [](authorization_matrix& t, const std::string& id, caller c) {
                 return t.call("PUT", "/api/v1/appointments/" + id,
                               R"({"AssociateIds":[42,919],"Title":"Changed","StartDate":"2031-01-01T10:00:00Z","HasAlarm":false})", c);
               },
               owned(200, 404), appt_state});
  r.push_back({"appointments.PUT new for others", appt,
               [](authorization_matrix& t, const std::string& id, caller c) {
                 return t.call("PUT", "/api/v1/appointments/" + id + "-new",
                               R"({"AssociateIds":[42],"Title":"For 42","StartDate":"2031-01-01T10:00:00Z","HasAlarm":false})", c);
               },
               owned(201, 403), appt_state});
  r.push_back({"appointments.DELETE", appt,
               [](authorization_matrix& t, const std::string& id, caller c) { return t.call("DELETE", "/api/v1/appointments/" + id, "", c); },
               owned(204, 404), appt_state});
  // ---- Admin: service credentials with admin.read / admin.write only (authz::admin_decision)
  auto admin_only = [](int ok) {
    return [=](caller c) -> expectation {
      switch (c) {
        case caller::none: return {401, ""};
        case caller::service: return {ok, ""};
        default: return {403, "SoAccessDeniedException"};
      }
    };
  };
  auto dl = [](authorization_matrix& t, const std::string& id) { t.make_dead_letter(id); };
  auto dl_state = [](authorization_matrix& t, const std::string& id) { return t.dead_letter_state(id); };
  r.push_back({"admin.device_deliveries", dev,
               [](authorization_matrix& t, const std::string& id, caller c) {
                 return t.call("GET", "/api/v1/admin/devices/" + id + "/deliveries", "", c);
               },
               admin_only(200), owner_state});
  r.push_back({"admin.appointment_deliveries", appt,
               [](authorization_matrix& t, const std::string& id, caller c) {
                 return t.call("GET", "/api/v1/admin/appointments/" + id + "/deliveries", "", c);
               },
               admin_only(200), appt_state});
  r.push_back({"admin.deadletters.list", dl,
               [](authorization_matrix& t, const std::string& id, caller c) {
                 return t.call("GET", "/api/v1/admin/deadletters?reason=BadDeviceToken-" + id, "", c);
               },
               admin_only(200), dl_state});
  r.push_back({"admin.deadletters.show", dl,
               [](authorization_matrix& t, const std::string& id, caller c) {
                 return t.call("GET", "/api/v1/admin/deadletters/" + t.dead_letter_ids[id], "", c);
               },
               admin_only(200), dl_state});
  r.push_back({"admin.deadletters.replay", dl,
               [](authorization_matrix& t, const std::string& id, caller c) {
                 return t.call("POST", "/api/v1/admin/deadletters/" + t.dead_letter_ids[id] + "/replay", "", c);
               },
               admin_only(200), dl_state});
  r.push_back({"admin.deadletters.replay_matching", dl,
               [](authorization_matrix& t, const std::string& id, caller c) {
                 return t.call("POST", "/api/v1/admin/deadletters/replay?reason=BadDeviceToken-" + id, "", c);
               },
               admin_only(200), dl_state});
  r.push_back({"admin.deadletters.purge", dl,
               [](authorization_matrix& t, const std::string& id, caller c) {
                 return t.call("DELETE", "/api/v1/admin/deadletters?before=" + t.dead_letter_ids[id], "", c);
               },
               admin_only(200), dl_state});
  r.push_back({"readyz?verbose", dev,
               [](authorization_matrix& t, const std::string&, caller c) { return t.call("GET", "/readyz?verbose", "", c); },
               [](caller c) -> expectation {
                 if (c == caller::none) return {401, ""};
                 if (c == caller::service) return {200, "\"checks\""};
                 return {403, ""};  // admin.read only
               },
               owner_state});
  return r;
}

TEST_F(authorization_matrix, EveryRouteEveryCaller) {
  int cell = 0;
  for (const auto& rt : routes()) {
    for (caller c : all_callers) {
      SCOPED_TRACE(rt.name + " as " + name(c));
      const std::string id = "victim-" + std::to_string(++cell);
      rt.setup(*this, id);
      if (HasFatalFailure()) return;
      const auto before = rt.state(*this, id);
      auto res = rt.request(*this, id, c);
      auto want = rt.expect(c);
      EXPECT_EQ(res.status, want.status) << res.body;
      if (!want.body_has.empty()) {
        EXPECT_NE(res.body.find(want.body_has), std::string::npos) << res.body;
      }
      // A caller that proved possession sent the handle itself and may see it echoed.
      const bool may_see = c == caller::service || c == caller::owner || (c == caller::other_with_proof && res.status < 300);
      if (!may_see) {
        EXPECT_EQ(res.body.find(secret_handle + id), std::string::npos) << "foreign device data in the body: " << res.body;
        EXPECT_EQ(res.body.find(secret_title), std::string::npos) << "foreign appointment in the body: " << res.body;
      }
      const bool refused = res.status >= 400 || (c != caller::service && c != caller::owner && c != caller::other_with_proof);
      if (refused) {
        EXPECT_EQ(rt.state(*this, id), before) << "a refused request changed the victim's data";
      }
    }
  }
}

// The admin routes concern every associate: a bound credential is refused
// even with the admin scopes, and admin.write does not read.
TEST_F(authorization_matrix, AdminRoutesNeedAServiceCredential) {
  make_dead_letter("victim-a");
  ASSERT_FALSE(HasFatalFailure());
  const std::map<std::string, std::string> bound{{"Authorization", "Bearer " + bound_admin_token}};
  for (const auto& [method, target] : std::vector<std::pair<std::string, std::string>>{
           {"GET", "/api/v1/admin/devices/victim-a/deliveries"},
           {"GET", "/api/v1/admin/deadletters"},
           {"POST", "/api/v1/admin/deadletters/" + dead_letter_ids["victim-a"] + "/replay"},
           {"DELETE", "/api/v1/admin/deadletters?before=7d"}}) {
    auto r = client().request(method, target, "", bound);
    EXPECT_EQ(r.status, 403) << method << " " << target << ": " << r.body;
    EXPECT_NE(r.body.find("service credential"), std::string::npos) << r.body;
  }
  EXPECT_EQ(redis_.cli("EXISTS " + redis_key("deadletter:replayed:" + dead_letter_ids["victim-a"])), "0\n");
}

// Another associate's device answers exactly like an unknown one.
TEST_F(authorization_matrix, ForeignDeviceAnswersLikeUnknown) {
  make_device("victim-x");
  auto foreign_r = call("POST", pocket("GetPushNotificationTagsForDevice"), R"({"DeviceIdentifier":"victim-x"})", caller::other);
  auto unknown_r = call("POST", pocket("GetPushNotificationTagsForDevice"), R"({"DeviceIdentifier":"victim-y"})", caller::other);
  EXPECT_EQ(foreign_r.status, 404);
  EXPECT_EQ(foreign_r.status, unknown_r.status);
  EXPECT_EQ(replace_all(foreign_r.body, "victim-x", "ID"), replace_all(unknown_r.body, "victim-y", "ID"));
  auto ibm_foreign = call("GET", ibm("devices/victim-x"), "", caller::other);
  auto ibm_unknown = call("GET", ibm("devices/victim-y"), "", caller::other);
  EXPECT_EQ(ibm_foreign.status, 404);
  EXPECT_EQ(replace_all(ibm_foreign.body, "victim-x", "ID"), replace_all(ibm_unknown.body, "victim-y", "ID"));
}

// A phone handed to a new user keeps its push token: B registers A's
// DeviceIdentifier with the same PNSHandle and the device moves to B.
TEST_F(authorization_matrix, PhoneHandover) {
  make_device("handed-over");
  auto r = call("POST", pocket("RegisterDeviceForPushNotification"), register_body("handed-over", secret_handle + "handed-over"),
                caller::other);
  ASSERT_EQ(r.status, 204) << r.body;
  auto a = as_service("POST", pocket("GetRegisteredDevices"), R"({"AssociateId":42})");
  EXPECT_EQ(a.body.find("handed-over"), std::string::npos) << a.body;
  auto b = call("POST", pocket("GetRegisteredDevices"), "{}", caller::other);
  EXPECT_NE(b.body.find("handed-over"), std::string::npos) << b.body;
  // A stranger without the handle cannot take it back.
  auto back = call("POST", pocket("RegisterDeviceForPushNotification"), register_body("handed-over", "guess"), caller::owner);
  EXPECT_EQ(back.status, 409) << back.body;
  EXPECT_NE(back.body.find("SoConflictException"), std::string::npos) << back.body;
}

// IBM messages and broadcasts from a bound credential reach only its own devices.
TEST_F(authorization_matrix, BoundMessagesStayWithTheirAssociate) {
  make_device("victim-m");
  auto by_id = call("POST", ibm("messages"), R"({"message":{"alert":"hi"},"target":{"deviceIds":["victim-m"]}})", caller::other);
  EXPECT_EQ(by_id.status, 202) << by_id.body;  // accepted, the foreign device dropped like an unknown id
  auto to_other = call("POST", pocket("SendPushNotification"), R"({"AssociateIds":[919,42],"Message":{"Title":"x"}})", caller::other);
  EXPECT_EQ(to_other.status, 403) << to_other.body;
  auto to_self = call("POST", pocket("SendPushNotification"), R"({"AssociateIds":[919],"Message":{"Title":"x"}})", caller::other);
  EXPECT_EQ(to_self.status, 204) << to_self.body;
}

}  // namespace
}  // namespace herald::test
