// start, stop and destroy: an instance's life under supervisord.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "sarge/env.h"
#include "sarge/records.h"
#include "sarge/runtime_config.h"

namespace sarge {

// Configures the instance, makes sure supervisord has its program, starts it
// and returns once it is up: every listen port accepting connections, or,
// without listen services, supervisord reporting RUNNING. If it exits or is
// not up within `timeout`, stops it and throws Error with the reason and the
// tail of its log. Returns the pid and the runtime configuration it got.
// A process that is up: its supervisord program (processes.h) and pid.
struct Up {
  std::string program;
  int pid = 0;
};
struct Started {
  int pid = 0;  // the first web process's
  nlohmann::json appcfg;
  bool already = false;         // it was running: nothing was started
  std::vector<Up> processes{};  // every process, the first web one first
};
// With `min_uptime`, the server must then stay up that long (WaitStaysUp);
// without, the caller watches it (deploy checks its URL first).
Started StartInstance(Env& env, Record& record, std::chrono::seconds timeout,
                      std::optional<std::chrono::milliseconds> min_uptime = std::nullopt);

// Watches the processes `up` of one instance, up now, for `min_uptime`,
// then until supervisord says RUNNING (at most `timeout` more). If one exits
// or is started again meanwhile, stops the instance and throws Error as
// StartInstance does, with the exit status, how long it was up and the tail
// of its log.
void WaitStaysUp(Env& env, const std::vector<Up>& up, std::chrono::milliseconds min_uptime,
                 std::chrono::seconds timeout);

// Why the server `pid` that supervisord started for `id`, which has exited,
// is gone: "it exited (exit status 3), and supervisord started it again".
std::string WhyItExited(Env& env, const std::string& id, int pid);

// `restart APP TYPE`: stops and starts again, one after another, each
// process of `type` of the running instance `record`, each watched for
// `min_uptime` before the next. Returns them, restarted. Throws Error for a
// type it runs no process of, or a process that did not stay up (which
// supervisord goes on restarting, as after a crash).
std::vector<Up> RestartInPlace(Env& env, const Record& record, const std::string& type,
                               std::chrono::seconds timeout, std::chrono::milliseconds min_uptime);

// The programs of the processes of `types` of the instance `record`.
std::vector<std::string> ProgramsOfTypes(const Record& record,
                                         const std::vector<std::string>& types);

// Stops the processes of `types` of the instance `record` (the singletons
// of sarge.yaml, before a deploy starts the new instance), keeping them
// loaded; returns their programs.
std::vector<std::string> StopTypes(Env& env, const Record& record,
                                   const std::vector<std::string>& types);

// Starts `programs` (stopped by StopTypes) again, without waiting: the undo
// of a deploy that failed. Says, rather than throws, what fails.
void StartAgain(Env& env, const std::vector<std::string>& programs);

// Starts every instance whose record says it was running (autostart), as
// after supervisord starts at boot; says which, and reports failures without
// stopping at the first. Returns the number that failed.
int ResumeInstances(Env& env, std::chrono::seconds timeout);

// Stops the instance's whole process group, waits until supervisord has
// reaped it and, unless told to keep it, has supervisord unload the program
// (only running instances stay loaded: each loaded program costs every pass
// of supervisord's main loop). Returns false if it was not running.
enum class Unloading { kUnload, kKeepLoaded };
bool StopInstance(Env& env, const std::string& id, Unloading unloading = Unloading::kUnload);

// StopInstance for the given programs of the instance `id` (processes.h),
// whatever its program file says now. Returns whether `id`'s own (the first
// web process) was running.
bool StopPrograms(Env& env, const std::string& id, const std::vector<std::string>& programs,
                  Unloading unloading);

// Stops the instance if running, then removes all of it: supervisord program,
// ports, runtime files, scratch folders, instance folder and, last, the
// record, so an interrupted destroy can simply be run again.
void DestroyInstance(Env& env, const Record& record);

// The last `lines` lines of `path` (empty if it does not exist).
std::string TailFile(const fs::path& path, int lines);

// The commands on one instance, given an Env whose supervisord answered
// (destroy's need not). Each says what it did and notes it in the action
// log. Stop and destroy refuse the instance its application's front end
// routes to, unless `force`.
void StartCommand(Env& env, const std::string& id, std::optional<std::chrono::seconds> timeout,
                  std::optional<std::chrono::milliseconds> min_uptime);
void StopCommand(Env& env, const std::string& id, bool force);
void DestroyCommand(Env& env, const std::string& id, bool force);
// Starts every instance that was running when supervisord stopped (it
// waits a few seconds for supervisord to answer). Returns how many failed.
int ResumeCommand(Env& env);

}  // namespace sarge
