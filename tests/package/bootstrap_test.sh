#!/usr/bin/env bash
# scripts/bootstrap-sarge. Its refusals (bad usage, an unknown owner, a home
# that is a file) are checked everywhere, and must change nothing.
#
# With CI=true (a throwaway machine, as root) it runs for real: dependencies,
# build, package, apt-get install, init of a home owned by `nobody`, whose
# supervisord then runs as nobody, and /etc/sudoers.d/sarge-nobody, which
# lets nobody run nginx's test and reload as root through sudo, and nothing
# else; run again, it keeps the edited sarge.yaml; at the end the package is
# purged and the sudoers file removed. Otherwise it installs into a temporary
# --prefix with --no-deps, prints the sudoers rule without installing it, and
# changes nothing outside its temporary folder.
#
# Usage: bootstrap_test.sh SOURCE_DIR BUILD_DIR VERSION
set -euo pipefail
# shellcheck source=tests/package/test_lib.sh
source "$(dirname "$0")/test_lib.sh"
source_dir=$(realpath "$1") build=$(realpath "$2") version=$3
bootstrap=$source_dir/scripts/bootstrap-sarge
need cmake runuser stat
$ci && need apt-get dpkg cpack dpkg-shlibdeps supervisord sudo visudo

# The home's owner, and the sudoers rule bootstrap-sarge makes for it.
owner=$(if [ "$(id -u)" -eq 0 ]; then echo nobody; else id -un; fi)
sudoers=/etc/sudoers.d/sarge-${owner//[^A-Za-z0-9_-]/_}
nginx=$(command -v nginx || echo /usr/sbin/nginx)
sudoers_user=$owner
[[ $owner =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]*$ ]] || sudoers_user="#$(id -u)"
rule="$sudoers_user ALL=(root) NOPASSWD: $nginx -t -q, $nginx -s reload"
sudoers_was_there=false
[ ! -e "$sudoers" ] || sudoers_was_there=true

