#include <gtest/gtest.h>

#include "cleancache/backend.h"
#include "cleancache/status.h"

namespace cleancache {
namespace {

TEST(Uuid, ParsesCanonicalAndBareForms) {
  auto canonical = Uuid::Parse("0123ABCD-4567-89ab-cdef-0011223344ff");
  ASSERT_TRUE(canonical.ok()) << canonical.status().ToString();
  EXPECT_EQ(canonical->bytes[0], 0x01);
  EXPECT_EQ(canonical->bytes[3], 0xCD);
  EXPECT_EQ(canonical->bytes[15], 0xFF);
  EXPECT_EQ(canonical->ToString(), "0123abcd-4567-89ab-cdef-0011223344ff");
  auto bare = Uuid::Parse("0123abcd456789abcdef0011223344ff");
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare.value(), canonical.value());
  EXPECT_EQ(Uuid::Parse(canonical->ToString()).value(), canonical.value());
}

TEST(Uuid, RejectsMalformedText) {
  struct Case {
    const char* text;
    const char* message_part;
  } cases[] = {
      {"", "wrong length"},
      {"0123abcd-4567-89ab-cdef-0011223344f", "wrong length"},
      {"0123abcd-4567-89ab-cdef-0011223344fff", "wrong length"},
      {"0123abcd+4567-89ab-cdef-0011223344ff", "expected '-' at position 9"},
      {"0123abcd-4567-89ab-cdef-0011223344fg", "'g' at position 36"},
      {"0123abcd456789abcdef0011223344f-", "'-' at position 32"},
  };
  for (const auto& c : cases) {
    auto parsed = Uuid::Parse(c.text);
    ASSERT_FALSE(parsed.ok()) << c.text;
    EXPECT_EQ(parsed.status().code(), Status::Code::kInvalidArgument);
    EXPECT_NE(parsed.status().message().find(c.message_part), std::string::npos) << parsed.status().message();
  }
}

TEST(Status, ToStringNamesTheCodeAndMessage) {
  EXPECT_EQ(Status::Ok().ToString(), "ok");
  EXPECT_EQ(Status::InvalidArgument("unknown option 'foo'").ToString(), "invalid argument: unknown option 'foo'");
  EXPECT_EQ(Status::Busy("x").ToString(), "busy: x");
  EXPECT_EQ(Status::IOError("x").ToString(), "I/O error: x");
  EXPECT_EQ(Status::NotFound("").ToString(), "not found");
  EXPECT_EQ(Status::NotSupported("x").code(), Status::Code::kNotSupported);
  EXPECT_EQ(Status::PermissionDenied("x").ToString(), "permission denied: x");
  EXPECT_EQ(Status::Unavailable("x").ToString(), "unavailable: x");
  EXPECT_EQ(Status::Corruption("x").ToString(), "corruption: x");
  Result<int> failed = Status::NotFound("gone");
  EXPECT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().message(), "gone");
}

}  // namespace
}  // namespace cleancache
