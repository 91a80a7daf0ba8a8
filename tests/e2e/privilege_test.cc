// Privilege and file safety (docs/security.md), end to end: root running
// sarge on a home another user owns acts as that user; what the owner or a
// server plants in the home (symlinks, FIFOs, a forged server.pid) turns
// nothing against root; a release brings no privileges; modes do not depend
// on the caller's umask. Each test makes its own user with useradd: it needs
// root, which CI has (under CI=true a missing root is a failure, not a skip).
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <thread>

#include "e2e_util.h"

namespace e2e {
namespace {

bool InCi() {
  const char* ci = std::getenv("CI");
  return ci && std::string(ci) == "true";
}

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

mode_t ModeOf(const fs::path& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 ? st.st_mode & 07777 : 0;
}

uid_t OwnerOf(const fs::path& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 ? st.st_uid : static_cast<uid_t>(-1);
}

// useradd and userdel lock /etc/passwd; tests running at once wait for it.
Result Retried(const std::vector<std::string>& argv) {
  Result r;
  for (int attempt = 0; attempt < 100; ++attempt) {
    r = RunProgram(argv);
    if (r.exit_code == 0 || !Contains(r.err, "lock")) break;
    std::this_thread::sleep_for(50ms);
  }
  return r;
}

// `sleep 60` processes, killed (and reaped) when this goes away whatever
// happened.
class Sleepers {
 public:
  Sleepers() = default;
  Sleepers(const Sleepers&) = delete;
  Sleepers& operator=(const Sleepers&) = delete;
  ~Sleepers() {
    for (pid_t pid : pids_) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  }
  // Starts `sleep 60` as `uid`:`gid` from `cwd`; its pid.
  pid_t Spawn(uid_t uid, gid_t gid, const fs::path& cwd) {
    pid_t pid = ::fork();
    if (pid == 0) {
      if (::chdir(cwd.c_str()) != 0 || ::setgid(gid) != 0 || ::setuid(uid) != 0) ::_exit(126);
      ::execl("/bin/sleep", "sleep", "60", nullptr);
      ::_exit(127);
    }
    pids_.push_back(pid);
    return pid;
  }