tmp=$(mktemp -d /tmp/sarge-bootstrap.XXXXXX)
chmod 755 "$tmp"  # the home's owner must reach it
installed=false
cleanup() {
  stop_supervisord "$tmp/srv/home"
  if $installed; then dpkg -P sarge >/dev/null 2>&1 || true; fi
  if $ci && ! $sudoers_was_there; then rm -f "$sudoers" "$sudoers".*; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

# Runs bootstrap-sarge; sets status, out and err.
bootstrap() {
  status=0
  "$bootstrap" "$@" >"$tmp/out" 2>"$tmp/err" || status=$?
  out=$(cat "$tmp/out") err=$(cat "$tmp/err")
}
expect_refusal() {  # STATUS MESSAGE ARG...
  local want_status=$1 want_err=$2
  shift 2
  bootstrap "$@"
  expect_eq "bootstrap-sarge $* (stderr)" "$want_err" "$err"
  expect_eq "bootstrap-sarge $* (status)" "$want_status" "$status"
  expect_eq "bootstrap-sarge $* (stdout)" "" "$out"
}

# --- Refusals, before anything changes --------------------------------------
bootstrap --help
expect_eq "--help status" 0 "$status"
expect_eq "--help's first line" "Usage: bootstrap-sarge [options] HOME" "$(head -1 <<<"$out")"
expect_refusal 2 "bootstrap-sarge: error: give the home folder: bootstrap-sarge [options] HOME; --help shows the options"
expect_refusal 2 "bootstrap-sarge: error: unknown option --frobnicate; bootstrap-sarge --help shows the options" \
  --frobnicate "$tmp/srv/home"
expect_refusal 2 "bootstrap-sarge: error: --owner needs a value; bootstrap-sarge --help shows the options" \
  "$tmp/srv/home" --owner
expect_refusal 2 "bootstrap-sarge: error: give one home folder, not both $tmp/a and $tmp/b" "$tmp/a" "$tmp/b"
expect_refusal 2 "bootstrap-sarge: error: --owner no-such-user-x: no such user" \
  --no-deps --prefix "$tmp/prefix" --owner no-such-user-x "$tmp/srv/home"
touch "$tmp/file"
expect_refusal 1 "bootstrap-sarge: error: $tmp/file exists and is not a folder; choose another home" \
  --no-deps --prefix "$tmp/prefix" "$tmp/file"
if [ "$(id -u)" -eq 0 ]; then
  mkdir "$tmp/roots"
  expect_refusal 1 "bootstrap-sarge: error: $tmp/roots belongs to root, not nobody; chown -R nobody $tmp/roots first, or choose another home" \
    --no-deps --prefix "$tmp/prefix" --owner nobody "$tmp/roots"
fi
[ ! -e "$tmp/srv" ] && [ ! -e "$tmp/prefix" ] || fail "a refused bootstrap-sarge changed something"
$sudoers_was_there || [ ! -e "$sudoers" ] || fail "a refused bootstrap-sarge made $sudoers"

# --- The real thing ------------------------------------------------------------
home=$tmp/srv/home
if $ci; then
  options=(--build-dir "$build" --owner nobody)
  sarge=/usr/bin/sarge
elif [ "$(id -u)" -eq 0 ]; then
  options=(--no-deps --build-dir "$build" --prefix "$tmp/prefix" --owner nobody)
  sarge=$tmp/prefix/bin/sarge
else
  options=(--no-deps --build-dir "$build" --prefix "$tmp/prefix")
  sarge=$tmp/prefix/bin/sarge
fi
$ci && installed=true  # from here on, cleanup purges the package
bootstrap "${options[@]}" "$home"
[ "$status" -eq 0 ] || fail "bootstrap-sarge ${options[*]} $home failed ($status): $err
$out"

expect_eq "sarge --version" "sarge $version" "$("$sarge" --version)"
grep -qxF "sarge $version is installed as $sarge, and $home is a sarge home owned by $owner." <<<"$out" ||
  fail "bootstrap-sarge did not say what it installed: $out"
run_as=""
if [ "$owner" != "$(id -un)" ]; then
  run_as="sudo -u $owner "
  command -v sudo >/dev/null || run_as="runuser -u $owner -- "
fi
expect_lines() {  # WHAT LINE...: each LINE is one of the lines bootstrap-sarge printed
  local what=$1 line
  shift
  for line; do
    grep -qxF -- "$line" <<<"$out" || fail "$what: no line [$line] in: $out"
  done
}
expect_lines "the next steps" "       $run_as$home/bin/supervisord" "       @reboot $home/bin/supervisord" \
  "       ${run_as}$home/bin/sarge start ID" \
  "       nginx:" \
  "         test_command: sudo -n $nginx -t -q" \
  "         reload_command: sudo -n $nginx -s reload" \
  "         pid_file: /run/nginx.pid" \
  "       $rule"
[ -d "$home/etc/instances" ] && [ -x "$home/bin/supervisord" ] || fail "$home was not initialised"
grep -qF "$sarge" "$home/bin/sarge" || fail "bin/sarge does not run $sarge: $(cat "$home/bin/sarge")"
grep -qx "User=$owner" "$home/etc/sarge-supervisord.service" ||
  fail "the systemd unit does not run as $owner: $(cat "$home/etc/sarge-supervisord.service")"
expect_eq "files of the home not owned by $owner" "" "$(find "$home" ! -user "$owner")"
if $ci; then
  expect_eq "dpkg status" "install ok installed $version" \
    "$(dpkg-query -W -f='${Status} ${Version}' sarge)"
  [ -f /usr/share/man/man1/sarge.1.gz ] && [ -f /usr/share/bash-completion/completions/sarge ] ||
    fail "the package's man page or completion is missing"
else
  [ -f "$tmp/prefix/share/man/man1/sarge.1.gz" ] &&
    [ -f "$tmp/prefix/share/bash-completion/completions/sarge" ] ||
    fail "cmake --install left out the man page or the completion: $(find "$tmp/prefix")"
fi

# nginx's test and reload, as root, for the owner and nothing else. Checked
# with sudo itself: what it lets the owner run, and what it refuses.
expect_sudoers() {  # WHEN
  [ -f "$sudoers" ] || fail "$1: bootstrap-sarge did not install $sudoers"
  expect_eq "$1: $sudoers's mode and owner" "440 root root" "$(stat -c '%a %U %G' "$sudoers")"
  expect_eq "$1: $sudoers without its comments" "$rule" "$(grep -v '^#' "$sudoers")"
  run_ok visudo -c -q -f "$sudoers"
  expect_eq "$1: files bootstrap-sarge left in /etc/sudoers.d" "" \
    "$(find /etc/sudoers.d -name "${sudoers##*/}.*")"
  expect_eq "$1: what sudo -l -U $owner lists" "    (root) NOPASSWD: $nginx -t -q, $nginx -s reload" \
    "$(sudo -n -l -U "$owner" | sed -n '/may run the following commands/,$p' | tail -n +2)"
  local command
  for command in "$nginx -t -q" "$nginx -s reload"; do
    # shellcheck disable=SC2086  # the command's words
    sudo -n -l -U "$owner" $command >/dev/null || fail "$1: sudo does not let $owner run $command"
  done
  for command in "$nginx -s stop" "$nginx -t" "$nginx" /bin/true /bin/sh; do
    # shellcheck disable=SC2086
    ! sudo -n -l -U "$owner" $command >/dev/null 2>&1 || fail "$1: sudo lets $owner run $command"
  done
  # Run for real: nginx's test may fail for nginx's reasons (its configuration),
  # but sudo must run it; /bin/true it must refuse.
  local said status=0 refused='a password is required|not allowed|Sorry'
  said=$(sudo -u "$owner" sudo -n "$nginx" -t -q 2>&1) || status=$?
  [[ ! $said =~ $refused ]] ||
    fail "$1: sudo did not let $owner run $nginx -t -q (status $status): $said"
  status=0
  said=$(sudo -u "$owner" sudo -n /bin/true 2>&1) || status=$?
  if [ "$status" -eq 0 ] || [[ ! $said =~ $refused ]]; then
    fail "$1: sudo -n /bin/true as $owner was not refused (status $status): $said"
  fi
}
if $ci; then
  expect_lines "the next steps" "     $sudoers, which bootstrap-sarge installed:"
  expect_sudoers "after bootstrap-sarge"
  cp "$sudoers" "$tmp/sudoers"
else
  expect_lines "the next steps" \
    "     as root, run visudo -f $sudoers and write this line:"
  $sudoers_was_there || [ ! -e "$sudoers" ] || fail "bootstrap-sarge --prefix installed $sudoers"
fi

# The home works for its owner: supervisord runs as the owner, sarge talks to it.
as_owner() { if [ "$owner" = "$(id -un)" ]; then "$@"; else runuser -u "$owner" -- "$@"; fi; }
run_ok as_owner "$home/bin/supervisord"
wait_for "supervisord's socket" test -S "$home/var/run/supervisor.sock"
expect_eq "supervisord's user" "$owner" "$(stat -c %U "/proc/$(cat "$home/var/run/supervisord.pid")")"
listing=$(run_ok as_owner "$home/bin/sarge" list)
expect_match "sarge list" '"instances": *\[\]' "$listing"
stop_supervisord "$home"

# Again, without --owner: sarge reinstalled, the home refreshed as its owner,
# the operator's settings kept.
echo "# edited by the operator" >>"$home/etc/sarge.yaml"
again=()
for option in "${options[@]}"; do
  [ "$option" = --owner ] || [ "$option" = nobody ] || again+=("$option")
done
bootstrap "${again[@]}" "$home"
[ "$status" -eq 0 ] || fail "bootstrap-sarge ${again[*]} $home, run again, failed ($status): $err"
expect_eq "sarge.yaml's last line after a second bootstrap" "# edited by the operator" \
  "$(tail -1 "$home/etc/sarge.yaml")"
expect_eq "files of the home not owned by $owner after a second bootstrap" "" \
  "$(find "$home" ! -user "$owner")"
expect_match "sarge.log's last line after a second bootstrap" " user=$owner: init$" \
  "$(tail -1 "$home/var/log/sarge.log")"
if $ci; then
  expect_sudoers "after a second bootstrap-sarge"
  cmp -s "$tmp/sudoers" "$sudoers" || fail "a second bootstrap-sarge changed $sudoers: $(cat "$sudoers")"
else
  $sudoers_was_there || [ ! -e "$sudoers" ] || fail "bootstrap-sarge --prefix, run again, installed $sudoers"
fi

if $ci; then
  dpkg -P sarge >/dev/null 2>&1 || fail "dpkg -P sarge failed"
  installed=false
  [ ! -e /usr/bin/sarge ] || fail "dpkg -P sarge left /usr/bin/sarge"
fi
echo "bootstrap test passed ($($ci && echo "installed the package" || echo "installed into a prefix"))"
