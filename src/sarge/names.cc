#include "sarge/names.h"

#include <algorithm>
#include <cstdint>

#include <fmt/format.h>

#include "sarge/error.h"
#include "sarge/random.h"

namespace sarge {
namespace {

constexpr size_t kMaxNameLength = 64;

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

// Optimal string alignment distance: insertions, deletions, substitutions
// and transpositions of neighbours each count one, so "lsit" is one edit
// from "list" (and two from "init").
size_t EditDistance(std::string_view a, std::string_view b) {
  const size_t width = b.size() + 1;
  std::vector<size_t> d((a.size() + 1) * width);
  auto at = [&](size_t i, size_t j) -> size_t& { return d[i * width + j]; };
  for (size_t i = 0; i <= a.size(); ++i) at(i, 0) = i;
  for (size_t j = 0; j <= b.size(); ++j) at(0, j) = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      at(i, j) = std::min({at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        at(i, j) = std::min(at(i, j), at(i - 2, j - 2) + 1);
    }
  }
  return at(a.size(), b.size());
}

// The code point of a valid UTF-8 sequence.
unsigned CodePoint(std::string_view sequence) {
  auto byte = [&](size_t i) { return static_cast<unsigned char>(sequence[i]); };
  if (sequence.size() == 1) return byte(0);
  unsigned code = byte(0) & (0xff >> (sequence.size() + 1));
  for (size_t i = 1; i < sequence.size(); ++i) code = (code << 6) | (byte(i) & 0x3f);
  return code;
}

// Characters that are not what they look like in a terminal: C1 controls,
// zero-width and direction marks, the bidirectional overrides that can make
// text read differently from what it holds, line and paragraph separators,
// the byte order mark.
bool IsInvisible(unsigned code) {
  return (code >= 0x80 && code <= 0x9f) || (code >= 0x200b && code <= 0x200f) ||
         (code >= 0x2028 && code <= 0x202e) || (code >= 0x2060 && code <= 0x2069) || code == 0xfeff;
}

}  // namespace

bool IsSetBySarge(std::string_view name) {
  return name == "SARGEAPP_CFG" || name == "SARGE_HOME" || name == "SARGE_INSTANCE_ID" ||
         name == "SARGE_PROCESS";
}

bool AllDigits(std::string_view text) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool IsSafeName(std::string_view name) {
  return !name.empty() && name.size() <= kMaxNameLength &&
         std::all_of(name.begin(), name.end(), IsNameChar);
}

void CheckSafeName(std::string_view what, std::string_view name) {
  if (IsSafeName(name)) return;
  if (name.empty()) throw Error(fmt::format("{} is empty; give a name", what));
  if (name.size() > kMaxNameLength)
    throw Error(fmt::format("{} {} is longer than {} characters", what, Quoted(name.substr(0, 20)),
                            kMaxNameLength));
  throw Error(
      fmt::format("{} {} is not valid: use letters, digits, '_' and '-' only", what, Quoted(name)));
}

std::string NewInstanceId(std::string_view app) {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  // One draw for all six characters (62^6 < 2^36, in 64 bits on any
  // platform), read as six base-62 digits: as uniform as six draws, with
  // one getrandom call instead of six.
  uint64_t combinations = 1;
  for (int i = 0; i < 6; ++i) combinations *= kAlphabet.size();
  uint64_t draw = RandomBelow(combinations);
  std::string id(app);
  id += '-';
  for (int i = 0; i < 6; ++i, draw /= kAlphabet.size()) id += kAlphabet[draw % kAlphabet.size()];
  return id;
}

std::string EnvName(std::string_view service) {
  std::string out(service);
  for (char& c : out) {
    if (c == '-') c = '_';
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

bool IsEnvName(std::string_view name) {
  if (name.empty() || (name[0] >= '0' && name[0] <= '9')) return false;
  return std::all_of(name.begin(), name.end(), [](char c) { return IsNameChar(c) && c != '-'; });
}

std::string ClosestMatch(std::string_view word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_distance = std::max<size_t>(2, word.size() / 3) + 1;
  for (const auto& candidate : candidates) {
    size_t d = EditDistance(word, candidate);
    if (d < best_distance) {
      best_distance = d;
      best = candidate;
    }
  }
  return best;
}

size_t Utf8LeadLength(unsigned char lead) {
  return lead < 0x80                    ? 1
         : lead >= 0xc2 && lead <= 0xdf ? 2
         : lead >= 0xe0 && lead <= 0xef ? 3
         : lead >= 0xf0 && lead <= 0xf4 ? 4
                                        : 0;
}

size_t Utf8SequenceLength(std::string_view text, size_t at) {
  auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  unsigned char lead = byte(at);
  if (lead < 0x80) return 1;
  size_t length = Utf8LeadLength(lead);
  if (length == 0 || at + length > text.size()) return 0;
  // The second byte's range depends on the lead (no overlong forms, no
  // surrogates, nothing past U+10FFFF); the others are plain continuations.
  unsigned char low = lead == 0xe0 ? 0xa0 : lead == 0xf0 ? 0x90 : 0x80;
  unsigned char high = lead == 0xed ? 0x9f : lead == 0xf4 ? 0x8f : 0xbf;
  if (byte(at + 1) < low || byte(at + 1) > high) return 0;
  for (size_t i = 2; i < length; ++i)
    if ((byte(at + i) & 0xc0) != 0x80) return 0;
  return length;
}

std::string ValidUtf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    size_t n = Utf8SequenceLength(text, i);
    if (n == 0) {
      out += "\xef\xbf\xbd";  // U+FFFD
      ++i;
    } else {
      out.append(text.substr(i, n));
      i += n;
    }
  }
  return out;
}

std::string Printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    size_t n = Utf8SequenceLength(text, i);
    std::string_view sequence = text.substr(i, n == 0 ? 1 : n);
    i += sequence.size();
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (n == 0 || c < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02x}", c);
    } else if (IsInvisible(CodePoint(sequence))) {
      out += fmt::format("\\u{:04x}", CodePoint(sequence));
    } else {
      out.append(sequence);
    }
  }
  return out;
}

