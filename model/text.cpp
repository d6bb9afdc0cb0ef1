#include "model/text.hpp"

namespace herald {

std::string xml_escape(std::string_view text, xml_controls controls) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r') {
          if (controls == xml_controls::replace) out += "&#xFFFD;";
        } else {
          out.push_back(c);
        }
    }
  }
  return out;
}

}  // namespace herald
