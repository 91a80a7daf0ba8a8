// What the file-system calls of `sarge new` and of a first `configure` cost
// on this machine, against a system call timed in the same process: the
// figures behind "what dominates" for those two commands
// (docs/benchmarks.md). Built and run by bench/disk_cost, which passes a
// scratch folder on the homes' file system, the number of rounds and the
// number of files to create and delete first.
//
// Each round times, per call:
//   syscall         getppid(2), the baseline
//   write-nosync    a record-sized file (431 bytes) written beside its
//                   name, closed and renamed: the page-cache part of saving
//                   a record
//   durable-0ms     the same with an fsync before the close, as sarge saves
//                   a record, right after the previous one
//   durable-1ms     the same after the disk was left idle for 1 ms,
//   durable-10ms    10 ms,
//   durable-100ms   and 100 ms (one command after another is 3-100 ms)
//   durable-busy    10 ms idle, with a second thread spinning on the other
//                   CPU while the fsync waits: if that is no faster, the
//                   wait is the disk's, not the CPU's wake-up from idle
//   replace-10ms    durable-10ms over an existing file, as `configure`
//                   saves a record it changes
//   floor-10ms      10 ms idle, then one 4 KiB block of an existing file,
//                   already on the disk, written again and fdatasync'd: no
//                   new inode, no size change, no rename. The least any
//                   durable write costs here, whatever the scheme
//   mkdir           a new folder (as `new` makes HOME/ID), no sync
// and prints the median of the rounds for each, in microseconds, with its
// ratio to the system call. With CHURN > 0, CHURN files are first created
// and deleted beside the folder: on ext4 without a journal every file
// created in the minutes after pays for them (see Churn).
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace {

double Now() {
  return std::chrono::duration<double, std::micro>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void Fail(const std::string& what) {
  std::perror(("disk_cost: " + what).c_str());
  std::exit(1);
}

// Writes 431 bytes to `name`.tmp, fsyncs it if asked, renames it to `name`.
void SaveFile(const std::string& name, bool sync) {
  static char data[431];
  std::fill(std::begin(data), std::end(data), 'x');
  std::string tmp = name + ".tmp";
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) Fail("open " + tmp);
  ssize_t written = write(fd, data, sizeof data);
  if (written != static_cast<ssize_t>(sizeof data)) {
    if (written >= 0) errno = EIO;  // a short write sets no errno
    Fail("write " + tmp);
  }
  if (sync && fsync(fd) != 0) Fail("fsync " + tmp);
  if (close(fd) != 0) Fail("close " + tmp);
  if (rename(tmp.c_str(), name.c_str()) != 0) Fail("rename " + tmp);
}

// Writes `block` again at the start of `fd`, the file `path`.
void WriteBlock(int fd, const char (&block)[4096], const std::string& path) {
  ssize_t written = pwrite(fd, block, sizeof block, 0);
  if (written != static_cast<ssize_t>(sizeof block)) {
    if (written >= 0) errno = EIO;
    Fail("pwrite " + path);
  }
}

// The command line: FOLDER ROUNDS CHURN.
struct Args {
  std::string dir;
  int rounds = 0;
  int churn = 0;
};

// Reads the command line; prints why and returns nothing if it will not do.
std::optional<Args> ParseArgs(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: disk_cost FOLDER ROUNDS CHURN\n");
    return std::nullopt;
  }
  Args args{argv[1], std::atoi(argv[2]), std::atoi(argv[3])};
  if (args.rounds < 1) {
    std::fprintf(stderr, "disk_cost: need at least one round\n");
    return std::nullopt;
  }
  return args;
}

// Creates and deletes `churn` files beside `dir`. ext4 without a journal
// skips recently freed inodes one by one when it allocates a new one, for
// minutes after they were freed: this makes every file created after pay.
void Churn(const std::string& dir, int churn) {
  if (churn <= 0) return;
  const std::string beside = dir + ".churn";
  if (mkdir(beside.c_str(), 0755) != 0) Fail("mkdir " + beside);
  for (int i = 0; i < churn; ++i) {
    std::string f = beside + "/c" + std::to_string(i);
    int fd = open(f.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0 || close(fd) != 0) Fail("create " + f);
  }
  for (int i = 0; i < churn; ++i) unlink((beside + "/c" + std::to_string(i)).c_str());
  rmdir(beside.c_str());
}

// floor-10ms's file: one block, written and synced before the first round,
// then written again in each. Left open until the program exits.
struct BlockFile {
  explicit BlockFile(const std::string& dir) : path(dir + "/block") {
    std::fill(std::begin(data), std::end(data), 'x');
    fd = open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) Fail("open " + path);
    WriteBlock(fd, data, path);
    if (fsync(fd) != 0) Fail("fsync " + path);
  }

  char data[4096];
  std::string path;
  int fd = -1;
};

