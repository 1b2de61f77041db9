#include "zone/wire/name.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

using namespace zone::wire;

namespace {

std::string W(const char* text) {
  auto n = name_from_text(text);
  EXPECT_TRUE(n) << text;
  return n ? *n : std::string();
}

struct ReadResult {
  NameError err;
  std::string name;
  size_t pos;
};

ReadResult read_at(const std::string& msg, size_t pos) {
  uint8_t out[kMaxNameLen];
  size_t out_len = 0;
  NameError e = read_name(reinterpret_cast<const uint8_t*>(msg.data()), msg.size(), pos, out,
                          out_len);
  return {e, e == NameError::ok ? std::string(reinterpret_cast<char*>(out), out_len) : "", pos};
}

// A 12-byte header of zeros, so that offsets in tests match real messages.
std::string header() { return std::string(12, '\0'); }

}  // namespace

TEST(Name, FromTextAbsoluteAndRelative) {
  auto com = name_from_text("Example.COM.");
  ASSERT_TRUE(com);
  EXPECT_EQ(*com, std::string("\7Example\3COM\0", 13));
  auto www = name_from_text("www", *com);
  ASSERT_TRUE(www);
  EXPECT_EQ(name_to_text(*www), "www.Example.COM.");
  EXPECT_EQ(*name_from_text("@", *com), *com);
  EXPECT_FALSE(name_from_text("www"));  // relative without origin
}

TEST(ReadName, Uncompressed) {
  std::string msg = header() + std::string("\3www\7example\3com\0", 17) + "XY";
  auto r = read_at(msg, 12);
  ASSERT_EQ(r.err, NameError::ok);
  EXPECT_EQ(r.name, W("www.example.com."));
  EXPECT_EQ(r.pos, 12u + 17u);
}

TEST(ReadName, FollowsBackwardPointerAndAdvancesPastIt) {
  // example.com at 12, then "www" + pointer to 12 at 25.
  std::string msg = header() + std::string("\7example\3com\0", 13) +
                    std::string("\3www\xC0\x0C", 6) + "tail";
  auto r = read_at(msg, 25);
  ASSERT_EQ(r.err, NameError::ok);
  EXPECT_EQ(r.name, W("www.example.com."));
  EXPECT_EQ(r.pos, 31u);  // just past the pointer, not past the pointed-to name
}

TEST(ReadName, ChainOfBackwardPointers) {
  // com at 12, example+ptr(12) at 17, www+ptr(17) at 27.
  std::string msg = header() + std::string("\3com\0", 5) + std::string("\7example\xC0\x0C", 10) +
                    std::string("\3www\xC0\x11", 6);
  auto r = read_at(msg, 27);
  ASSERT_EQ(r.err, NameError::ok);
  EXPECT_EQ(r.name, W("www.example.com."));
  EXPECT_EQ(r.pos, 33u);
}

TEST(ReadName, PointerToItselfRejected) {
  std::string msg = header() + std::string("\xC0\x0C", 2);
  EXPECT_EQ(read_at(msg, 12).err, NameError::bad_pointer);
}

TEST(ReadName, ForwardPointerRejected) {
  std::string msg = header() + std::string("\xC0\x0E", 2) + std::string("\3com\0", 5);
  EXPECT_EQ(read_at(msg, 12).err, NameError::bad_pointer);
}

TEST(ReadName, LoopThroughTwoPointersRejected) {
  // at 12: "a" + ptr(16); at 16: "b" + ptr(12). Reading from 16 goes 16 -> 12 -> 16.
  std::string msg = header() + std::string("\1a\xC0\x10", 4) + std::string("\1b\xC0\x0C", 4);
  EXPECT_EQ(read_at(msg, 16).err, NameError::bad_pointer);
  EXPECT_EQ(read_at(msg, 12).err, NameError::bad_pointer);
}

TEST(ReadName, LabelLongerThan63Rejected) {
  std::string msg = header() + std::string(1, '\x40') + std::string(64, 'a') + std::string(1, '\0');
  EXPECT_EQ(read_at(msg, 12).err, NameError::bad_label);
  // 63 is fine.
  std::string ok = header() + std::string(1, '\x3F') + std::string(63, 'a') + std::string(1, '\0');
  EXPECT_EQ(read_at(ok, 12).err, NameError::ok);
}

