#include "api/common/negotiation.hpp"

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include <algorithm>
#include <charconv>

#include "model/text.hpp"

namespace herald {

namespace {
std::optional<media_type> media_of(std::string_view type) {
  if (type == "application/json" || type == "text/json" || type == "application/json-patch+json" ||
      type == "application/merge-patch+json")
    return media_type::json;
  if (type == "application/xml" || type == "text/xml") return media_type::xml;
  return std::nullopt;
}
}  // namespace

void for_each_accept_item(std::string_view accept, const std::function<void(std::string_view, double)>& fn) {
  std::size_t pos = 0;
  while (pos <= accept.size()) {
    auto comma = accept.find(',', pos);
    auto item = accept.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
    pos = comma == std::string_view::npos ? accept.size() + 1 : comma + 1;
    auto semi = item.find(';');
    auto type = to_lower(trim(item.substr(0, semi)));
    double q = 1.0;
    if (semi != std::string_view::npos) {
      auto params = to_lower(item.substr(semi + 1));
      if (auto qpos = params.find("q="); qpos != std::string::npos) {
        auto value = trim(std::string_view(params).substr(qpos + 2));
        value = value.substr(0, value.find(';'));
        q = 0;  // a malformed q-value counts as "not acceptable"
        std::from_chars(value.data(), value.data() + value.size(), q);
      }
    }
    fn(type, q);
  }
}

std::optional<media_type> negotiate_accept(std::string_view accept) {
  if (trim(accept).empty()) return media_type::json;
  double best_q = 0;
  std::optional<media_type> best;
  for_each_accept_item(accept, [&](std::string_view type, double q) {
    if (q <= 0) return;
    std::optional<media_type> m;
    if (type == "*/*" || type == "application/*" || type == "text/*") m = media_type::json;
    else m = media_of(type);
    if (m && q > best_q) {
      best_q = q;
      best = m;
    }
  });
  return best;
}

std::optional<media_type> request_media_type(std::string_view content_type) {
  auto type = to_lower(trim(content_type.substr(0, content_type.find(';'))));
  return media_of(type);
}

bool field_selection::includes(std::string_view property) const {
  if (all()) return true;
  auto p = to_lower(property);
  return std::find(names.begin(), names.end(), p) != names.end();
}

field_selection parse_select(std::string_view value) {
  field_selection sel;
  std::size_t pos = 0;
  while (pos <= value.size()) {
    auto comma = value.find(',', pos);
    auto item = trim(value.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos));
    pos = comma == std::string_view::npos ? value.size() + 1 : comma + 1;
    // "category/id" selects inside "category": the top-level property is kept.
    item = item.substr(0, item.find('/'));
    if (item.empty()) continue;
    auto name = to_lower(item);
    if (std::find(sel.names.begin(), sel.names.end(), name) == sel.names.end()) sel.names.push_back(std::move(name));
    if (sel.names.size() >= 64) break;  // bound: a select list longer than any result type
  }
  return sel;
}

std::optional<std::string> query_parameter(std::string_view target, std::string_view name) {
  auto parsed = boost::urls::parse_origin_form(target);
  if (!parsed) return std::nullopt;
  for (auto param : parsed->params()) {
    if (param.key == name) return std::string(param.value);
  }
  return std::nullopt;
}

std::string_view target_path(std::string_view target) { return target.substr(0, target.find('?')); }

}  // namespace herald
