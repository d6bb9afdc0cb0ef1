#include "api/common/negotiation.hpp"

#include <gtest/gtest.h>

namespace herald {
namespace {

TEST(Negotiation, Accept) {
  EXPECT_EQ(negotiate_accept(""), media_type::json);
  EXPECT_EQ(negotiate_accept("application/json; charset=utf-8"), media_type::json);
  EXPECT_EQ(negotiate_accept("text/json"), media_type::json);
  EXPECT_EQ(negotiate_accept("application/xml"), media_type::xml);
  EXPECT_EQ(negotiate_accept("text/xml"), media_type::xml);
  EXPECT_EQ(negotiate_accept("*/*"), media_type::json);
  EXPECT_EQ(negotiate_accept("application/json;q=0.5, application/xml"), media_type::xml);
  EXPECT_EQ(negotiate_accept("text/html, application/xml;q=0.9"), media_type::xml);
  EXPECT_EQ(negotiate_accept("text/html"), std::nullopt);
  EXPECT_EQ(negotiate_accept("application/json;q=0"), std::nullopt);
}

TEST(Negotiation, ContentType) {
  EXPECT_EQ(request_media_type("application/json; charset=utf-8"), media_type::json);
  EXPECT_EQ(request_media_type("Text/JSON"), media_type::json);
  EXPECT_EQ(request_media_type("application/xml"), media_type::xml);
  EXPECT_EQ(request_media_type("text/plain"), std::nullopt);
  EXPECT_EQ(request_media_type(""), std::nullopt);
}

TEST(Negotiation, Select) {
  auto s = parse_select(" Name, department ,category/id,,NAME");
  EXPECT_EQ(s.names, (std::vector<std::string>{"name", "department", "category"}));
  EXPECT_TRUE(s.includes("Department"));
  EXPECT_FALSE(s.includes("PNSHandle"));
  EXPECT_TRUE(parse_select("").all());
  EXPECT_TRUE(parse_select(",,").all());
}

TEST(Negotiation, QueryParameters) {
  EXPECT_EQ(query_parameter("/x?$select=a,b", "$select"), "a,b");
  EXPECT_EQ(query_parameter("/x?%24select=a%2Cb&y=1", "$select"), "a,b");
  EXPECT_EQ(query_parameter("/x?y=1", "$select"), std::nullopt);
  EXPECT_EQ(target_path("/a/b?c=d"), "/a/b");
}

}  // namespace
}  // namespace herald
