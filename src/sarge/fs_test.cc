#include "sarge/fs.h"

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include <gtest/gtest.h>

#include "sarge/error.h"
#include "sarge/test_util.h"

namespace sarge {
namespace {

using testing::ScopedTempDir;

TEST(SpecialKindTest, NamesWhatIsNeitherAFileNorAFolder) {
  ScopedTempDir tmp;
  fs::path fifo = tmp.path() / "fifo", link = tmp.path() / "link";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  fs::create_symlink("nowhere", link);
  auto kind = [](const fs::path& path) {
    struct stat st {};
    EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
    const char* k = SpecialKind(st.st_mode);
    return std::string(k ? k : "none");
  };
  EXPECT_EQ(kind(fifo), "a FIFO");
  EXPECT_EQ(kind(link), "a symlink");
  EXPECT_EQ(kind("/dev/null"), "a device node");
  EXPECT_EQ(kind(tmp.path()), "none");
  EXPECT_EQ(kind("/proc/self/stat"), "none");
}

TEST(ChangeModeTest, SetsTheModeOrSaysWhyNot) {
  ScopedTempDir tmp;
  fs::path file = tmp.path() / "f";
  WriteFileAtomic(file, "x", 0600);
  ChangeMode(file, 0640);
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  try {
    ChangeMode(tmp.path() / "gone", 0600);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "cannot set the mode 0600 of " +
                                         (tmp.path() / "gone").string() +
                                         ": No such file or directory");
  }
}

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

class AtomicFileTest : public ::testing::Test {
 protected:
  static std::string Tmp(const fs::path& path) {
    return path.string() + ".tmp-" + std::to_string(::getpid());
  }
  static mode_t Mode(const fs::path& path) {
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
    return st.st_mode & 07777;
  }
};

TEST_F(AtomicFileTest, TheTemporaryFileHoldsTheContentUntilCommitPutsItInPlace) {
  ScopedTempDir tmp;
  fs::path path = tmp.path() / "record.json";
  WriteFileAtomic(path, "old", 0644);
  {
    AtomicFile file(path, "new", 0600);
    EXPECT_EQ(ReadFile(path), "old");
    EXPECT_EQ(ReadFile(Tmp(path)), "new");
    EXPECT_EQ(Mode(Tmp(path)), 0600u);
    file.Commit();
  }
  EXPECT_EQ(ReadFile(path), "new");
  EXPECT_EQ(Mode(path), 0600u);
  EXPECT_EQ(std::distance(fs::directory_iterator(tmp.path()), fs::directory_iterator()), 1);
}

TEST_F(AtomicFileTest, WithoutCommitNothingChanges) {
  ScopedTempDir tmp;
  fs::path path = tmp.path() / "record.json";
  WriteFileAtomic(path, "old");
  { AtomicFile file(path, "new"); }
  { AtomicFile file(tmp.path() / "other.json", "new"); }
  EXPECT_EQ(ReadFile(path), "old");
  EXPECT_EQ(std::distance(fs::directory_iterator(tmp.path()), fs::directory_iterator()), 1);
}

TEST_F(AtomicFileTest, ATemporaryFileLeftByAKilledCommandOfTheSamePidIsReplaced) {
  ScopedTempDir tmp;
  fs::path path = tmp.path() / "record.json";
  std::ofstream(Tmp(path)) << "left from before, and longer than the new content";
  WriteFileAtomic(path, "new");
  EXPECT_EQ(ReadFile(path), "new");
  EXPECT_FALSE(fs::exists(Tmp(path)));
}

TEST_F(AtomicFileTest, AMissingFolderIsAnErrorNamingTheFile) {
  ScopedTempDir tmp;
  fs::path path = tmp.path() / "gone" / "record.json";
  try {
    WriteFileAtomic(path, "new");
    ADD_FAILURE() << "the write succeeded";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "cannot write " + path.string() + ": No such file or directory");
  }
}

}  // namespace
}  // namespace sarge
