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

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: page_cost PAGES ROUNDS FILE\n");
    return 2;
  }
  long pages = std::atol(argv[1]) / kWindow * kWindow;
  int rounds = std::atoi(argv[2]);
  if (pages < kWindow || rounds < 1) {
    std::fprintf(stderr, "page_cost: need at least %ld pages and one round\n", kWindow);
    return 2;
  }
  int fd = open(argv[3], O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    std::perror(argv[3]);
    return 2;
  }
  if (lseek(fd, 0, SEEK_END) < pages * kPage) {
    std::fprintf(stderr, "page_cost: %s is shorter than %ld pages\n", argv[3], pages);
    return 2;
  }
  std::map<std::string, std::vector<double>> us;
  volatile char sink = 0;
  for (int r = 0; r < rounds; ++r) {
    double t = Now();
    for (int i = 0; i < 1000; ++i) syscall(SYS_getppid);
    us["syscall"].push_back((Now() - t) / 1000);

    char* p = Map(pages, -1);
    t = Now();
    for (long i = 0; i < pages; ++i) p[i * kPage] = 1;
    us["anon-touch"].push_back((Now() - t) / pages);
    munmap(p, pages * kPage);

    p = Map(pages, fd);
    t = Now();
    for (long i = 0; i < pages; i += kWindow) sink = sink + p[i * kPage];
    us["file-fault"].push_back((Now() - t) / (pages / kWindow));
    t = Now();
    for (long i = 0; i < pages; ++i)
      if (i % kWindow) sink = sink + p[i * kPage];
    us["file-rest"].push_back((Now() - t) / (pages - pages / kWindow));
    munmap(p, pages * kPage);

    p = Map(pages, fd);
    t = Now();
    if (madvise(p, pages * kPage, MADV_POPULATE_READ) != 0) {
      std::perror("page_cost: madvise(MADV_POPULATE_READ)");
      return 1;
    }
    us["populate"].push_back((Now() - t) / pages);
    t = Now();
    for (long i = 0; i < pages; ++i) sink = sink + p[i * kPage];
    us["after-pop"].push_back((Now() - t) / pages);
    munmap(p, pages * kPage);

#if defined(__x86_64__) || defined(__i386__)
    unsigned a = 0, b = 0, c = 0, d = 0;
    t = Now();
    for (unsigned i = 0; i < 100; ++i) __cpuid_count(0x80000005 + (i & 1), 0, a, b, c, d);
    us["cpuid"].push_back((Now() - t) / 100);
    sink = sink + static_cast<char>(a ^ b ^ c ^ d);
#endif
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  double base = median(us["syscall"]);
  std::printf("%ld pages, %d rounds; medians in microseconds\n", pages, rounds);
  for (const char* name :
       {"syscall", "anon-touch", "file-fault", "file-rest", "populate", "after-pop", "cpuid"}) {
    if (!us.contains(name)) continue;
    double m = median(us[name]);
    std::printf("%-11s %8.2f  %6.1fx a syscall\n", name, m, m / base);
  }
  return 0;
}
