#!/usr/bin/env bash
# The Debian package, end to end. cpack builds it from the build folder (into
# a temporary folder); its control fields and file list are checked; then the
# sarge it holds goes through a short walkthrough (init, supervisord, new,
# start with an HTTP server on a free loopback port, stop, destroy), its bash
# completion is asked to complete, and its man page is rendered.
#
# With CI=true (a throwaway machine, as root) the package is really installed
# with dpkg and purged at the end. Otherwise it is unpacked with dpkg-deb -x
# into the temporary folder and nothing outside that folder changes.
#
# Usage: package_test.sh BUILD_DIR VERSION STATIC_DEPS(ON|OFF)
set -euo pipefail
# shellcheck source=tests/package/test_lib.sh
source "$(dirname "$0")/test_lib.sh"
build=$(realpath "$1") version=$2 static_deps=$3
need cpack dpkg-deb dpkg-shlibdeps groff gzip python3 curl supervisord
$ci && need dpkg

tmp=$(mktemp -d /tmp/sarge-package.XXXXXX)
chmod 755 "$tmp"
installed=false
cleanup() {
  stop_supervisord "$tmp/home"
  if $installed; then dpkg -P sarge >/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

# --- The package ---------------------------------------------------------------
(cd "$build" && cpack -G DEB -B "$tmp/cpack") >"$tmp/cpack.log" 2>&1 ||
  fail "cpack -G DEB failed: $(cat "$tmp/cpack.log")"
arch=$(dpkg --print-architecture)
deb=$tmp/cpack/sarge_${version}_$arch.deb
[ -f "$deb" ] || fail "no $deb; cpack made: $(ls "$tmp/cpack")"

field() { dpkg-deb -f "$deb" "$1"; }
expect_eq "Package" sarge "$(field Package)"
expect_eq "Version" "$version" "$(field Version)"
expect_eq "Architecture" "$arch" "$(field Architecture)"
expect_eq "Section" admin "$(field Section)"
expect_eq "Priority" optional "$(field Priority)"
expect_eq "Recommends" nginx "$(field Recommends)"
expect_match "Maintainer" '^[^<>]+ <[^<>@ ]+@[^<>@ ]+>$' "$(field Maintainer)"
expect_eq "Description's first line" \
  "deploy applications on this server under supervisord, behind nginx" \
  "$(field Description | head -1)"
if [ "$static_deps" = ON ]; then
  # sarge is a static PIE (SARGE_STATIC_DEPS): it needs no shared library.
  expect_eq "Depends" supervisor "$(field Depends)"
else
  expect_match "Depends" '(^|, )libc6 \(>= [0-9.]+\)(,|$)' "$(field Depends)"
  expect_match "Depends" '(^|, )supervisor(,|$)' "$(field Depends)"
fi
expect_match "the long description" '^( [^;]{1,78}
){4} [^;]{1,78}$' "$(field Description | tail -n +2)"
grep -qE '^ +[0-9]+ bytes, +[0-9]+ lines +md5sums *$' <<<"$(dpkg-deb -I "$deb")" ||
  fail "the package has no md5sums: $(dpkg-deb -I "$deb")"

# Mode, owner and path of everything in it: sarge, its man page, its
# completion, three documents, and nothing else (no test binaries).
expect_eq "dpkg-deb -c" "drwxr-xr-x root/root ./usr/
drwxr-xr-x root/root ./usr/bin/
-rwxr-xr-x root/root ./usr/bin/sarge
drwxr-xr-x root/root ./usr/share/
drwxr-xr-x root/root ./usr/share/bash-completion/
drwxr-xr-x root/root ./usr/share/bash-completion/completions/
-rw-r--r-- root/root ./usr/share/bash-completion/completions/sarge
drwxr-xr-x root/root ./usr/share/doc/
drwxr-xr-x root/root ./usr/share/doc/sarge/
-rw-r--r-- root/root ./usr/share/doc/sarge/README.md
-rw-r--r-- root/root ./usr/share/doc/sarge/configuration.md
-rw-r--r-- root/root ./usr/share/doc/sarge/security.md
drwxr-xr-x root/root ./usr/share/man/
drwxr-xr-x root/root ./usr/share/man/man1/
-rw-r--r-- root/root ./usr/share/man/man1/sarge.1.gz" \
  "$(dpkg-deb -c "$deb" | awk '$6 != "./" {print $1, $2, $6}' | sort -k3)"

