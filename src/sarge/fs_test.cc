#include "sarge/fs.h"

#include <sys/stat.h>

#include <fstream>

#include <gtest/gtest.h>

#include "sarge/error.h"
#include "sarge/test_util.h"

namespace sarge {
namespace {

using testing::ScopedTempDir;

TEST(MakeDirsTest, ReturnsTheHighestFolderItCreated) {
  ScopedTempDir tmp;
  // Only the last folder missing: the common case, one mkdir.
  EXPECT_EQ(MakeDirs(tmp.path() / "a"), tmp.path() / "a");
  EXPECT_TRUE(fs::is_directory(tmp.path() / "a"));
  // Parents missing too.
  EXPECT_EQ(MakeDirs(tmp.path() / "b" / "c" / "d"), tmp.path() / "b");
  EXPECT_TRUE(fs::is_directory(tmp.path() / "b" / "c" / "d"));
  // Already there: nothing created, nothing to undo.
  EXPECT_EQ(MakeDirs(tmp.path() / "b" / "c"), fs::path());
}

TEST(MakeDirsTest, GivesTheModeToFoldersOldAndNew) {
  ScopedTempDir tmp;
  MakeDirs(tmp.path() / "new", 0700);
  fs::create_directory(tmp.path() / "old");
  MakeDirs(tmp.path() / "old", 0700);
  for (const char* name : {"new", "old"}) {
    struct stat st {};
    ASSERT_EQ(::stat((tmp.path() / name).c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0700u) << name;
  }
}

TEST(MakeDirsTest, AFileInTheWayIsAnError) {
  ScopedTempDir tmp;
  std::ofstream(tmp.path() / "f") << "x";
  for (const fs::path& path : {tmp.path() / "f", tmp.path() / "f" / "g"}) {
    try {
      MakeDirs(path);
      ADD_FAILURE() << path << " was accepted";
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()).rfind("cannot create " + path.string() + ": ", 0), 0u)
          << e.what();
    }
  }
}

}  // namespace
}  // namespace sarge