 private:
  std::vector<pid_t> pids_;
};

// A user of its own, a home it owns, and sarge copied where that user can
// run it (the build tree may be in a folder only root can enter).
class OwnerHome : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) {
      if (InCi()) FAIL() << "these tests make users with useradd: CI must run them as root";
      GTEST_SKIP() << "needs root to make a user with useradd (CI runs it as root)";
    }
    char tmpl[] = "/tmp/sgpriv-XXXXXX";
    ASSERT_TRUE(::mkdtemp(tmpl)) << std::strerror(errno);
    dir_ = tmpl;
    ::chmod(dir_.c_str(), 0755);
    user_ = fmt("sgt{}", ::getpid());
    Result made = Retried({"/usr/sbin/useradd", "--system", "--user-group", "--no-create-home",
                           "--home-dir", dir_.string(), "--shell", "/usr/sbin/nologin", user_});
    ASSERT_EQ(made.exit_code, 0) << Describe(made);
    made_user_ = true;
    const passwd* pw = ::getpwnam(user_.c_str());
    ASSERT_TRUE(pw);
    uid_ = pw->pw_uid;
    gid_ = pw->pw_gid;
    fs::copy_file(SARGE_BINARY, dir_ / "sarge");
    ::chmod((dir_ / "sarge").c_str(), 0755);
    home_ = dir_ / "home";
    fs::create_directory(home_);
    ASSERT_EQ(::chown(home_.c_str(), uid_, gid_), 0);
  }

  void TearDown() override {
    if (!home_.empty()) {
      long pid = ReadNumber(home_ / "var/run/supervisord.pid");
      if (pid > 1 && OwnerOf(fs::path("/proc") / std::to_string(pid)) == uid_) {
        ::kill(static_cast<pid_t>(pid), SIGTERM);
        if (!WaitFor([&] { return !PidAlive(static_cast<pid_t>(pid)); }, 10s))
          ::kill(static_cast<pid_t>(pid), SIGKILL);
      }
    }
    if (made_user_) {
      Result gone = Retried({"/usr/sbin/userdel", user_});
      EXPECT_EQ(gone.exit_code, 0) << Describe(gone);
    }
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }

  template <typename... T>
  static std::string fmt(const char* f, T... args) {
    std::string out = f;
    ((out.replace(out.find("{}"), 2, std::to_string(args))), ...);
    return out;
  }

  // `sarge HOME args…` as root.
  Result Root(const std::vector<std::string>& args, const std::string& input = "") const {
    std::vector<std::string> argv = {(dir_ / "sarge").string(), home_.string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunProgram(argv, input);
  }
  // `argv` as the home's owner.
  Result AsOwner(const std::vector<std::string>& argv) const {
    std::vector<std::string> all = {FindOnPath("setpriv"), "--reuid", user_, "--regid", user_,
                                    "--init-groups"};
    all.insert(all.end(), argv.begin(), argv.end());
    return RunProgram(all);
  }
  Result OwnerShell(const std::string& script) const { return AsOwner({"/bin/sh", "-c", script}); }

  // init as root, supervisord started as the owner, an instance made by root.
  void InitAndStartSupervisord() {
    Result init = Root({"init"});
    ASSERT_EQ(init.exit_code, 0) << Describe(init);
    Result up = AsOwner({(home_ / "bin/supervisord").string()});
    ASSERT_EQ(up.exit_code, 0) << Describe(up);
  }
  std::string NewWeb() {
    Result r =
        Root({"new", R"({"application_name": "web", "services": {"web": {"type": "listen"}}})"});
    EXPECT_EQ(r.exit_code, 0) << Describe(r);
    std::string id = r.out.substr(0, r.out.find('\n'));
    WriteFile(home_ / id / "server", kHttpServer, 0755);
    EXPECT_EQ(::chown((home_ / id / "server").c_str(), uid_, gid_), 0);
    return id;
  }
  // Every path under the home that is not the owner's.
  std::vector<std::string> NotOwners() const {
    std::vector<std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(home_))
      if (OwnerOf(e.path()) != uid_) out.push_back(e.path().string());
    return out;
  }

  // Replaces sarge.log and the instance's log with symlinks to root's
  // `secret`, and var/run/ID with one to `root_dir`, as the owner.
  void PlantSymlinks(const std::string& id, const fs::path& secret, const fs::path& root_dir) {
    for (const auto& [link, target] :
         std::vector<std::pair<fs::path, fs::path>>{{home_ / "var/log/sarge.log", secret},
                                                    {home_ / "var/log" / (id + ".log"), secret},
                                                    {home_ / "var/run" / id, root_dir}}) {
      Result r = OwnerShell("rm -rf '" + link.string() + "' && ln -s '" + target.string() + "' '" +
                            link.string() + "'");
      ASSERT_EQ(r.exit_code, 0) << Describe(r);
    }
  }

  // With a FIFO also planted in bin/, check fails and names it and each
  // symlink PlantSymlinks made.
  void ExpectCheckNamesWhatWasPlanted(const std::string& id) {
    ASSERT_EQ(OwnerShell("mkfifo '" + (home_ / "bin/planted").string() + "'").exit_code, 0);
    Result check = Root({"check"});
    EXPECT_TRUE(Contains(check.out,
                         "problem: bin/planted is a FIFO where sarge keeps its own "
                         "files; something planted it\n"))
        << Describe(check);
    EXPECT_EQ(check.exit_code, 1) << Describe(check);
    for (const std::string& planted :
         std::vector<std::string>{"var/log/sarge.log", "var/log/" + id + ".log", "var/run/" + id})
      EXPECT_TRUE(Contains(check.out, "problem: " + planted +
                                          " is a symlink where sarge keeps its own files; "
                                          "something planted it\n"))
          << planted << "\n"
          << Describe(check);
  }

  // Writes, as the owner, what launch would write into var/run/ID/server.pid
  // for the `sleep` process `pid`: its pid and start time.
  void ForgeServerPid(const std::string& id, pid_t pid) {
    EXPECT_TRUE(
        WaitFor([&] { return Contains(ReadFile(fmt("/proc/{}/cmdline", pid)), "sleep"); }, 5s));
    std::string stat = ReadFile(fmt("/proc/{}/stat", pid));
    std::string after = stat.substr(stat.rfind(')') + 2);
    std::vector<std::string> fields;
    for (size_t at = 0; at < after.size();) {
      size_t end = after.find(' ', at);
      fields.push_back(after.substr(at, end - at));
      at = end == std::string::npos ? after.size() : end + 1;
    }
    ASSERT_GT(fields.size(), 19u);
    Result r = OwnerShell("mkdir -p '" + (home_ / "var/run" / id).string() + "' && echo '" +
                          std::to_string(pid) + " " + fields[19] + "' >'" +
                          (home_ / "var/run" / id / "server.pid").string() + "'");
    ASSERT_EQ(r.exit_code, 0) << Describe(r);
  }

  fs::path dir_, home_;
  std::string user_;
  uid_t uid_ = 0;
  gid_t gid_ = 0;
  bool made_user_ = false;
};