# --- Installed (CI) or unpacked -------------------------------------------------
if $ci; then
  dpkg -i "$deb" >"$tmp/dpkg.log" 2>&1 || fail "dpkg -i failed: $(cat "$tmp/dpkg.log")"
  installed=true
  expect_eq "dpkg status" "install ok installed $version" \
    "$(dpkg-query -W -f='${Status} ${Version}' sarge)"
  root=""
else
  dpkg-deb -x "$deb" "$tmp/root"
  root=$tmp/root
fi
sarge=$root/usr/bin/sarge
completion=$root/usr/share/bash-completion/completions/sarge
manpage=$root/usr/share/man/man1/sarge.1.gz
expect_eq "sarge --version" "sarge $version" "$("$sarge" --version)"

# --- A walkthrough with the packaged sarge --------------------------------------
home=$tmp/home
run_ok "$sarge" "$home" init
grep -qF "$sarge" "$home/bin/sarge" || fail "bin/sarge does not run $sarge: $(cat "$home/bin/sarge")"
run_ok "$home/bin/supervisord"
wait_for "supervisord's socket" test -S "$home/var/run/supervisor.sock"

port=$(free_port)
id=$(run_ok "$home/bin/sarge" new \
  "{\"application_name\": \"web\", \"services\": {\"web\": {\"type\": \"listen\", \"host\": \"127.0.0.1\", \"port\": $port}}}")
expect_match "new's id" '^web-[A-Za-z0-9]{6}$' "$id"
cat >"$home/$id/server" <<'PY'
#!/usr/bin/env python3
import http.server, os
class Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = f"hello from {os.environ['SARGE_INSTANCE_ID']}\n".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
http.server.HTTPServer((os.environ["WEB_HOST"], int(os.environ["WEB_PORT"])), Hello).serve_forever()
PY
chmod +x "$home/$id/server"
run_ok "$home/bin/sarge" start "$id" --timeout 20
expect_eq "the instance's answer" "hello from $id" "$(curl -sS --max-time 5 "http://127.0.0.1:$port/")"

