#include "sarge/hooks.h"

#include <fmt/format.h>

#include "sarge/error.h"
#include "sarge/names.h"

namespace sarge {
namespace {

using nlohmann::json;

// Escaped and cut: a hook's output cannot end the line or move the cursor.
std::string FirstLine(const std::string& text) {
  return Excerpt(std::string_view(text).substr(0, text.find('\n')), kExcerptMax);
}

// `program` is the hook as messages show it.
json ParseAnswer(const std::string& program, const std::string& event, const std::string& out) {
  if (out.find_first_not_of(" \t\r\n") == std::string::npos) return json::object();
  json answer;
  try {
    answer = json::parse(out);
  } catch (const json::exception&) {
    throw Error(fmt::format("hook {} for {} printed something that is not JSON: {}", program, event,
                            Quoted(FirstLine(out))));
  }
  if (!answer.is_object())
    throw Error(fmt::format("hook {} for {} must print a JSON object", program, event));
  for (const auto& item : answer.items()) {
    if (!IsEnvName(item.key()) || !(item.value().is_string() || item.value().is_number()))
      throw Error(
          fmt::format("hook {} for {} printed {}: keys must be variable names and values "
                      "strings or numbers",
                      program, event, Quoted(item.key())));
  }
  return answer;
}

}  // namespace

json RunHooks(const Home& home, const Settings& settings, CommandRunner& runner,
              const std::string& event, const Record& record) {
  json merged = json::object();
  auto it = settings.hooks.find(event);
  if (it == settings.hooks.end()) return merged;
  json input = record.ToJson();
  input["event"] = event;
  input["home"] = home.root.string();
  std::string stdin_text = input.dump() + "\n";
  for (const auto& path : it->second) {
    std::string program = fs::path(path).is_absolute() ? path : (home.root / path).string();
    CommandResult r =
        runner.Run({program}, std::chrono::seconds(settings.hook_timeout), stdin_text);
    // sarge.yaml may name it with any characters: escaped and cut in messages.
    std::string shown = Excerpt(program, kQuotedMax);
    if (r.timed_out)
      throw Error(fmt::format("hook {} for {} took longer than {} s; it was killed", shown, event,
                              settings.hook_timeout),
                  r.errors);
    if (r.exit_code != 0) {
      // The first line of its stderr goes in the message; all of it, if longer, after.
      std::string errors = r.errors;
      while (!errors.empty() && errors.back() == '\n') errors.pop_back();
      throw Error(fmt::format("hook {} for {} failed (exit status {}){}", shown, event, r.exit_code,
                              errors.empty() ? "" : ": " + FirstLine(errors)),
                  errors.find('\n') == std::string::npos ? std::string() : errors);
    }
    if (event == hook::kConfiguring) merged.update(ParseAnswer(shown, event, r.output));
  }
  return merged;
}

}  // namespace sarge
