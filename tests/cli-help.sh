#!/usr/bin/env bash
# shellcheck disable=SC2119,SC2317  # start_demo takes optional args; helpers run through wait_until
# cli-help.sh - `perftop --help` lists every subcommand and option and exits
# 0; `perftop --version` prints "perftop VERSION"; a subcommand's --help is
# the same text.
. "$(dirname "$0")/lib.sh"

out=$("$PERFTOP" --help) || fail "--help exited non-zero"
for word in attach list dump record reset --help --version \
    --format text json prometheus -o --interval --count --duration \
    --readonly --output-dir --window --input --line PERFTOP_SOCKET_DIR; do
	grep -q -e "$word" <<<"$out" || fail "--help does not mention $word"
done
[ "$("$PERFTOP" -h)" = "$out" ] || fail "-h differs from --help"
[ "$("$PERFTOP" dump --help)" = "$out" ] || fail "dump --help differs from --help"
[ "$("$PERFTOP" record 1 --help)" = "$out" ] || fail "record --help differs"

version=$("$PERFTOP" --version) || fail "--version exited non-zero"
[[ $version =~ ^perftop\ [0-9]+\.[0-9]+\.[0-9]+$ ]] ||
    fail "--version printed '$version'"
if [ -f "$top_srcdir/configure.ac" ]; then
	want=$(sed -n 's/^AC_INIT(\[perftop\],\[\([^]]*\)\].*/\1/p' "$top_srcdir/configure.ac")
	[ -z "$want" ] || [ "$version" = "perftop $want" ] ||
	    fail "--version printed '$version', configure.ac says $want"
fi

# No command: one line, usage status 2.
expect_error "no command" "$PERFTOP"
"$PERFTOP" >/dev/null 2>&1
[ $? -eq 2 ] || fail "no command: exit status is not 2"
pass