// The defect: a line the owner added to sarge.yaml ran as root.
TEST_F(OwnerHome, RootRunsTheOwnersHooksAndCreatesFilesAsTheOwner) {
  InitAndStartSupervisord();
  const fs::path out = dir_ / "hook-ran-as";
  Result hook =
      OwnerShell("mkdir -p " + (home_ / "etc/hooks").string() + " && printf '%s\\n' " +
                 "'#!/bin/sh' 'cat >/dev/null; id -u >" + out.string() + "' >" +
                 (home_ / "etc/hooks/who").string() + " && chmod 755 " +
                 (home_ / "etc/hooks/who").string() + " && printf 'hooks:\\n  " +
                 "will-start: etc/hooks/who\\n' >>" + (home_ / "etc/sarge.yaml").string());
  ASSERT_EQ(hook.exit_code, 0) << Describe(hook);
  ::chmod(dir_.c_str(), 0777);  // the hook, as the owner, writes its answer there
  std::string id = NewWeb();
  Result start = Root({"start", id});
  ASSERT_EQ(start.exit_code, 0) << Describe(start);
  EXPECT_EQ(ReadFile(out), std::to_string(uid_) + "\n");
  EXPECT_EQ(NotOwners(), std::vector<std::string>{});
  EXPECT_TRUE(
      Contains(ReadFile(home_ / "var/log/sarge.log"), "user=root (as " + user_ + "): start " + id))
      << ReadFile(home_ / "var/log/sarge.log");
  // The owner's own commands work on what root left.
  Result stop = AsOwner({(dir_ / "sarge").string(), home_.string(), "stop", id});
  EXPECT_EQ(stop.exit_code, 0) << Describe(stop);
  Result destroy = AsOwner({(dir_ / "sarge").string(), home_.string(), "destroy", id});
  EXPECT_EQ(destroy.exit_code, 0) << Describe(destroy);
  EXPECT_FALSE(fs::exists(home_ / id));
}

TEST_F(OwnerHome, SomeoneElseIsToldWhoToRunSargeAs) {
  ASSERT_EQ(Root({"init"}).exit_code, 0);
  Result r = RunProgram({FindOnPath("setpriv"), "--reuid", "nobody", "--regid", "nogroup",
                         "--clear-groups", (dir_ / "sarge").string(), home_.string(), "list"});
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_EQ(r.err, "sarge: error: " + home_.string() + " belongs to " + user_ + "; run sarge as " +
                       user_ + " (sudo -u " + user_ + " sarge " + home_.string() + " …)\n");
}

// A home root keeps root on must not be one the owner can swap: through a
// folder of the owner's, or a symlink it planted towards root's folders.
TEST_F(OwnerHome, RootKeepsRootOnlyOnAPathOnlyRootCanChange) {
  const fs::path inner = home_ / "inner";
  Result r = Root({"init"});  // the owner's home, as the owner
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  const std::string refusal = " is on the path of home {} and belongs to " + user_ +
                              ", who could put another folder in its place; run sarge as " + user_ +
                              ", or keep a home of root's on a path only root can change\n";
  auto expected = [&](const fs::path& home) {
    std::string line = refusal;
    line.replace(line.find("{}"), 2, home.string());
    return "sarge: error: " + home_.string() + line;
  };
  r = RunProgram({(dir_ / "sarge").string(), inner.string(), "init"});
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_EQ(r.err, expected(inner));
  EXPECT_FALSE(fs::exists(inner));

  const fs::path root_dir = dir_ / "root-only";
  fs::create_directory(root_dir);
  ::chmod(root_dir.c_str(), 0700);
  ASSERT_EQ(
      OwnerShell("ln -s '" + root_dir.string() + "' '" + (home_ / "link").string() + "'").exit_code,
      0);
  r = RunProgram({(dir_ / "sarge").string(), (home_ / "link").string(), "init"});
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_EQ(r.err, expected(root_dir));
  EXPECT_TRUE(fs::is_empty(root_dir));
  EXPECT_EQ(ModeOf(root_dir), 0700u);
}