# --- Completion, while the instance exists --------------------------------------
complete_words() {  # WORD... (the last is the one being completed): the candidates, sorted
  # (sorted as readline shows them)
  bash --norc --noprofile -c '
    source "$1" || exit 1
    shift
    COMP_WORDS=("$@")
    COMP_CWORD=$(($# - 1))
    _sarge
    (( ${#COMPREPLY[@]} == 0 )) || printf "%s\n" "${COMPREPLY[@]}"' _ "$completion" "$@" \
    2>"$tmp/complete.err" | LC_ALL=C sort
  [ ! -s "$tmp/complete.err" ] || fail "completing '$*' wrote to stderr: $(cat "$tmp/complete.err")"
}
expect_eq "complete -p sarge" "complete -F _sarge sarge" \
  "$(bash --norc --noprofile -c 'source "$1"; complete -p sarge' _ "$completion")"
commands="init new list status logs configure start stop destroy activate deploy rollback restart scale config releases run resume check"
expect_eq "sarge HOME <tab>" "$(tr ' ' '\n' <<<"$commands" | LC_ALL=C sort)" \
  "$(complete_words sarge "$home" '')"
expect_eq "sarge HOME st<tab>" $'start\nstatus\nstop' "$(complete_words sarge "$home" st)"
expect_eq "sarge HOME start <tab>" "$id" "$(complete_words sarge "$home" start '')"
expect_eq "sarge HOME destroy w<tab>" "$id" "$(complete_words sarge "$home" destroy w)"
expect_eq "sarge HOME destroy x<tab>" "" "$(complete_words sarge "$home" destroy x)"
expect_eq "sarge HOME start ID <tab>" "" "$(complete_words sarge "$home" start "$id" '')"
expect_eq "sarge HOME status --<tab>" $'--help\n--json' "$(complete_words sarge "$home" status --)"
expect_eq "sarge HOME start --timeout 5 <tab>" "$id" \
  "$(complete_words sarge "$home" start --timeout 5 '')"
expect_eq "sarge HOME logs -n <tab>" "" "$(complete_words sarge "$home" logs -n '')"
expect_eq "sarge HOME rollback <tab>" web "$(complete_words sarge "$home" rollback '')"
expect_eq "sarge HOME releases <tab>" web "$(complete_words sarge "$home" releases '')"
expect_eq "sarge --v<tab>" --version "$(complete_words sarge --v)"
expect_eq "HOME/bin/sarge de<tab>" $'deploy\ndestroy' "$(complete_words "$home/bin/sarge" de)"
expect_eq "HOME/bin/sarge run <tab>" "$id" "$(complete_words "$home/bin/sarge" run '')"
expect_eq "bin/sarge stop <tab>, in HOME" "$id" "$(cd "$home" && complete_words bin/sarge stop '')"
expect_eq "./bin/sarge stop <tab>, in HOME" "$id" "$(cd "$home" && complete_words ./bin/sarge stop '')"
expect_eq "sarge . stop <tab>, in HOME" "$id" "$(cd "$home" && complete_words sarge . stop '')"
expect_eq "sarge HOME run ID bas<tab>" bash \
  "$(complete_words sarge "$home" run "$id" bas | grep -x bash)"

# --- Stop, destroy, supervisord -------------------------------------------------
run_ok "$home/bin/sarge" stop "$id"
! curl -s --max-time 5 "http://127.0.0.1:$port/" >/dev/null || fail "$id still answers after stop"
run_ok "$home/bin/sarge" destroy "$id"
[ ! -e "$home/$id" ] && [ ! -e "$home/etc/instances/$id.json" ] || fail "destroy left $id behind"
expect_eq "sarge HOME start <tab> after destroy" "" "$(complete_words sarge "$home" start '')"
stop_supervisord "$home"

# --- The man page ---------------------------------------------------------------
# gzip -9n as Debian does: no file name, no timestamp in the header.
expect_eq "gzip flags and mtime" "0 0 0 0 0" "$(od -An -tu1 -j3 -N5 "$manpage" | xargs)"
expect_eq "the man page's title line" ".TH SARGE 1 \"\" \"sarge $version\" \"User Commands\"" \
  "$(zcat "$manpage" | grep '^\.TH')"
zcat "$manpage" | groff -man -Tascii -ww -z 2>"$tmp/groff.err"
[ ! -s "$tmp/groff.err" ] || fail "groff warns about the man page: $(cat "$tmp/groff.err")"
text=$(zcat "$manpage" | groff -man -Tascii -P-cbou 2>/dev/null)
for section in NAME SYNOPSIS DESCRIPTION COMMANDS OPTIONS FILES "EXIT STATUS" EXAMPLES "SEE ALSO"; do
  grep -qx "$section" <<<"$text" || fail "the man page has no $section section"
done
# One entry per command, its synopsis as the command line spells it: the
# term of each .TP in COMMANDS, less the font changes (options sit inside .RS).
synopses=$(zcat "$manpage" | awk '/^\.SH/ {on = ($2 == "COMMANDS"); next}
  on && /^\.RS/ {depth++} on && /^\.RE/ {depth--}
  term {print; term = 0} on && depth == 0 && /^\.TP$/ {term = 1}' |
  sed 's/\\f[BIR]//g; s/\\-/-/g')
expect_eq "the man page's commands" "init
resume
new CONFIG_JSON
configure ID
start ID [--timeout S] [--min-uptime DURATION]
stop ID [--force]
destroy ID [--force]
run ID [COMMAND...]
deploy CONFIG SOURCE [--check-url URL] [--timeout S] [--min-uptime DURATION] [--watch DURATION] [--keep N] [--label LABEL]
activate ID
rollback APP [--to ID] [--timeout S] [--min-uptime DURATION]
restart APP [TYPE] [--timeout S] [--min-uptime DURATION]
scale APP TYPE=N... [--timeout S] [--min-uptime DURATION]
config [set|unset] APP [NAME=VALUE...|NAME...] [--values] [--no-restart] [--timeout S] [--min-uptime DURATION]
releases APP [--json]
status [ID] [--json]
logs ID [PROCESS] [--lines N] [--follow]
list
check [--repair]" "$synopses"
for status in "0" "1" "2"; do
  grep -qx "       $status      .*" <<<"$text" || fail "EXIT STATUS does not explain $status"
done

# --- Removal (CI) ---------------------------------------------------------------
if $ci; then
  dpkg -P sarge >"$tmp/dpkg.log" 2>&1 || fail "dpkg -P sarge failed: $(cat "$tmp/dpkg.log")"
  installed=false
  [ ! -e /usr/bin/sarge ] && [ ! -e "$completion" ] && [ ! -e "$manpage" ] ||
    fail "dpkg -P sarge left files behind"
fi
echo "package test passed ($($ci && echo installed with dpkg || echo unpacked with dpkg-deb -x))"