TEST(ReadName, NameLongerThan255Rejected) {
  std::string label = std::string(1, '\x3F') + std::string(63, 'a');
  // 3*64 + (1+61) + 1 = 255 bytes: the longest legal name.
  std::string max = label + label + label + std::string(1, '\x3D') + std::string(61, 'b') +
                    std::string(1, '\0');
  ASSERT_EQ(max.size(), 255u);
  auto r = read_at(header() + max, 12);
  EXPECT_EQ(r.err, NameError::ok);
  EXPECT_EQ(r.name.size(), 255u);
  std::string over = label + label + label + std::string(1, '\x3E') + std::string(62, 'b') +
                     std::string(1, '\0');
  ASSERT_EQ(over.size(), 256u);
  EXPECT_EQ(read_at(header() + over, 12).err, NameError::too_long);
}

TEST(ReadName, NameLongerThan255ThroughPointersRejected) {
  // Each step adds a 63-byte label in front of the previous name by pointing back at it.
  std::string msg = header();
  msg += std::string(1, '\0');  // root at 12
  size_t prev = 12;
  for (int i = 0; i < 5; ++i) {
    size_t here = msg.size();
    msg += std::string(1, '\x3F') + std::string(63, 'a' + i);
    msg += static_cast<char>(0xC0 | (prev >> 8));
    msg += static_cast<char>(prev & 0xFF);
    prev = here;
  }
  EXPECT_EQ(read_at(msg, prev).err, NameError::too_long);
}

TEST(ReadName, TruncatedInputs) {
  EXPECT_EQ(read_at(header() + "\7exam", 12).err, NameError::truncated);
  EXPECT_EQ(read_at(header() + std::string("\3com", 4), 12).err, NameError::truncated);  // no root
  EXPECT_EQ(read_at(header() + std::string("\3com\xC0", 5), 12).err, NameError::truncated);
  EXPECT_EQ(read_at(header(), 12).err, NameError::truncated);
}

TEST(ReadName, ExtendedLabelTypesRejected) {
  EXPECT_EQ(read_at(header() + std::string("\x41\x01\0", 3), 12).err, NameError::bad_label);
  EXPECT_EQ(read_at(header() + std::string("\x80\x01\0", 3), 12).err, NameError::bad_label);
}

struct TextCase {
  const char* text;
  std::string wire;
  const char* back;  // name_to_text of the wire form
};

class NameText : public ::testing::TestWithParam<TextCase> {};

TEST_P(NameText, RoundTrip) {
  const auto& c = GetParam();
  auto w = name_from_text(c.text);
  ASSERT_TRUE(w) << c.text;
  EXPECT_EQ(*w, c.wire) << c.text;
  EXPECT_EQ(name_to_text(*w), c.back);
  auto again = name_from_text(name_to_text(*w));
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, *w);
}

INSTANTIATE_TEST_SUITE_P(
    Escapes, NameText,
    ::testing::Values(
        TextCase{".", std::string("\0", 1), "."},
        TextCase{"www.example.com.", std::string("\3www\7example\3com\0", 17), "www.example.com."},
        TextCase{"a\\.b.example.", std::string("\3a.b\7example\0", 13), "a\\.b.example."},
        TextCase{"sp\\032ace.", std::string("\6sp ace\0", 8), "sp\\032ace."},
        TextCase{"\\065bc.", std::string("\3Abc\0", 5), "Abc."},
        TextCase{"back\\\\slash.", std::string("\12back\\slash\0", 12), "back\\\\slash."},
        TextCase{"\\128\\255.", std::string("\2\x80\xFF\0", 4), "\\128\\255."},
        TextCase{"semi\\;colon.", std::string("\12semi;colon\0", 12), "semi\\;colon."},
        TextCase{"*.wild.example.", std::string("\1*\4wild\7example\0", 16), "*.wild.example."}));

TEST(NameText, RelativeNamesUseOrigin) {
  std::string origin = W("example.com.");
  EXPECT_EQ(*name_from_text("a.b", origin), W("a.b.example.com."));
  EXPECT_EQ(*name_from_text("a\\.b", origin), std::string("\3a.b", 4) + origin);
  EXPECT_EQ(*name_from_text("abs.example.org.", origin), W("abs.example.org."));
}

