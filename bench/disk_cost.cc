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
// created in the minutes after pays for them (see main).
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

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: disk_cost FOLDER ROUNDS CHURN\n");
    return 2;
  }
  const std::string dir = argv[1];
  const int rounds = std::atoi(argv[2]);
  const int churn = std::atoi(argv[3]);
  if (rounds < 1) {
    std::fprintf(stderr, "disk_cost: need at least one round\n");
    return 2;
  }
  // Freed inodes first, if asked: CHURN files created and deleted beside
  // the folder. ext4 without a journal skips recently freed inodes one by
  // one when it allocates a new one, for minutes after they were freed.
  if (churn > 0) {
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

  // floor-10ms's file: one block, written and synced before the first round.
  static char block[4096];
  std::fill(std::begin(block), std::end(block), 'x');
  const std::string block_file = dir + "/block";
  int block_fd = open(block_file.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (block_fd < 0) Fail("open " + block_file);
  WriteBlock(block_fd, block, block_file);
  if (fsync(block_fd) != 0) Fail("fsync " + block_file);

  std::atomic<int> spin{0};  // 1: spin, 2: end
  std::thread spinner([&] {
    while (spin.load() != 2) {
      if (spin.load() == 0) std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  });

  std::map<std::string, std::vector<double>> us;
  int serial = 0;
  auto name = [&] { return dir + "/f" + std::to_string(serial++); };
  // Times a durable save of `file` (a new name unless given) after `idle_ms`.
  auto durable = [&](const char* label, int idle_ms, bool busy, std::string file = {}) {
    if (file.empty()) file = name();
    if (idle_ms) std::this_thread::sleep_for(std::chrono::milliseconds(idle_ms));
    if (busy) spin.store(1);
    double t = Now();
    SaveFile(file, true);
    us[label].push_back(Now() - t);
    if (busy) spin.store(0);
  };

  for (int r = 0; r < rounds; ++r) {
    double t = Now();
    for (int i = 0; i < 1000; ++i) syscall(SYS_getppid);
    us["syscall"].push_back((Now() - t) / 1000);

    std::string file = name();
    t = Now();
    SaveFile(file, false);
    us["write-nosync"].push_back(Now() - t);

    SaveFile(name(), true);  // untimed: the timed one comes right after it
    durable("durable-0ms", 0, false);
    durable("durable-1ms", 1, false);
    durable("durable-10ms", 10, false);
    durable("durable-100ms", 100, false);
    durable("durable-busy", 10, true);

    std::string replaced = name();
    SaveFile(replaced, true);  // untimed: the file it replaces
    durable("replace-10ms", 10, false, replaced);

    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    t = Now();
    WriteBlock(block_fd, block, block_file);
    if (fdatasync(block_fd) != 0) Fail("fdatasync " + block_file);
    us["floor-10ms"].push_back(Now() - t);

    std::string folder = name();
    t = Now();
    if (mkdir(folder.c_str(), 0755) != 0) Fail("mkdir " + folder);
    us["mkdir"].push_back(Now() - t);
  }
  spin.store(2);
  spinner.join();

  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  double base = median(us["syscall"]);
  std::printf("%d rounds, after %d files were created and deleted; medians in microseconds\n",
              rounds, churn);
  for (const char* label :
       {"syscall", "write-nosync", "durable-0ms", "durable-1ms", "durable-10ms", "durable-100ms",
        "durable-busy", "replace-10ms", "floor-10ms", "mkdir"}) {
    double m = median(us[label]);
    std::printf("%-13s %9.2f  %7.1fx a syscall\n", label, m, m / base);
  }
  return 0;
}
