# shellcheck shell=bash
# Helpers for the package and bootstrap tests (sourced). A check that fails
# prints FAIL: and what it expected, and exits 1. There are no skips: a tool
# these tests need and do not find is a failure (scripts/install-deps
# installs every one of them).

# shellcheck disable=SC2034  # used by the scripts that source this
ci=false
[ "${CI:-}" = true ] && ci=true

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

need() {
  local tool
  for tool; do
    command -v "$tool" >/dev/null || fail "$tool is not installed; scripts/install-deps installs it"
  done
}

expect_eq() {  # WHAT EXPECTED ACTUAL
  [ "$2" == "$3" ] || fail "$1: expected
$2
but got
$3"
}

expect_match() {  # WHAT REGEX ACTUAL
  [[ $3 =~ $2 ]] || fail "$1: expected a match for $2, got: $3"
}

run_ok() {  # COMMAND...: runs it; its stdout is passed on; a failure fails the test
  local err
  err=$(mktemp)
  if ! "$@" 2>"$err"; then
    fail "$* failed: $(cat "$err")"
  fi
  rm -f "$err"
}

wait_for() {  # WHAT COMMAND...: polls COMMAND for up to 10 s
  local what=$1
  shift
  for _ in $(seq 200); do
    "$@" && return 0
    sleep 0.05
  done
  fail "timed out waiting for $what"
}

free_port() {  # a TCP port on 127.0.0.1 free right now
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

alive() {  # PID: true if the process exists and is not a zombie
  local state
  state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
  [ -n "$state" ] && [ "$state" != Z ]
}

stop_supervisord() {  # HOME: stops the home's supervisord by its pid, if it runs
  local pidfile=$1/var/run/supervisord.pid pid
  [ -f "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 200); do
    alive "$pid" || return 0
    sleep 0.05
  done
  fail "supervisord (pid $pid) did not stop within 10 s"
}
