#!/usr/bin/env bash
# The man pages render without a warning, and say what the program does:
#   check_man_pages.sh PROGRAM MAN_DIR
# - every page in MAN_DIR renders with `groff -man -ww` with no diagnostic;
# - every subcommand in `PROGRAM --help` has its page cleancache-<command>.1;
# - every option and positional argument in `PROGRAM [COMMAND] --help` is in
#   that page (so a page built before an option was added, or a generator
#   that dropped one, fails here);
# - every key the daemon's config parser accepts (the list its "unknown key"
#   error gives) is in cleancached.conf.5.
set -euo pipefail
program=$1
man_dir=$2
failed=0
fail() {
  echo "FAIL: $*" >&2
  failed=1
}
render() {  # plain text, no overstrike, hyphens as '-'
  LC_ALL=C groff -man -Tascii -P-c -P-b -P-u -ww "$1" 2>/dev/null
}

pages=$(ls "$man_dir"/*.[158] 2>/dev/null || true)
[ -n "$pages" ] || { echo "FAIL: no pages in $man_dir" >&2; exit 1; }
for page in $pages; do
  diagnostics=$(LC_ALL=C.UTF-8 groff -man -Tutf8 -ww -z "$page" 2>&1 >/dev/null)
  [ -z "$diagnostics" ] || fail "$(basename "$page") renders with: $diagnostics"
  if command -v man >/dev/null; then
    diagnostics=$(MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null || true)
    [ -z "$diagnostics" ] || fail "man -l $(basename "$page"): $diagnostics"
  fi
done

# check_options PAGE [COMMAND]
check_options() {
  local page=$1 command=${2:-}
  [ -f "$man_dir/$page" ] || { fail "no page $page"; return; }
  local text help
  text=$(render "$man_dir/$page")
  # shellcheck disable=SC2086
  help=$("$program" $command --help)
  # Options ("  -f,--foreground ...", "  --memory TEXT=auto ...") must be in
  # the page's OPTIONS section, each at the start of its entry (a mention in
  # EXAMPLES does not count); positionals ("  backing TEXT REQUIRED") anywhere.
  local options positionals entries
  options=$(awk '/^[A-Z][A-Za-z ]*:$/ { section = $0; next }
    section == "Options:" && /^  -/ { n = split($1, names, ","); for (i = 1; i <= n; i++) print names[i] }' <<<"$help")
  positionals=$(awk '/^[A-Z][A-Za-z ]*:$/ { section = $0; next }
    section == "Positionals:" && /^  [a-z]/ { print $1 }' <<<"$help")
  [ -n "$options" ] || { fail "$program $command --help lists no option (format changed?)"; return; }
  entries=$(awk '/^OPTIONS$/ { on = 1; next } /^[A-Z]/ { on = 0 } on && /^       -/ { print $1 }' <<<"$text" | tr ',' '\n')
  local item
  for item in $options; do
    grep -qxF -- "$item" <<<"$entries" || fail "$page: OPTIONS lacks '$item' (from 'cleancache $command --help')"
  done
  for item in $positionals; do
    grep -qwF -- "$item" <<<"$text" || fail "$page lacks the argument '$item' (from 'cleancache $command --help')"
  done
}

check_options cleancache.1
commands=$("$program" --help | awk '/^Subcommands:$/ { on = 1; next } on && /^  [a-z]/ { print $1 } on && /^$/ { on = 0 }')
[ -n "$commands" ] || fail "no subcommand in '$program --help'"
for command in $commands; do
  check_options "cleancache-$command.1" "$command"
done

if grep -qw serve <<<"$commands"; then
  conf=$(mktemp)
  trap 'rm -f "$conf"' EXIT
  echo "no_such_key_for_the_man_test = 1" >"$conf"
  message=$("$program" serve --config "$conf" 2>&1 >/dev/null || true)
  keys=$(sed -n 's/.*unknown key.*(valid: \([^)]*\)).*/\1/p' <<<"$message" | tr -d ',')
  if [ -z "$keys" ]; then
    fail "cannot read the daemon's keys from its unknown-key error: '$message'"
  else
    # Each key opens an entry of the KEYS section ("       capacity = SIZE").
    entries=$(render "$man_dir/cleancached.conf.5" | awk '/^KEYS$/ { on = 1; next } /^[A-Z]/ { on = 0 } on')
    for key in $keys; do
      grep -Eq "^ +$key = " <<<"$entries" || fail "cleancached.conf.5: KEYS lacks '$key' (the daemon accepts it)"
    done
  fi
fi
[ "$failed" -eq 0 ] && echo "man pages: $(echo "$pages" | wc -w) render cleanly; every option of $(echo "$commands" | wc -w) commands and every config key documented"
exit "$failed"
