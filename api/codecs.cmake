# The pure halves of the API (bytes <-> values, content negotiation,
# credentials and the authorization rules), relative to api/. One list for
# the two builds that compile them: herald_api_codecs in api/CMakeLists.txt
# and the same-named target of the clang fuzzing build (tests/fuzz).
set(HERALD_API_CODEC_SOURCES
  common/agent_value.cpp
  common/negotiation.cpp
  access/auth.cpp
  access/authorization.cpp
  pocket/pocket_codec.cpp
  foreign_system/foreign_system_codec.cpp
  soap/soap_codec.cpp
  ibm/ibm_codec.cpp
  appointments/appointment_codec.cpp
  admin/admin_codec.cpp)