TEST(NameText, TrailingEscapedBackslashIsAbsolute) {
  // "a\\." is the label `a\` followed by the root: absolute, origin not appended.
  std::string origin = W("example.com.");
  auto n = name_from_text("a\\\\.", origin);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, std::string("\2a\\\0", 4));
  // While "a\." is the relative single label `a.`.
  auto r = name_from_text("a\\.", origin);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, std::string("\2a.", 3) + origin);
}

TEST(NameText, MalformedRejected) {
  EXPECT_FALSE(name_from_text(""));
  EXPECT_FALSE(name_from_text("a..b."));
  EXPECT_FALSE(name_from_text((std::string(64, 'a') + ".").c_str()));
  EXPECT_TRUE(name_from_text((std::string(63, 'a') + ".").c_str()));
  std::string l63 = std::string(63, 'a') + ".";
  // 4 labels of 63 = 256 bytes on the wire: too long.
  EXPECT_FALSE(name_from_text(l63 + l63 + l63 + l63));
  // 3 labels of 63 + one of 61 = 255 bytes: fits.
  EXPECT_TRUE(name_from_text(l63 + l63 + l63 + std::string(61, 'b') + "."));
  // A relative name that only gets too long once the origin is appended.
  std::string origin = W("example.com.");
  EXPECT_FALSE(name_from_text(l63 + l63 + l63 + std::string(61, 'b'), origin));
}

TEST(NameOps, IsSubdomain) {
  EXPECT_TRUE(is_subdomain(W("www.example.com."), W("example.com.")));
  EXPECT_TRUE(is_subdomain(W("example.com."), W("example.com.")));
  EXPECT_TRUE(is_subdomain(W("a.b.c.example.com."), W("example.com.")));
  EXPECT_TRUE(is_subdomain(W("example.com."), W(".")));
  EXPECT_FALSE(is_subdomain(W("com."), W("example.com.")));
  EXPECT_FALSE(is_subdomain(W("fooexample.com."), W("example.com.")));  // not at a label boundary
  EXPECT_FALSE(is_subdomain(W("www.example.org."), W("example.com.")));
  // A label whose bytes look like the parent's wire form.
  EXPECT_FALSE(is_subdomain(std::string("\x0c\x07""example\x03""com") + W("org."),
                            W("example.com.")));
}

TEST(NameOps, LowerAndCompareIgnoreCase) {
  EXPECT_EQ(lowered(W("WwW.ExAmPlE.CoM.")), W("www.example.com."));
  EXPECT_TRUE(names_equal_ci(W("WWW.example.COM."), W("www.EXAMPLE.com.")));
  EXPECT_FALSE(names_equal_ci(W("www.example.com."), W("ww1.example.com.")));
  EXPECT_EQ(label_count(W("a.b.c.")), 3);
  EXPECT_EQ(label_count(W(".")), 0);
  EXPECT_EQ(parent_name(W("a.b.")), W("b."));
  EXPECT_EQ(parent_name(W(".")), W("."));
}

TEST(NameOps, CanonicalOrderRfc4034) {
  // RFC 4034 section 6.1 example, already lowercased.
  std::vector<std::string> ordered = {
      W("example."),          W("a.example."),   W("yljkjljk.a.example."),
      W("z.a.example."),      W("zabc.a.example."), W("z.example."),
      W("\\001.z.example."), W("*.z.example."), W("\\200.z.example.")};
  for (size_t i = 0; i < ordered.size(); ++i) {
    EXPECT_EQ(canonical_compare(ordered[i], ordered[i]), 0);
    for (size_t j = i + 1; j < ordered.size(); ++j) {
      EXPECT_LT(canonical_compare(ordered[i], ordered[j]), 0) << i << " " << j;
      EXPECT_GT(canonical_compare(ordered[j], ordered[i]), 0) << i << " " << j;
    }
  }
  auto shuffled = ordered;
  std::mt19937 rng(42);
  std::shuffle(shuffled.begin(), shuffled.end(), rng);
  std::sort(shuffled.begin(), shuffled.end(),
            [](const std::string& a, const std::string& b) { return canonical_compare(a, b) < 0; });
  EXPECT_EQ(shuffled, ordered);
}
