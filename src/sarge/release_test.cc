#include "sarge/release.h"

#include <sys/stat.h>

#include <gtest/gtest.h>

#include "sarge/error.h"
#include "sarge/test_util.h"

namespace sarge {
namespace {

using testing::FakeCommandRunner;
using testing::ScopedTempDir;

mode_t ModeOf(const fs::path& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 ? st.st_mode & 07777 : 0;
}

void Write(const fs::path& path, mode_t mode) {
  WriteFileAtomic(path, "x\n", mode);
  ::chmod(path.c_str(), mode);  // setuid survives no atomic write's fchmod under every umask
}

class ReleaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(source_ / "bin");
    fs::create_directories(home_.InstanceDir("web-abc123"));
  }
  std::string Installed(const fs::path& source) {
    try {
      InstallSource(home_, runner_, source, "web-abc123");
      return "";
    } catch (const Error& e) {
      return e.what();
    }
  }
  ScopedTempDir tmp_;
  fs::path source_ = tmp_.path() / "release";
  Home home_{(tmp_.path() / "home").string()};
  FakeCommandRunner runner_;
};

TEST_F(ReleaseTest, AFolderLosesSetuidSetgidAndOthersWriteBits) {
  Write(source_ / "bin/escalate", 04755);
  Write(source_ / "bin/group", 02755);
  Write(source_ / "shared", 0666);
  ::chmod((source_ / "bin").c_str(), 02777);
  ASSERT_EQ(Installed(source_), "");
  fs::path dir = home_.InstanceDir("web-abc123");
  EXPECT_EQ(ModeOf(dir / "bin/escalate"), 0755u);
  EXPECT_EQ(ModeOf(dir / "bin/group"), 0755u);
  EXPECT_EQ(ModeOf(dir / "shared"), 0644u);
  EXPECT_EQ(ModeOf(dir / "bin"), 0755u);
  EXPECT_EQ(ModeOf(dir), 0755u);
  EXPECT_FALSE(fs::exists(dir / ".sarge-release"));
  EXPECT_EQ(ModeOf(source_ / "bin/escalate"), 04755u);  // the source is left alone
}

TEST_F(ReleaseTest, AFolderWithAFifoIsRefusedBeforeAnythingIsCopied) {
  Write(source_ / "server", 0755);
  ASSERT_EQ(::mkfifo((source_ / "bin/pipe").c_str(), 0644), 0);
  EXPECT_EQ(Installed(source_),
            "the release holds 'bin/pipe', a FIFO; a release may hold only files, folders and "
            "symlinks: remove it from the release");
  EXPECT_TRUE(fs::is_empty(home_.InstanceDir("web-abc123")));
}

// tar run by a user who is not root cannot make a device node, says so and
// goes on: the entry is refused by name all the same.
TEST_F(ReleaseTest, ATarballWhoseDeviceNodeTarCouldNotMakeIsRefusedByName) {
  runner_.result = {2, "",
                    "tar: ./dev/null: Cannot mknod: Operation not permitted\n"
                    "tar: Exiting with failure status due to previous errors\n",
                    false};
  EXPECT_EQ(Installed(tmp_.path() / "r.tar.gz"),
            "the release holds 'dev/null', a device node; a release may hold only files, folders "
            "and symlinks: remove it from the release");
  ASSERT_EQ(runner_.commands.size(), 1u);
  EXPECT_NE(runner_.commands[0].find(" --no-same-owner --no-same-permissions"), std::string::npos)
      << runner_.commands[0];
}

TEST_F(ReleaseTest, ASourceMustBeAFolderOrATarballThisUserCanRead) {
  EXPECT_THROW(CheckSource(tmp_.path() / "missing"), Error);
  Write(tmp_.path() / "r.zip", 0644);
  try {
    CheckSource(tmp_.path() / "r.zip");
    ADD_FAILURE() << "a .zip was taken";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "source '" + (tmp_.path() / "r.zip").string() +
                                         "' is neither a folder nor a .tar.gz file");
  }
  EXPECT_NO_THROW(CheckSource(source_));
}

}  // namespace
}  // namespace sarge