TEST_F(OwnerHome, RootDoesNotRunTheHomesSupervisordShortcut) {
  ASSERT_EQ(Root({"init"}).exit_code, 0);
  Result r = RunProgram({(home_ / "bin/supervisord").string()});
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_EQ(r.err, "sarge: " + home_.string() + " belongs to " + user_ + "; run this as " + user_ +
                       " (sudo -u " + user_ + " " + (home_ / "bin/supervisord").string() + ")\n");
  EXPECT_FALSE(fs::exists(home_ / "var/run/supervisord.pid"));
}

// The defects: root appended to a root file linked as var/log/sarge.log,
// wrote into root-only folders linked as var/run/ID (and var/tmp/ID), and
// printed a root-only file linked as the instance's log.
TEST_F(OwnerHome, SymlinksTheOwnerPlantsReachNothingOfRoots) {
  InitAndStartSupervisord();
  std::string id = NewWeb();
  const fs::path secret = dir_ / "root-secret";
  WriteFile(secret, "root's secret\n", 0600);
  const fs::path root_dir = dir_ / "root-only";
  fs::create_directory(root_dir);
  ::chmod(root_dir.c_str(), 0700);
  ASSERT_NO_FATAL_FAILURE(PlantSymlinks(id, secret, root_dir));
  Result logs = Root({"logs", id});
  EXPECT_EQ(logs.exit_code, 1) << Describe(logs);
  EXPECT_FALSE(Contains(logs.out + logs.err, "root's secret")) << Describe(logs);
  EXPECT_EQ(logs.err, "sarge: error: " + (home_ / "var/log" / (id + ".log")).string() +
                          " is a symlink where sarge keeps a file of its own; remove it\n");

  Result start = Root({"start", id});
  EXPECT_EQ(start.exit_code, 1) << Describe(start);
  EXPECT_TRUE(Contains(start.err, (home_ / "var/run" / id).string() +
                                      " is a symlink where sarge keeps a folder; remove it"))
      << Describe(start);
  EXPECT_EQ(ReadFile(secret), "root's secret\n");
  EXPECT_TRUE(fs::is_empty(root_dir));

  // check names each, --repair removes them, and the owner's home works.
  ASSERT_NO_FATAL_FAILURE(ExpectCheckNamesWhatWasPlanted(id));
  Result repair = Root({"check", "--repair"});
  EXPECT_TRUE(Contains(repair.out, "repaired: var/run/" + id)) << Describe(repair);
  Result again = AsOwner({(dir_ / "sarge").string(), home_.string(), "start", id});
  EXPECT_EQ(again.exit_code, 0) << Describe(again);
  EXPECT_EQ(ReadFile(secret), "root's secret\n");
  EXPECT_EQ(NotOwners(), std::vector<std::string>{});
}

// The defect: root killed a root process whose pid and start time the app
// wrote into var/run/ID/server.pid.
TEST_F(OwnerHome, AForgedServerPidKillsNoProcessOfRoots) {
  InitAndStartSupervisord();
  std::string id = NewWeb();
  Sleepers sleepers;
  // Root's process in the instance's folder: only its user tells it from
  // the server. The owner's, elsewhere: only its working folder does.
  pid_t roots = sleepers.Spawn(0, 0, home_ / id);
  pid_t owners = sleepers.Spawn(uid_, gid_, dir_);
  ForgeServerPid(id, roots);
  Result stop = Root({"stop", id});
  EXPECT_EQ(stop.exit_code, 0) << Describe(stop);
  ForgeServerPid(id, owners);
  Result destroy = Root({"destroy", id});
  EXPECT_EQ(destroy.exit_code, 0) << Describe(destroy);
  EXPECT_TRUE(PidAlive(roots));
  EXPECT_TRUE(PidAlive(owners));
}

