// Servers left running by a supervisord that died (kill -9, the OOM killer):
// `sarge launch` remembers each server's pid and start time, so a later
// start can find such an orphan and stop it before starting the instance
// under the new supervisord (it would otherwise hold the instance's ports).
#pragma once

#include <chrono>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "sarge/env.h"
#include "sarge/home.h"

namespace sarge {

// var/run/ID/server.pid (the first web process), var/run/ID/TYPE.N.pid
// (process ID.TYPE.N): "PID STARTTIME\n", STARTTIME from /proc/PID/stat.
fs::path ServerPidFile(const Home& home, const std::string& program);

// Writes this process's pid and start time (sarge launch, before exec).
void RememberServer(const Home& home, const std::string& program);

// The pid of the process `launch` last started for `program` if it
// still runs (same pid and start time, so not a reused pid), belongs to
// this user and runs from the instance's folder.
std::optional<int> LiveServer(const Home& home, const std::string& program);

// Stops the orphan `pid` and its process group (supervisord gives each
// program its own): SIGTERM, up to `grace` to exit, then SIGKILL. Throws
// Error if it is still there after that. A zombie counts as stopped (an
// orphan's new parent may be slow to reap it, or, in a container, never do so).
void StopOrphan(Env& env, int pid, std::chrono::milliseconds grace);

// Whether `pid` is `ancestor` or one of its descendants (/proc's parents).
bool DescendsFrom(int pid, int ancestor);

// The processes of this user running from `dir` (their working folder, or
// a folder in it) that listen on one of the TCP `ports` and are not
// `supervisor`'s descendants: what a server that daemonized left behind,
// out of supervisord's reach. Found through /proc/net/tcp, /proc/net/tcp6
// and /proc/PID/fd.
std::vector<int> StrayListeners(const fs::path& dir, int supervisor, const std::set<int>& ports);

// The live processes of this user running from `dir`, not `supervisor`'s
// descendants nor this process's, that started at or after `since` (clock
// ticks after boot, as /proc/PID/stat counts): what a server that
// daemonized may have forked and that may not listen yet.
std::vector<int> StraysStartedSince(const fs::path& dir, int supervisor, unsigned long long since);

}  // namespace sarge