// A second thread for durable-busy: it spins on the other CPU while told
// to, so that the CPU waiting in fsync is not the only one awake, and
// otherwise sleeps. Runs from construction to destruction.
class Spinner {
 public:
  Spinner() : thread_([this] { Run(); }) {}
  ~Spinner() {
    state_.store(kEnd);
    thread_.join();
  }
  void Spin(bool on) { state_.store(on ? kSpin : kSleep); }

 private:
  enum State { kSleep, kSpin, kEnd };

  void Run() {
    while (state_.load() != kEnd) {
      if (state_.load() == kSleep) std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  }

  std::atomic<State> state_{kSleep};  // before thread_, which reads it
  std::thread thread_;
};

// Each label's time in each round, in microseconds.
using Samples = std::map<std::string, std::vector<double>>;

// getppid(2) timed over 1000 calls: the baseline every figure is set against.
void TimeSyscall(Samples& us) {
  double t = Now();
  for (int i = 0; i < 1000; ++i) syscall(SYS_getppid);
  us["syscall"].push_back((Now() - t) / 1000);
}

// The rounds in `dir`, in one order: the file names count up across them.
class Rounds {
 public:
  explicit Rounds(const std::string& dir) : dir_(dir), block_(dir) {}

  void Run() {
    TimeSyscall(us_);
    TimeSaves();
    TimeFloor();
    TimeMkdir();
  }

  Samples& us() { return us_; }

 private:
  // A new name in the folder.
  std::string Name() { return dir_ + "/f" + std::to_string(serial_++); }

  // Times a durable save of `file` (a new name unless given) after `idle_ms`.
  void Durable(const char* label, int idle_ms, bool busy, std::string file = {}) {
    if (file.empty()) file = Name();
    if (idle_ms) std::this_thread::sleep_for(std::chrono::milliseconds(idle_ms));
    if (busy) spinner_.Spin(true);
    double t = Now();
    SaveFile(file, true);
    us_[label].push_back(Now() - t);
    if (busy) spinner_.Spin(false);
  }

  // A record saved without and with fsync, after idle times, and replaced.
  void TimeSaves() {
    std::string file = Name();
    double t = Now();
    SaveFile(file, false);
    us_["write-nosync"].push_back(Now() - t);

    SaveFile(Name(), true);  // untimed: the timed one comes right after it
    Durable("durable-0ms", 0, false);
    Durable("durable-1ms", 1, false);
    Durable("durable-10ms", 10, false);
    Durable("durable-100ms", 100, false);
    Durable("durable-busy", 10, true);

    std::string replaced = Name();
    SaveFile(replaced, true);  // untimed: the file it replaces
    Durable("replace-10ms", 10, false, replaced);
  }

  // The least a durable write costs: one existing block, after 10 ms idle.
  void TimeFloor() {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    double t = Now();
    WriteBlock(block_.fd, block_.data, block_.path);
    if (fdatasync(block_.fd) != 0) Fail("fdatasync " + block_.path);
    us_["floor-10ms"].push_back(Now() - t);
  }

  // A new folder, as `new` makes HOME/ID.
  void TimeMkdir() {
    std::string folder = Name();
    double t = Now();
    if (mkdir(folder.c_str(), 0755) != 0) Fail("mkdir " + folder);
    us_["mkdir"].push_back(Now() - t);
  }

  std::string dir_;
  BlockFile block_;  // before spinner_: made before the thread starts
  Spinner spinner_;
  Samples us_;
  int serial_ = 0;
};

// Runs all the rounds; the spinning thread has ended when it returns.
Samples Measure(const std::string& dir, int rounds) {
  Rounds bench(dir);
  for (int r = 0; r < rounds; ++r) bench.Run();
  return std::move(bench.us());
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// One line per label: its median, and that as a multiple of the syscall's.
void Report(Samples& us, const Args& args) {
  double base = Median(us["syscall"]);
  std::printf("%d rounds, after %d files were created and deleted; medians in microseconds\n",
              args.rounds, args.churn);
  for (const char* label :
       {"syscall", "write-nosync", "durable-0ms", "durable-1ms", "durable-10ms", "durable-100ms",
        "durable-busy", "replace-10ms", "floor-10ms", "mkdir"}) {
    double m = Median(us[label]);
    std::printf("%-13s %9.2f  %7.1fx a syscall\n", label, m, m / base);
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::optional<Args> args = ParseArgs(argc, argv);
  if (!args) return 2;
  Churn(args->dir, args->churn);
  Samples us = Measure(args->dir, args->rounds);
  Report(us, *args);
  return 0;
}