// A tarball or folder: its setuid program loses the bit, a device node or
// FIFO is refused by name, and everything that comes out is the owner's.
TEST_F(OwnerHome, AReleaseBringsNoPrivileges) {
  InitAndStartSupervisord();
  const fs::path release = dir_ / "release";
  fs::create_directories(release / "bin");
  WriteFile(release / "server", kHttpServer, 0755);
  WriteFile(release / "bin/escalate", "#!/bin/sh\nid -u\n", 0755);
  ::chmod((release / "bin/escalate").c_str(), 04755);  // root's, setuid
  WriteFile(release / "shared", "anyone may write\n", 0666);
  ::chmod((release / "shared").c_str(), 0666);
  Result tar = RunProgram(
      {FindOnPath("tar"), "-czf", (dir_ / "r.tar.gz").string(), "-C", release.string(), "."});
  ASSERT_EQ(tar.exit_code, 0) << Describe(tar);
  const std::string config =
      R"({"application_name": "web", "services": {"web": {"type": "listen"}}})";
  for (const fs::path& source : {dir_ / "r.tar.gz", release}) {
    Result r = Root({"deploy", config, source.string()});
    ASSERT_EQ(r.exit_code, 0) << Describe(r);
    std::string id = r.out.substr(0, r.out.find('\n'));
    EXPECT_EQ(ModeOf(home_ / id / "bin/escalate"), 0755u) << source;
    EXPECT_EQ(ModeOf(home_ / id / "shared"), 0644u) << source;
    EXPECT_EQ(NotOwners(), std::vector<std::string>{}) << source;
  }
  ASSERT_EQ(::mknod((release / "null").c_str(), S_IFCHR | 0666, makedev(1, 3)), 0);
  tar = RunProgram(
      {FindOnPath("tar"), "-czf", (dir_ / "dev.tar.gz").string(), "-C", release.string(), "."});
  ASSERT_EQ(tar.exit_code, 0) << Describe(tar);
  auto refused = [&](const fs::path& source, const std::string& entry, const std::string& kind) {
    Result r = Root({"deploy", config, source.string()});
    EXPECT_EQ(r.exit_code, 1) << Describe(r);
    EXPECT_TRUE(Contains(r.err, "the release holds '" + entry + "', " + kind +
                                    "; a release may hold only files, folders and symlinks: "
                                    "remove it from the release"))
        << Describe(r);
  };
  refused(dir_ / "dev.tar.gz", "null", "a device node");
  refused(release, "null", "a device node");
  fs::remove(release / "null");
  ASSERT_EQ(::mkfifo((release / "pipe").c_str(), 0644), 0);
  refused(release, "pipe", "a FIFO");
  EXPECT_EQ(NotOwners(), std::vector<std::string>{});
}

// Root's own release, out of the owner's reach: said before anything is made.
TEST_F(OwnerHome, ASourceTheOwnerCannotReadIsRefusedUpFront) {
  ASSERT_EQ(Root({"init"}).exit_code, 0);
  const fs::path private_dir = dir_ / "root-only";
  fs::create_directory(private_dir);
  ::chmod(private_dir.c_str(), 0700);
  WriteFile(private_dir / "server", kHttpServer, 0755);
  Result r = Root({"deploy", R"({"application_name": "web"})", private_dir.string()});
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_EQ(r.err, "sarge: error: source '" + private_dir.string() + "' cannot be read by " +
                       user_ +
                       ", whom sarge runs as for this home: Permission denied; put it where that "
                       "user can read it\n");
  EXPECT_TRUE(fs::is_empty(home_ / "etc/instances"));
}

// A release folder beside `home` (HOME-release), with the e2e HTTP server.
fs::path ReleaseBeside(const TempHome& home) {
  const fs::path release = home.root().string() + "-release";
  fs::create_directories(release);
  WriteFile(release / "server", kHttpServer, 0755);
  return release;
}

