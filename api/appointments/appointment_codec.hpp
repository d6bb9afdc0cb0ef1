#pragma once
// Pure decoding of PUT /api/v1/appointments/{id} bodies (docs/API.md, Appointments).
#include <string_view>

#include "api/common/api_error.hpp"
#include "model/appointment.hpp"

namespace herald {

// {"AssociateIds":[919],"Title","Location","StartDate","EndDate","HasAlarm",
// "AlarmLeadTime":"00:15:00","Type","Private"}; names case-insensitive.
decoded<appointment> decode_appointment_request(std::string_view json, std::string_view appointment_id);
std::string encode_appointment_response(const appointment& a);

}  // namespace herald
