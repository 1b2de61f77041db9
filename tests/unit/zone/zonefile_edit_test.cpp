// zone/zonefile_edit: the zone file edited as a person would (regressions of "an operator's
// first days", 2: a multi-line SOA lost its comments and became one line, a blank-owner line
// got an owner, and a file edited since the last load was refused without saying why).
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <fstream>
#include <iterator>
#include <regex>

#include "tests/unit/test_support.h"
#include "zone/changeset.h"
#include "zone/loader.h"
#include "zone/zonefile_edit.h"

using namespace zone;
using test_support::TempDir;
using test_support::W;

namespace {

const std::string kOrigin = W("example.com.");

std::shared_ptr<const Zone> parse(const std::string& text) {
  LoadResult r = load_zone_text(text, kOrigin, "t.zone");
  for (const auto& e : r.errors) ADD_FAILURE() << e.str();
  return r.zone;
}

std::string read(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The stamp of "; added by zoned STAMP (serial N)" made predictable.
std::string unstamped(const std::string& text) {
  return std::regex_replace(text, std::regex("; added by zoned \\S+ "), "; added by zoned STAMP ");
}

// Edits the file holding `before` into `after` (a changeset from their difference).
struct Edit {
  TempDir dir;
  std::string path;
  bool ok = false;
  std::string error;
  Edit(const std::string& before, const std::string& after, const std::string& on_disk = {}) {
    path = dir.write("example.com.zone", on_disk.empty() ? before : on_disk);
    auto from = parse(before), to = parse(after);
    if (!from || !to) return;
    Changeset c = diff_zones(*from, *to);
    ok = edit_zone_file(path, kOrigin, c, *to, error);
  }
  std::string text() const { return unstamped(read(path)); }
};

const std::string kZone =
    "; example.com: the parent\n"
    "$ORIGIN example.com.\n"
    "$TTL 300\n"
    "@       IN SOA  ns1 hostmaster (\n"
    "                2024010101 ; serial\n"
    "                3600       ; refresh\n"
    "                600 86400 60 )\n"
    "        IN NS   ns1\n"
    "        IN NS   ns2\n"
    "ns1     IN A    192.0.2.1\n"
    "ns2     IN A    192.0.2.2\n"
    "www     IN A    192.0.2.80   ; the web server\n"
    "        IN TXT  \"keep me\"\n"
    "legacy  IN NS   ns1.legacy\n"
    "        IN NS   ns2.legacy\n"
    "ns1.legacy IN A 192.0.2.51\n"
    "ns2.legacy IN A 192.0.2.52\n"
    "        IN TXT  \"below the cut\"\n";

std::string replaced(std::string s, const std::string& from, const std::string& to) {
  auto p = s.find(from);
  EXPECT_NE(p, std::string::npos) << from;
  if (p != std::string::npos) s.replace(p, from.size(), to);
  return s;
}

}  // namespace

TEST(ZonefileEdit, SerialChangesInPlaceInAMultiLineSoaWithItsComments) {
  std::string after = replaced(kZone, "2024010101", "2024010102") + "new IN A 192.0.2.99\n";
  Edit e(kZone, after);
  ASSERT_TRUE(e.ok) << e.error;
  EXPECT_EQ(e.text(), replaced(kZone, "2024010101 ; serial", "2024010102 ; serial") +
                          "; added by zoned STAMP (serial 2024010102)\n"
                          "new     IN A 192.0.2.99\n");
}

TEST(ZonefileEdit, SerialChangesInPlaceInAOneLineSoa) {
  std::string before =
      "example.com. 300 IN SOA ns1.example.com. hm.example.com. 7 3600 600 86400 60 ; one line\n"
      "example.com. 300 IN NS ns1.example.com.\n"
      "ns1.example.com. 300 IN A 192.0.2.1\n";
  std::string after = replaced(before, " 7 3600", " 8 3600") + "www.example.com. 300 IN A 192.0.2.7\n";
  Edit e(before, after);
  ASSERT_TRUE(e.ok) << e.error;
  // An all-absolute file gets absolute names; the TTL is written (there is no $TTL).
  EXPECT_EQ(e.text(), replaced(before, " 7 3600", " 8 3600") +
                          "; added by zoned STAMP (serial 8)\n"
                          "www.example.com. 300 IN A 192.0.2.7\n");
}

TEST(ZonefileEdit, BlankOwnerLinesAfterTheSoaStayBlank) {
  std::string after = replaced(kZone, "2024010101", "2024010102");
  after = replaced(after, "www     IN A    192.0.2.80   ; the web server\n",
                   "www     IN A    192.0.2.81   ; the web server\n");
  Edit e(kZone, after);
  ASSERT_TRUE(e.ok) << e.error;
  std::string t = e.text();
  EXPECT_NE(t.find("                600 86400 60 )\n        IN NS   ns1\n        IN NS   ns2\n"),
            std::string::npos)
      << t;
  // The removed www line carried the owner of the TXT after it: the TXT gets it written.
  EXPECT_NE(t.find("\nwww     IN TXT  \"keep me\"\n"), std::string::npos) << t;
  EXPECT_EQ(t.find("192.0.2.80"), std::string::npos) << t;
  EXPECT_NE(t.find("; added by zoned STAMP (serial 2024010102)\nwww     IN A 192.0.2.81\n"),
            std::string::npos)
      << t;
}

TEST(ZonefileEdit, RemovedLinesGoAndFollowingBlankOwnerLinesKeepTheirMeaning) {
  // Undelegate legacy: NS (explicit owner and a blank-owner line) and its glue.
  std::string after = replaced(kZone, "2024010101", "2024010102");
  after = replaced(after,
                   "legacy  IN NS   ns1.legacy\n"
                   "        IN NS   ns2.legacy\n"
                   "ns1.legacy IN A 192.0.2.51\n"
                   "ns2.legacy IN A 192.0.2.52\n",
                   "ns2.legacy IN A 192.0.2.52\n");
  after = replaced(after, "ns2.legacy IN A 192.0.2.52\n", "");
  after += "ns2.legacy IN TXT \"below the cut\"\n";
  after = replaced(after, "        IN TXT  \"below the cut\"\n", "");
  Edit e(kZone, after);
  ASSERT_TRUE(e.ok) << e.error;
  std::string want = replaced(kZone, "2024010101 ; serial", "2024010102 ; serial");
  want = replaced(want,
                  "legacy  IN NS   ns1.legacy\n"
                  "        IN NS   ns2.legacy\n"
                  "ns1.legacy IN A 192.0.2.51\n"
                  "ns2.legacy IN A 192.0.2.52\n"
                  "        IN TXT  \"below the cut\"\n",
                  "ns2.legacy IN TXT  \"below the cut\"\n");
  EXPECT_EQ(e.text(), want);
}

TEST(ZonefileEdit, AddedRecordsAreGroupedByOwnerInTheFilesStyle) {
  std::string after = replaced(kZone, "2024010101", "2024010102") +
                      "shop 3600 IN NS ns1.shop\nshop 3600 IN NS ns2.shop\n"
                      "ns1.shop 3600 IN A 192.0.2.151\nns2.shop 3600 IN A 192.0.2.152\n";
  Edit e(kZone, after);
  ASSERT_TRUE(e.ok) << e.error;
  EXPECT_EQ(e.text(), replaced(kZone, "2024010101 ; serial", "2024010102 ; serial") +
                          "; added by zoned STAMP (serial 2024010102)\n"
                          "shop    3600 IN NS ns1.shop.example.com.\n"
                          "        3600 IN NS ns2.shop.example.com.\n"
                          "ns1.shop 3600 IN A 192.0.2.151\n"
                          "ns2.shop 3600 IN A 192.0.2.152\n");
}

TEST(ZonefileEdit, AFileEditedSinceItWasLoadedIsRefusedWithTheDifference) {
  std::string after = replaced(kZone, "2024010101", "2024010102") + "new IN A 192.0.2.99\n";
  std::string hand = replaced(kZone, "www     IN A    192.0.2.80", "www     IN A    192.0.2.1");
  Edit e(kZone, after, hand);
  ASSERT_FALSE(e.ok);
  // A change already committed, waiting to be written: the advice is the merge, not "repeat".
  EXPECT_NE(e.error.find("zone file " + e.path +
                         " changed since it was loaded: zonectl reload merges the edit"),
            std::string::npos)
      << e.error;
  EXPECT_NE(e.error.find("- www.example.com. 300 IN A 192.0.2.80 (served, not in the file)"),
            std::string::npos)
      << e.error;
  EXPECT_NE(e.error.find("+ www.example.com. 300 IN A 192.0.2.1 (line 12)"), std::string::npos)
      << e.error;
  EXPECT_EQ(read(e.path), hand);  // untouched
}

TEST(ZonefileEdit, ASerialPolicySerialInTheServedZoneIsNotADifference) {
  // Served with serial 2024010105 (serial-policy increment), the file still says ...01.
  std::string served = replaced(kZone, "2024010101", "2024010105");
  std::string after = replaced(kZone, "2024010101", "2024010106") + "new IN A 192.0.2.99\n";
  Edit e(served, after, kZone);
  ASSERT_TRUE(e.ok) << e.error;
  EXPECT_NE(e.text().find("2024010106 ; serial"), std::string::npos) << e.text();
}

TEST(ZonefileEdit, SeveralChangesetsAreOneEdit) {
  auto z0 = parse(kZone);
  std::string t1 = replaced(kZone, "2024010101", "2024010102") + "a IN A 192.0.2.11\n";
  std::string t2 = replaced(t1, "2024010102", "2024010103");
  t2 = replaced(t2, "a IN A 192.0.2.11\n", "b IN A 192.0.2.12\n");
  auto z1 = parse(t1), z2 = parse(t2);
  ASSERT_TRUE(z0 && z1 && z2);
  TempDir dir;
  std::string path = dir.write("example.com.zone", kZone);
  ::chmod(path.c_str(), 0640);
  std::string error;
  ASSERT_TRUE(edit_zone_file(path, kOrigin, {diff_zones(*z0, *z1), diff_zones(*z1, *z2)}, *z2, error))
      << error;
  EXPECT_EQ(unstamped(read(path)), replaced(kZone, "2024010101 ; serial", "2024010103 ; serial") +
                                       "; added by zoned STAMP (serial 2024010103)\n"
                                       "b       IN A 192.0.2.12\n");
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);  // the file keeps its mode
}

TEST(ZonefileEdit, ARecordInAnIncludedFileIsLeftToTheOperator) {
  TempDir dir;
  dir.write("more.inc", "more IN A 192.0.2.77\n");
  std::string main_text = kZone + "$INCLUDE more.inc example.com.\n";
  std::string path = dir.write("example.com.zone", main_text);
  LoadResult before = load_zone_file(path, kOrigin);
  ASSERT_TRUE(before.ok());
  std::string after_text = replaced(kZone, "2024010101", "2024010102");
  auto after = parse(after_text);
  ASSERT_TRUE(after);
  std::string error;
  EXPECT_FALSE(edit_zone_file(path, kOrigin, diff_zones(*before.zone, *after), *after, error));
  EXPECT_NE(error.find("is in the $INCLUDE file"), std::string::npos) << error;
  EXPECT_EQ(read(path), main_text);
}