// The same as root in a home of root's: tar makes the device node, and the
// walk after it refuses it.
TEST(RootHome, ADeviceNodeInATarballIsRefusedAndNothingIsLeft) {
  if (::geteuid() != 0) {
    if (InCi()) FAIL() << "mknod needs root: CI must run this as root";
    GTEST_SKIP() << "needs root for mknod (CI runs it as root)";
  }
  TempHome home;
  ASSERT_TRUE(home.Init());
  ASSERT_TRUE(home.StartSupervisord());
  const fs::path release = ReleaseBeside(home);
  ASSERT_EQ(::mknod((release / "disk").c_str(), S_IFBLK | 0600, makedev(7, 0)), 0);
  const fs::path tarball = release.string() + ".tar.gz";
  Result tar =
      RunProgram({FindOnPath("tar"), "-czf", tarball.string(), "-C", release.string(), "."});
  ASSERT_EQ(tar.exit_code, 0) << Describe(tar);
  auto before = home.Snap();
  Result r = home.Sarge({"deploy", R"({"application_name": "web"})", tarball.string()});
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_TRUE(Contains(r.err, "the release holds 'disk', a device node")) << Describe(r);
  std::error_code ec;
  fs::remove_all(release, ec);
  fs::remove(tarball, ec);
  // The action log, deploys' folder of markers and the failed release in
  // the application's history, nothing else.
  for (const auto& line : Lines(DiffSnapshots(before, home.Snap())))
    EXPECT_TRUE(Contains(line, "var/log/sarge.log") || line == "added var/run/deploys (dir 0755)" ||
                line == "added etc/apps (dir 0755)" || line == "added etc/apps/web (dir 0755)" ||
                line.starts_with("added etc/apps/web/releases.json (file 0600 "))
        << line;
}

// The defect: under umask 000, init made the home world-writable.
class Modes : public ::testing::TestWithParam<const char*> {
 protected:
  // `sarge HOME args…` run under the umask the test is given.
  Result SargeUnderUmask(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {"/bin/sh", "-c",
                                     std::string("umask ") + GetParam() + " && exec \"$0\" \"$@\"",
                                     SARGE_BINARY, home_.str()};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunProgram(argv);
  }

  // A home made before sarge set its modes: init puts them right.
  void ExpectInitPutsOldModesRight(const std::string& id) {
    const fs::path record = home_ / ("etc/instances/" + id + ".json");
    ::chmod(record.c_str(), 0644);
    ::chmod((home_ / "etc").c_str(), 0755);
    ::chmod((home_ / "var/data").c_str(), 0777);
    Result r = SargeUnderUmask({"init"});
    ASSERT_EQ(r.exit_code, 0) << Describe(r);
    EXPECT_EQ(ModeOf(record), 0600u);
    EXPECT_EQ(ModeOf(home_ / "etc"), 0700u);
    EXPECT_EQ(ModeOf(home_ / "var/data"), 0700u);
  }

  TempHome home_;
};

// The mode of each path of a home with the started instance `id`.
std::map<std::string, mode_t> WantedModes(const std::string& id) {
  return {
      {"", 0755},
      {"bin", 0755},
      {"bin/sarge", 0755},
      {"etc", 0700},
      {"etc/instances", 0700},
      {"etc/instances/" + id + ".json", 0600},
      {"etc/sarge.yaml", 0600},
      {"var/run", 0700},
      {"var/run/" + id + "/appcfg.json", 0600},
      {"var/log", 0750},
      {"var/log/sarge.log", 0640},
      {"var/log/" + id + ".log", 0640},
      {"var/tmp", 0711},
      {"var/data", 0700},
      {id, 0755},
  };
}

