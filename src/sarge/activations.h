// Each application's activation history: which instance its front end
// routed to, from when to when, switched by which command. `rollback`
// returns to the instance that served before the current one, and a deploy
// keeps the instances that served most recently.
// File: etc/apps/APP/activations.json, a JSON array, oldest first.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "sarge/home.h"

namespace sarge {

struct Activation {
  std::string id;    // the instance the front end routed to
  std::string from;  // UTC, ISO 8601 (records.h UtcNow)
  std::string to;    // empty while it still serves
  std::string by;    // "deploy", "rollback", "activate", …
};

// The history of `app`, oldest first; empty if it has none. Throws Error if
// the file cannot be read or parsed.
std::vector<Activation> LoadActivations(const Home& home, const std::string& app);

// Notes that `id` serves `app` from now on (by `by`), ending the entry
// before it. Keeps the newest 200 entries. Writes atomically.
void NoteActivation(const Home& home, const std::string& app, const std::string& id,
                    const std::string& by);

// Notes that nothing serves `app` any more (its site was removed).
void NoteDeactivation(const Home& home, const std::string& app);

// The instance that served `app` before `current`, most recent first:
// every id of the history other than `current`, each once.
std::vector<std::string> ServedBefore(const std::vector<Activation>& history,
                                      const std::string& current);

}  // namespace sarge
