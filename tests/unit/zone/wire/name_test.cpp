#include "zone/wire/name.h"

#include <gtest/gtest.h>

using namespace zone::wire;

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
