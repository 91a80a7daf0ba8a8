#include "sarge/duration.h"

#include <charconv>

#include <fmt/format.h>

#include "sarge/error.h"
#include "sarge/names.h"

namespace sarge {

std::optional<std::chrono::milliseconds> ParseDuration(std::string_view text) {
  constexpr double kMaxMs = 24.0 * 3600 * 1000;
  double value = 0;
  auto [end, ec] =
      std::from_chars(text.data(), text.data() + text.size(), value, std::chars_format::fixed);
  if (ec != std::errc() || text.empty() || !(text[0] >= '0' && text[0] <= '9')) return std::nullopt;
  std::string_view unit(end, static_cast<size_t>(text.data() + text.size() - end));
  double ms = unit == "ms"                  ? value
              : unit == "s" || unit.empty() ? value * 1000
              : unit == "m"                 ? value * 60 * 1000
                                            : -1;
  if (ms < 0 || ms > kMaxMs) return std::nullopt;
  return std::chrono::milliseconds(static_cast<long long>(ms + 0.5));
}

std::chrono::milliseconds DurationArgument(std::string_view what, std::string_view text) {
  if (auto d = ParseDuration(text)) return *d;
  throw UsageError(fmt::format(
      "{} {} is not a duration; give seconds (1.5) or a number with ms, s or m (500ms, 30s, 2m), "
      "at most a day",
      what, Quoted(text)));
}

std::string FormatDuration(std::chrono::milliseconds d) {
  if (d.count() < 1000) return fmt::format("{} ms", d.count());
  if (d.count() % 1000 == 0) return fmt::format("{} s", d.count() / 1000);
  return fmt::format("{:.1f} s", static_cast<double>(d.count()) / 1000);
}

}  // namespace sarge
