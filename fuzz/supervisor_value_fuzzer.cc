// The escaping that keeps values inert in supervisord's configuration
// (SupervisorValue) and in its shlex-split command= line (ShellQuote),
// checked against a model of how supervisord reads them back: Python's
// configparser (a value ends at a line break; inline comments start at ';'
// or '#'; white space around the value is stripped), then supervisord's
// %-expansion, then shlex in POSIX mode for command=. Whatever the bytes,
// an escaped value either is refused with sarge::Error or reads back as
// exactly the original: never as a second line, key, section or
// interpolation.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_util.h"
#include "sarge/error.h"
#include "sarge/supervisor_config.h"

namespace {

using sarge::fuzz::Broken;

// The code points Python's str.strip() removes, as UTF-8, besides ASCII
// white space.
const std::vector<std::string_view> kUnicodeSpace = {
    "\xc2\x85",     "\xc2\xa0",     "\xe1\x9a\x80", "\xe2\x80\x80", "\xe2\x80\x81",
    "\xe2\x80\x82", "\xe2\x80\x83", "\xe2\x80\x84", "\xe2\x80\x85", "\xe2\x80\x86",
    "\xe2\x80\x87", "\xe2\x80\x88", "\xe2\x80\x89", "\xe2\x80\x8a", "\xe2\x80\xa8",
    "\xe2\x80\xa9", "\xe2\x80\xaf", "\xe2\x81\x9f", "\xe3\x80\x80"};

std::string_view PythonStrip(std::string_view s) {
  for (bool changed = true; changed;) {
    changed = false;
    while (!s.empty() && std::string_view(" \t\n\r\v\f\x1c\x1d\x1e\x1f").find(s.front()) !=
                             std::string_view::npos) {
      s.remove_prefix(1);
      changed = true;
    }
    while (!s.empty() && std::string_view(" \t\n\r\v\f\x1c\x1d\x1e\x1f").find(s.back()) !=
                             std::string_view::npos) {
      s.remove_suffix(1);
      changed = true;
    }
    for (auto space : kUnicodeSpace) {
      if (s.starts_with(space)) s.remove_prefix(space.size()), changed = true;
      if (s.ends_with(space)) s.remove_suffix(space.size()), changed = true;
    }
  }
  return s;
}

// How supervisord reads `key=<written>`: nullopt if the line would not be
// one key with one value (a line break, an inline comment), or if
// %-expansion would fail or substitute something.
std::optional<std::string> ReadBack(std::string_view written) {
  for (size_t i = 0; i < written.size(); ++i) {
    char c = written[i];
    if (c == '\n' || c == '\r') return std::nullopt;
    // configparser: ';' or '#' after white space starts an inline comment.
    if ((c == ';' || c == '#') && i > 0 && (written[i - 1] == ' ' || written[i - 1] == '\t'))
      return std::nullopt;
  }
  std::string_view value = PythonStrip(written);
  std::string out;
  for (size_t i = 0; i < value.size(); ++i) {
    if (value[i] != '%') {
      out += value[i];
      continue;
    }
    if (i + 1 == value.size() || value[i + 1] != '%') return std::nullopt;  // %(x)s, a bad %
    out += '%';
    ++i;
  }
  return out;
}

// shlex.split(s) in POSIX mode, for the subset of syntax ShellQuote and
// ProgramConf use (and anything else, conservatively): nullopt if unbalanced.
std::optional<std::vector<std::string>> ShlexSplit(std::string_view s) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      if (in_word) words.push_back(word), word.clear(), in_word = false;
    } else if (c == '\'') {
      size_t end = s.find('\'', i + 1);
      if (end == std::string_view::npos) return std::nullopt;
      word.append(s.substr(i + 1, end - i - 1));
      i = end;
      in_word = true;
    } else if (c == '"') {
      return std::nullopt;  // ShellQuote never writes one outside single quotes
    } else if (c == '\\') {
      if (i + 1 == s.size()) return std::nullopt;
      word += s[++i];
      in_word = true;
    } else if (c == '#' && !in_word) {
      break;  // shlex comments
    } else {
      word += c;
      in_word = true;
    }
  }
  if (in_word) words.push_back(word);
  return words;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string input(reinterpret_cast<const char*>(data), size);

  // A plain value: refused, or read back byte for byte.
  try {
    std::string written = sarge::SupervisorValue(input);
    auto back = ReadBack(written);
    if (!back || *back != input) Broken("SupervisorValue does not read back", written);
  } catch (const sarge::Error& e) {
    sarge::fuzz::CheckMessage(e.what());
  }

  // A shell word: one word, byte for byte (argv cannot hold NUL).
  if (input.find('\0') == std::string::npos) {
    auto words = ShlexSplit(sarge::ShellQuote(input));
    if (!words || words->size() != 1 || (*words)[0] != input)
      Broken("ShellQuote does not split back into the one word", sarge::ShellQuote(input));
  }

  // command= as ProgramConf writes it: three words whatever the path.
  if (input.find('\0') == std::string::npos) {
    try {
      std::string written = sarge::SupervisorValue(sarge::ShellQuote(input) + " launch web-abcdef");
      auto back = ReadBack(written);
      auto words = back ? ShlexSplit(*back) : std::nullopt;
      if (!words || *words != std::vector<std::string>{input, "launch", "web-abcdef"})
        Broken("command= does not read back as three words", written);
    } catch (const sarge::Error& e) {
      sarge::fuzz::CheckMessage(e.what());
    }
  }
  return 0;
}