TEST_P(Modes, DoNotDependOnTheCallersUmask) {
  Result r = SargeUnderUmask({"init"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  ASSERT_TRUE(home_.StartSupervisord());
  std::string id = home_.New({{"application_name", "web"},
                              {"env", {{"SECRET", "hunter2"}}},
                              {"services", {{"web", {{"type", "listen"}}}}}});
  ASSERT_FALSE(id.empty());
  home_.WriteServer(id, kHttpServer);
  r = SargeUnderUmask({"start", id});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  for (const auto& [path, mode] : WantedModes(id))
    EXPECT_EQ(ModeOf(home_.root() / path), mode) << path << " under umask " << GetParam();
  ExpectInitPutsOldModesRight(id);
}

INSTANTIATE_TEST_SUITE_P(Umask, Modes, ::testing::Values("000", "077"));

// The defect: a server that replaced its log with a FIFO held `start` (and
// the home's lock) for ever.
TEST(FifoLog, AServerThatReplacesItsLogWithAFifoFailsItsStartPromptly) {
  TempHome home;
  ASSERT_TRUE(home.Init());
  ASSERT_TRUE(home.StartSupervisord());
  std::string id = home.New({{"application_name", "web"}});
  ASSERT_FALSE(id.empty());
  home.WriteServer(id,
                   "#!/bin/sh\nlog=\"$(dirname \"$PWD\")/var/log/$(basename \"$PWD\").log\"\n"
                   "rm -f \"$log\" && mkfifo \"$log\"\nexit 1\n");
  auto t0 = std::chrono::steady_clock::now();
  Result r = home.Sarge({"start", id});
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 30s);
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_TRUE(Contains(r.err,
                       " is not a regular file (a folder, FIFO, socket or device) where "
                       "sarge keeps a file of its own; remove it"))
      << Describe(r);
  Result logs = home.Sarge({"logs", id});
  EXPECT_EQ(logs.exit_code, 1) << Describe(logs);
}

// What an operator puts on another disk: the logs' folder and a persistent
// folder may be symlinks, which start follows and check does not report.
TEST(OtherDisk, LogsAndPersistentFoldersMayBeSymlinks) {
  TempHome home;
  ASSERT_TRUE(home.Init());
  const fs::path disk = home.root().string() + "-disk";
  fs::create_directories(disk / "log");
  fs::create_directories(disk / "store");
  fs::rename(home / "var/log", disk / "log/home");
  fs::create_symlink(disk / "log/home", home / "var/log");
  fs::create_symlink(disk / "store", home / "var/data/store");
  ASSERT_TRUE(home.StartSupervisord());
  std::string id = home.New(
      {{"application_name", "web"},
       {"services", {{"web", {{"type", "listen"}}}, {"store", {{"type", "persistent-folder"}}}}}});
  ASSERT_FALSE(id.empty());
  home.WriteServer(id, kHttpServer);
  Result start = home.Sarge({"start", id});
  EXPECT_EQ(start.exit_code, 0) << Describe(start);
  Result check = home.Sarge({"check"});
  EXPECT_EQ(check.exit_code, 0) << Describe(check);
  EXPECT_EQ(home.AppCfg(id)["STORE_PATH"], (home / "var/data/store").string());
  EXPECT_TRUE(fs::exists(disk / "log/home" / (id + ".log")));
  home.StopSupervisord();
  std::error_code ec;
  fs::remove_all(disk, ec);
}

// A release's folder linked to etc/ would publish every record's secrets.
TEST(StaticRoute, ThatLeadsOutOfTheInstanceIsRefused) {
  TempHome home;
  ASSERT_TRUE(home.Init());
  ASSERT_TRUE(home.StartSupervisord());
  const fs::path release = ReleaseBeside(home);
  fs::create_symlink("../etc", release / "public");
  json config = {{"application_name", "web"},
                 {"services", {{"web", {{"type", "listen"}}}}},
                 {"urlmap", {{{"type", "static"}, {"url", "/files/"}, {"path", "public"}}}}};
  Result r = home.Sarge({"deploy", config.dump(), release.string()});
  std::error_code ec;
  fs::remove_all(release, ec);
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_TRUE(Contains(r.err, "urlmap[0].path 'public' leads out of the instance folder (to '" +
                                  (home / "etc").string() +
                                  "'); a static route may serve only the instance's own files"))
      << Describe(r);
  EXPECT_FALSE(fs::exists(home / "etc/nginx/sites/web.conf"));
}

// Secrets need not be on a command line, which every local user can read.
TEST(ConfigFile, IsReadFromAtFile) {
  TempHome home;
  ASSERT_TRUE(home.Init());
  const fs::path file = home.root().string() + "-config.json";
  WriteFile(file, R"({"application_name": "web", "env": {"TOKEN": "s3cret"}})", 0600);
  Result r = home.Sarge({"new", "@" + file.string()});
  std::error_code ec;
  fs::remove(file, ec);
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  std::string id = r.out.substr(0, r.out.find('\n'));
  EXPECT_TRUE(Contains(ReadFile(home / ("etc/instances/" + id + ".json")), "s3cret"));
  r = home.Sarge({"new", "@" + file.string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "sarge: error: cannot read the instance configuration from '" + file.string() +
                       "': No such file or directory\n");
}

}  // namespace
}  // namespace e2e