namespace {

// A byte inside a UTF-8 character, after its first.
bool Continues(char byte) { return (static_cast<unsigned char>(byte) & 0xc0) == 0x80; }

// `text` cut to at most `max` bytes without splitting a character.
std::string_view CutAt(std::string_view text, size_t max) {
  if (text.size() <= max) return text;
  size_t cut = max;
  while (cut > 0 && Continues(text[cut])) --cut;
  return text.substr(0, cut);
}

}  // namespace

std::string_view KeepEnd(std::string_view text, size_t max) {
  if (text.size() <= max) return text;
  size_t cut = text.size() - max;
  while (cut < text.size() && Continues(text[cut])) ++cut;
  return text.substr(cut);
}

std::string Excerpt(std::string_view text, size_t max) {
  std::string_view cut = CutAt(text, max);
  return Printable(cut) + (cut.size() < text.size() ? "…" : "");
}

std::string MessageLine(std::string_view message) {
  std::string line = Printable(message);
  if (line.size() <= kMessageMax) return line;
  static constexpr std::string_view kGap = "…";
  std::string_view head = CutAt(line, kMessageMax / 2);
  return fmt::format("{}{}{}", head, kGap, KeepEnd(line, kMessageMax - head.size() - kGap.size()));
}

std::string PrintableLines(std::string_view text) {
  std::string out;
  for (size_t at = 0; at <= text.size();) {
    size_t end = std::min(text.find('\n', at), text.size());
    out += Printable(text.substr(at, end - at));
    if (end < text.size()) out += '\n';
    at = end + 1;
  }
  return out;
}

std::string Quoted(std::string_view value) {
  if (value.size() <= kQuotedMax) return "'" + Printable(value) + "'";
  return fmt::format("'{}'… ({} bytes)", Printable(CutAt(value, kQuotedMax)), value.size());
}

}  // namespace sarge
