// What `list` and `status` say of one instance: its record with the live
// state from supervisord merged in.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sarge/records.h"
#include "sarge/supervisor.h"

namespace sarge {

// The live members of an instance: "state" (null when supervisord is not
// running, STOPPED when it has not loaded the program), and "pid",
// "started" (unix time), "exit_status" and "spawn_error" when they apply.
nlohmann::json LiveState(const ProcessInfo* info, bool supervisord_up);

// The record's JSON with LiveState merged in.
nlohmann::json Describe(Record&& record, const ProcessInfo* info, bool supervisord_up);

// An instance of `list`, rendered from its record while supervisord is
// still answering: afterwards only the live members are merged in. The text
// it writes is Describe(record, ...).dump(2) as it stands in the listing,
// every line after the first indented by 4 more spaces.
class ListedInstance {
 public:
  explicit ListedInstance(Record&& record);

  const std::string& id() const { return id_; }

  // Appends the instance's text to `out`.
  void AppendTo(std::string& out, const ProcessInfo* info, bool supervisord_up) const;

 private:
  std::string id_;
  std::string text_;  // every member of the record, each as `"key": value`, one after another
  std::vector<uint32_t> starts_;  // where each member starts in text_
};

// `list`: {"instances": [...]} with each record and, if supervisord
// answers, its live state and pid ("state": null when supervisord is not
// running).
nlohmann::json ListInstances(const Home& home, Supervisor& supervisor);
// Writes ListInstances(home, supervisor).dump(2) and a newline to `out`, an
// instance at a time.
void WriteListing(const Home& home, Supervisor& supervisor, std::ostream& out);

}  // namespace sarge
