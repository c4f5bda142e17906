#!/bin/sh
# `make lint`: cppcheck, then clang-tidy, over src/. Fails on any finding not
# suppressed with a reason: inline (`cppcheck-suppress id ; reason`,
# `NOLINT(check): reason`) or in tests/lint/*.supp. Findings are sorted, so
# the output and the verdict do not depend on scheduling. LINT_JOBS sets the
# parallelism (default 2).
set -u
cd "$(dirname "$0")/.."
export LC_ALL=C
jobs=${LINT_JOBS:-2}
pkgs="libevent libevent_openssl libevent_pthreads openssl libconfig sqlite3 libunbound"
flags="-std=gnu11 -D_GNU_SOURCE -Isrc $(pkg-config --cflags $pkgs)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

# An inline suppression must say why, on the same line.
if grep -rnE 'cppcheck-suppress' src | grep -vE 'cppcheck-suppress [A-Za-z]+ ; [^ ]'; then
	echo "lint: cppcheck-suppress without '; reason' (above)"
	fail=1
fi
if grep -rnE 'NOLINT' src | grep -vE 'NOLINT(NEXTLINE|BEGIN|END)?\([a-z.,-]+\): [^ ]' |
    grep -vE 'NOLINTEND\('; then
	echo "lint: NOLINT without (check): reason (above)"
	fail=1
fi

# So must a line of a suppression or baseline file.
if grep -nvE '^[ \t]*(#|$)| # [^ ]' tests/lint/cppcheck.supp \
    tests/lint/cppcheck.baseline; then
	echo "lint: suppression without ' # reason' (above)"
	fail=1
fi

echo "== cppcheck"
# Library, tests and fuzzers: cppcheck is fast. -D_GNU_SOURCE pins the one
# configuration we build (no #ifdef combinations to guess).
cppcheck --quiet --error-exitcode=1 --std=c11 --library=posix,gnu \
    --enable=warning,style,performance,portability --inline-suppr \
    --suppressions-list=tests/lint/cppcheck.supp \
    --suppressions-list=tests/lint/cppcheck.baseline \
    -D_GNU_SOURCE -Isrc -j"$jobs" \
    --template='{file}:{line}:{column}: {severity}: {message} [{id}]' \
    src 2>"$tmp/cppcheck.out"
rc=$?
sort "$tmp/cppcheck.out"
if [ "$rc" != 0 ] || [ -s "$tmp/cppcheck.out" ]; then
	echo "lint: cppcheck found the above"
	fail=1
fi

echo "== clang-tidy"
# Library code with .clang-tidy; tests and fuzz targets with the lighter set.
find src -name '*.c' ! -name '*_test.c' ! -name '*_fuzz.c' | sort >"$tmp/lib"
find src \( -name '*_test.c' -o -name '*_fuzz.c' \) | sort >"$tmp/tests"
{
	sed 's/^/L /' "$tmp/lib"
	sed 's/^/T /' "$tmp/tests"
} | xargs -P"$jobs" -L1 sh -c '
	if [ "$1" = T ]; then cfg=--config-file=tests/lint/clang-tidy-tests.yaml
	else cfg=; fi
	clang-tidy-14 --quiet $cfg "$2" -- '"$flags"' >"$0/ct.$(echo "$2" | tr / _)" 2>&1
	# 0: clean; 1: findings, judged below. Anything else: the tool broke.
	rc=$?; [ "$rc" -le 1 ] || { echo "lint: clang-tidy $2 exited $rc"; exit 255; }
' "$tmp"
rc=$?
if [ "$rc" != 0 ] && [ "$rc" != 123 ]; then
	echo "lint: clang-tidy did not run cleanly"
	fail=1
fi
# A finding is "FILE:LINE:COL: error: MESSAGE [CHECK,...]" (the message may
# run over several lines) and then the source line; a header's findings
# repeat for every .c that includes it. Anything else that says error
# (clang-tidy could not parse a file) is a finding too.
cat "$tmp"/ct.* | awk -v root="$PWD/" -v supp=tests/lint/clang-tidy.supp '
	BEGIN {
		while ((getline l < supp) > 0) {
			if (l ~ /^[ \t]*(#|$)/)
				continue
			r = index(l, " # ")
			if (r == 0) {
				print "lint: " supp ": no reason: " l
				bad = 1
				continue
			}
			l = substr(l, 1, r - 1)
			sub(/[ \t]+$/, "", l)
			split(l, f, " ")
			frag = l
			sub(/^[^ ]+ +[^ ]+ +/, "", frag)
			n++; scheck[n] = f[1]; sfile[n] = f[2]; sfrag[n] = frag
		}
	}
	/^[^ ]+:[0-9]+:[0-9]+: (warning|error): / {
		head = $0
		while (head !~ /\[[^]]+\]$/ && (getline more) > 0)
			head = head " " more
		getline code
		file = head; sub(/:.*/, "", file)
		if (index(file, root) == 1)
			file = substr(file, length(root) + 1)
		check = head; sub(/.*\[/, "", check); sub(/[],].*/, "", check)
		for (i = 1; i <= n; i++)
			if (scheck[i] == check && sfile[i] == file &&
			    index(code, sfrag[i]) > 0)
				next
		if (index(head, root) == 1)
			head = substr(head, length(root) + 1)
		sub(/^[ \t]+/, "", code)
		print head "\t" code
		next
	}
	/^(Error|error|fatal error)[: ]/ { print $0 "\t" }
	END { exit bad }
' >"$tmp/tidy.out"
[ $? = 0 ] || fail=1
if [ -s "$tmp/tidy.out" ]; then
	sort -u "$tmp/tidy.out" | sed 's/\t/\n\t/'
	echo "lint: clang-tidy found the above"
	fail=1
fi

[ "$fail" = 0 ] && echo "lint: clean"
exit "$fail"
