"""Shared helpers for sarge's benchmark scripts (standard library only).

Each timed sample is the whole-process wall time of one command: from just
before os.posix_spawn() to just after os.wait4() reaps the child, measured
with time.perf_counter_ns(). posix_spawn (vfork+exec under glibc) keeps the
harness's own overhead small and the same for every command, so a baseline
such as /bin/true measured in the same run shows what any process costs here.
"""

import math
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SARGE = REPO_ROOT / "build" / "sarge"

# The instance configuration every benchmark creates: one allocated port and
# one persistent folder, so `configure` does real work.
INSTANCE_JSON = ('{"application_name":"web","services":{"web":{"type":"listen"},'
                 '"data":{"type":"persistent-folder"}}}')


def die(message):
    print(f"bench: error: {message}", file=sys.stderr)
    sys.exit(1)


def find_cxx():
    """The C++ compiler for the benches' own programs ($CXX, c++ or g++), or None."""
    return shutil.which(os.environ.get("CXX", "c++")) or shutil.which("g++")


def note(message):
    print(f"bench: {message}", file=sys.stderr, flush=True)


def resolve_program(name):
    """Absolute path of a program, so PATH search is not part of the timing."""
    if os.sep in name:
        path = Path(name)
        if not (path.is_file() and os.access(path, os.X_OK)):
            hint = ("; build it with: cmake -S . -B build -G Ninja && cmake --build build"
                    if path.name == "sarge" else "")
            die(f"{name} is not an executable file{hint}")
        return str(path.resolve())
    found = shutil.which(name)
    if not found:
        die(f"{name} not found on PATH")
    return found


def default_python():
    """Debian's interpreter (what supervisorctl runs with) when present."""
    return "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) else resolve_program("python3")


def machine_description():
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), {model}, Linux {os.uname().release}"


def load_average():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "unknown"


def filesystem_of(path):
    """Filesystem type holding `path` (fsync cost depends on it)."""
    try:
        out = subprocess.run(["df", "--output=fstype", str(path)], capture_output=True, text=True)
        lines = out.stdout.split()
        return lines[-1] if out.returncode == 0 and len(lines) >= 2 else "unknown"
    except OSError:
        return "unknown"


class Sample:
    __slots__ = ("ns", "cpu_ns", "stdout", "exit_code")

    def __init__(self, ns, cpu_ns, stdout, exit_code):
        self.ns, self.cpu_ns, self.stdout, self.exit_code = ns, cpu_ns, stdout, exit_code


class Runner:
    """Spawns commands with stdout/stderr in scratch files and times them."""

    def __init__(self, scratch_dir):
        self.out_path = os.path.join(scratch_dir, "bench.stdout")
        self.err_path = os.path.join(scratch_dir, "bench.stderr")
        self.env = dict(os.environ)

    def run(self, argv, check=True):
        out_fd = os.open(self.out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        err_fd = os.open(self.err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        null_fd = os.open(os.devnull, os.O_RDONLY)
        actions = [(os.POSIX_SPAWN_DUP2, null_fd, 0),
                   (os.POSIX_SPAWN_DUP2, out_fd, 1),
                   (os.POSIX_SPAWN_DUP2, err_fd, 2)]
        try:
            start = time.perf_counter_ns()
            pid = os.posix_spawn(argv[0], argv, self.env, file_actions=actions)
            _, status, usage = os.wait4(pid, 0)
            elapsed = time.perf_counter_ns() - start
        finally:
            os.close(out_fd)
            os.close(err_fd)
            os.close(null_fd)
        with open(self.out_path, "rb") as f:
            stdout = f.read()
        code = os.waitstatus_to_exitcode(status)
        if check and code != 0:
            with open(self.err_path, "rb") as f:
                stderr = f.read().decode(errors="replace").strip()
            die(f"{' '.join(argv)} exited with {code}: {stderr}")
        cpu_ns = int((usage.ru_utime + usage.ru_stime) * 1e9)
        # usage.ru_maxrss is not used: a posix_spawn (vfork) child inherits
        # this Python's high-water mark at exec. See peak_rss_kib().
        return Sample(elapsed, cpu_ns, stdout, code)

    def peak_rss_kib(self, argv):
        """Peak RSS of a command, via GNU time (its fork()ed child starts
        small), or None without /usr/bin/time. Not timed."""
        if not os.access("/usr/bin/time", os.X_OK):
            return None
        self.run(["/usr/bin/time", "-o", self.err_path + ".rss", "-f", "%M", *argv])
        with open(self.err_path + ".rss") as f:
            return int(f.read().split()[-1])


class Stats:
    def __init__(self, samples):
        times = sorted(s.ns / 1e6 for s in samples)
        self.n = len(times)
        self.min = times[0]
        self.median = statistics.median(times)
        self.p90 = times[max(0, math.ceil(0.9 * self.n) - 1)]  # nearest rank
        self.max = times[-1]
        self.cpu_median = statistics.median(s.cpu_ns / 1e6 for s in samples)

    def as_dict(self):
        return {k: round(getattr(self, k), 4) for k in
                ("n", "min", "median", "p90", "max", "cpu_median")}


class Probe:
    """One thing to time. `argv()` is called before each run (untimed);
    `after(sample)` after it (untimed), e.g. to clean up or collect an id."""

    def __init__(self, name, argv, after=None, label=None):
        self.name = name
        self.label = label or name
        self._argv = argv
        self._after = after
        self.samples = []

    def argv(self):
        return self._argv() if callable(self._argv) else self._argv

    def after(self, sample):
        if self._after:
            self._after(sample)


def interleave(runner, slots, runs, warmup=3):
    """Runs every slot once per round, in a fresh random order each round,
    so drift and noise on a busy machine hit every probe alike. A slot is a
    list of probes run back to back (for dependent steps such as `new` then
    the first `configure` of the new id)."""
    rng = random.Random(1234)
    total = warmup + runs
    for round_no in range(total):
        order = list(slots)
        rng.shuffle(order)
        for slot in order:
            for probe in slot:
                sample = runner.run(probe.argv())
                probe.after(sample)
                if round_no >= warmup:
                    probe.samples.append(sample)


def print_table(headers, rows, out=sys.stdout):
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) for i, h in enumerate(headers)]
    def line(cells):
        return "  ".join(str(c).rjust(w) if i else str(c).ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths)))
    print(line(headers), file=out)
    print("  ".join("-" * w for w in widths), file=out)
    for r in rows:
        print(line(r), file=out)


_destroy_warned = False


def discard_instance(runner, sarge, home, ident):
    """Untimed `sarge HOME destroy ID` (files only while supervisord is not
    running), so a timed `new` leaves the home at its size. If destroy
    fails, warns once and leaves the instance: the home then grows by one
    instance per round."""
    global _destroy_warned
    sample = runner.run([sarge, home, "destroy", ident], check=False)
    if sample.exit_code != 0 and not _destroy_warned:
        _destroy_warned = True
        note(f"warning: sarge destroy {ident} failed (exit {sample.exit_code}); "
             "instances made by the timed `new` stay in the home")


def make_home(sarge, runner, parent=None):
    home = tempfile.mkdtemp(prefix="sarge-bench-", dir=parent)
    runner.run([sarge, home, "init"])
    return home
