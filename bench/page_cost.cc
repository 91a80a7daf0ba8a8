// What a page costs a process on this machine, against a system call timed
// in the same process: the figures behind how sarge's static build is
// linked and started (docs/benchmarks.md, "Page faults"). Built and run by
// bench/page_cost, which passes the number of pages, the rounds and a file
// to map (sarge's binary, already in the page cache).
//
// Each round times, per page or per call:
//   syscall      getppid(2), the baseline
//   anon-touch   the first write to a page of a fresh private anonymous
//                mapping: one page fault per page (a heap or stack page)
//   file-fault   the first read of every 16th page of a fresh mapping of
//                the file: one fault per 64 KiB, which the kernel's
//                fault-around maps whole (a page of code)
//   file-rest    then the first read of the other 15 pages of each 64 KiB
//   populate     madvise(MADV_POPULATE_READ) over a fresh mapping of the file
//   after-pop    then the first read of each of its pages
//   cpuid        one CPUID instruction (x86 only), which a virtual machine
//                may have to trap: glibc runs 41 of them while starting
//                every process on this machine (its CPU feature and cache
//                detection), before main
// and prints the median of the rounds for each, in microseconds, with its
// ratio to the system call.
#include <fcntl.h>
#include <sys/mman.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace {

constexpr long kPage = 4096;
constexpr long kWindow = 16;  // pages the kernel maps per file fault (64 KiB)

double Now() {
  return std::chrono::duration<double, std::micro>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

char* Map(long pages, int fd) {
  void* p = fd < 0 ? mmap(nullptr, pages * kPage, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
                   : mmap(nullptr, pages * kPage, PROT_READ, MAP_PRIVATE, fd, 0);
  if (p == MAP_FAILED) {
    std::perror("page_cost: mmap");
    std::exit(1);
  }
  return static_cast<char*>(p);
}

// The command line: PAGES ROUNDS FILE, with FILE open.
struct Args {
  long pages = 0;  // rounded down to whole fault-around windows
  int rounds = 0;
  int fd = -1;
};

// Reads the command line and opens FILE; prints why and returns nothing if
// they will not do.
std::optional<Args> ParseArgs(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: page_cost PAGES ROUNDS FILE\n");
    return std::nullopt;
  }
  Args args{std::atol(argv[1]) / kWindow * kWindow, std::atoi(argv[2])};
  if (args.pages < kWindow || args.rounds < 1) {
    std::fprintf(stderr, "page_cost: need at least %ld pages and one round\n", kWindow);
    return std::nullopt;
  }
  args.fd = open(argv[3], O_RDONLY | O_CLOEXEC);
  if (args.fd < 0) {
    std::perror(argv[3]);
    return std::nullopt;
  }
  if (lseek(args.fd, 0, SEEK_END) < args.pages * kPage) {
    std::fprintf(stderr, "page_cost: %s is shorter than %ld pages\n", argv[3], args.pages);
    return std::nullopt;
  }
  return args;
}

// Each label's time in each round, in microseconds.
using Samples = std::map<std::string, std::vector<double>>;

// The rounds over `pages` pages of anonymous memory and of the file `fd`.
class Rounds {
 public:
  explicit Rounds(const Args& args) : pages_(args.pages), fd_(args.fd) {}

  void Run() {
    TimeSyscall();
    TimeAnonTouch();
    TimeFileFaults();
    TimePopulate();
    TimeCpuid();
  }

  Samples& us() { return us_; }

 private:
  // getppid(2) timed over 1000 calls: the baseline every figure is set against.
  void TimeSyscall() {
    double t = Now();
    for (int i = 0; i < 1000; ++i) syscall(SYS_getppid);
    us_["syscall"].push_back((Now() - t) / 1000);
  }

  // A first write to each page of fresh anonymous memory.
  void TimeAnonTouch() {
    char* p = Map(pages_, -1);
    double t = Now();
    for (long i = 0; i < pages_; ++i) p[i * kPage] = 1;
    us_["anon-touch"].push_back((Now() - t) / pages_);
    munmap(p, pages_ * kPage);
  }

  // A first read of one page per window of a fresh file mapping, then of the
  // pages that each fault mapped around it.
  void TimeFileFaults() {
    char* p = Map(pages_, fd_);
    double t = Now();
    for (long i = 0; i < pages_; i += kWindow) sink_ = sink_ + p[i * kPage];
    us_["file-fault"].push_back((Now() - t) / (pages_ / kWindow));
    t = Now();
    for (long i = 0; i < pages_; ++i)
      if (i % kWindow) sink_ = sink_ + p[i * kPage];
    us_["file-rest"].push_back((Now() - t) / (pages_ - pages_ / kWindow));
    munmap(p, pages_ * kPage);
  }

  // madvise(MADV_POPULATE_READ) over a fresh file mapping, then a read of
  // each of its pages.
  void TimePopulate() {
    char* p = Map(pages_, fd_);
    double t = Now();
    if (madvise(p, pages_ * kPage, MADV_POPULATE_READ) != 0) {
      std::perror("page_cost: madvise(MADV_POPULATE_READ)");
      std::exit(1);
    }
    us_["populate"].push_back((Now() - t) / pages_);
    t = Now();
    for (long i = 0; i < pages_; ++i) sink_ = sink_ + p[i * kPage];
    us_["after-pop"].push_back((Now() - t) / pages_);
    munmap(p, pages_ * kPage);
  }

  // One CPUID instruction, timed over 100; nothing where there is none.
  void TimeCpuid() {
#if defined(__x86_64__) || defined(__i386__)
    unsigned a = 0, b = 0, c = 0, d = 0;
    double t = Now();
    for (unsigned i = 0; i < 100; ++i) __cpuid_count(0x80000005 + (i & 1), 0, a, b, c, d);
    us_["cpuid"].push_back((Now() - t) / 100);
    sink_ = sink_ + static_cast<char>(a ^ b ^ c ^ d);
#endif
  }

  long pages_;
  int fd_;
  Samples us_;
  volatile char sink_ = 0;  // what was read, so that the reads are made
};

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// One line per label measured: its median, and that as a multiple of the
// syscall's.
void Report(Samples& us, const Args& args) {
  double base = Median(us["syscall"]);
  std::printf("%ld pages, %d rounds; medians in microseconds\n", args.pages, args.rounds);
  for (const char* name :
       {"syscall", "anon-touch", "file-fault", "file-rest", "populate", "after-pop", "cpuid"}) {
    if (!us.contains(name)) continue;
    double m = Median(us[name]);
    std::printf("%-11s %8.2f  %6.1fx a syscall\n", name, m, m / base);
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::optional<Args> args = ParseArgs(argc, argv);
  if (!args) return 2;
  Rounds rounds(*args);
  for (int r = 0; r < args->rounds; ++r) rounds.Run();
  Report(rounds.us(), *args);
  return 0;
}
