// Names that end up in paths, supervisord sections and environment variables.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace sarge {

// True for a non-empty name of at most 64 characters from [A-Za-z0-9_-].
// Such a name is safe as a file name, a supervisord program name and an
// nginx token, and cannot be a path.
bool IsSafeName(std::string_view name);

// True if `text` is one or more ASCII digits.
bool AllDigits(std::string_view text);

// The variables sarge sets for every process (SARGEAPP_CFG, SARGE_HOME,
// SARGE_INSTANCE_ID, SARGE_PROCESS): no configuration may set them.
bool IsSetBySarge(std::string_view name);

// Throws Error "<what> '<name>' …" unless IsSafeName(name). `what` is e.g.
// "application_name" or "instance id".
void CheckSafeName(std::string_view what, std::string_view name);

// "<app>-" followed by six random letters and digits.
std::string NewInstanceId(std::string_view app);

// The environment-variable spelling of a service name: capitals, '-' as '_'.
std::string EnvName(std::string_view service);

// True for a POSIX environment variable name: [A-Za-z_][A-Za-z0-9_]*.
bool IsEnvName(std::string_view name);

// The candidate closest to `word` by edit distance, if it is close enough to
// be a likely typo; empty otherwise.
std::string ClosestMatch(std::string_view word, const std::vector<std::string>& candidates);

// How many bytes of a value Quoted shows before it cuts the rest.
inline constexpr size_t kQuotedMax = 100;

// `text` made safe to print on one line of a terminal: control characters
// (C0 and C1), bytes that are not valid UTF-8, and invisible characters
// that change how a line reads (line separators, zero-width and
// bidirectional marks and overrides) escaped as \n, \r, \t, \xNN or
// \uNNNN; other UTF-8 kept.
std::string Printable(std::string_view text);

// Printable(line) for each line of `text`, the newlines between them kept:
// another program's output (a log's tail) shown under an error.
std::string PrintableLines(std::string_view text);

// Quotes `value` for display in an error message: 'value', escaped as
// Printable does, so the message stays one line whatever the value holds.
// A value longer than kQuotedMax bytes is cut: 'first bytes'… (N bytes).
std::string Quoted(std::string_view value);

// Printable(text), cut after `max` bytes (at a character boundary) with
// "…" added: for messages that quote long text, such as a server's answer.
std::string Excerpt(std::string_view text, size_t max);

// The end of `text`, at most `max` bytes of it, starting at a character.
std::string_view KeepEnd(std::string_view text, size_t max);

// How many bytes of another program's message (a hook's first line of
// stderr, a parser's or CLI11's error) an error message quotes.
inline constexpr size_t kExcerptMax = 200;

// The most bytes of one "sarge: error: …" line.
inline constexpr size_t kMessageMax = 2000;

// `message` as main() prints it: escaped as Printable does, and if it is
// longer than kMessageMax bytes its start and its end (where the advice is)
// kept around "…". Every message is already bounded where it is made; this
// is the last resort if one is not.
std::string MessageLine(std::string_view message);

// The length of the valid UTF-8 sequence starting at text[at], or 0 if the
// bytes there are not one (overlong forms, surrogates and values past
// U+10FFFF are not valid).
size_t Utf8SequenceLength(std::string_view text, size_t at);

// How many bytes a UTF-8 sequence starting with `lead` has: 1 to 4, or 0
// for a byte no valid sequence starts with.
size_t Utf8LeadLength(unsigned char lead);

// `text` with every byte that is not part of valid UTF-8 replaced by U+FFFD.
std::string ValidUtf8(std::string_view text);

}  // namespace sarge
