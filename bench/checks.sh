#!/bin/sh
# The cost of the sender checks (`make bench-checks`, also run by
# bench/run.sh): Postern's throughput with every DNS check off, then with
# every one on and set to "reject" (sender domain, forward-confirmed rDNS,
# one DNSBL zone, SPF, HELO syntax), answered by a DNS server on loopback
# (tests/dns/dnsserver.py with bench/checks.zone). The client is 127.0.0.2
# (loadgen --source) and only 127.0.0.1 is trusted, so the checks apply to
# every message; the sender u@sender.example passes all of them.
#
# Writes $BENCH_DIR/checks.md (a table) and, when run alone, replaces the
# "Sender checks" section of docs/benchmarks.md. Exits non-zero when a run
# was incomplete or the checks cost 20% or more at concurrency 50.
#
# Environment: BENCH_DIR (default /tmp/postern-bench), BENCH_N (messages per
# run, default 2000), BENCH_SIZE (default 10240), BENCH_CHECKS_CONC (default
# "10 50"), BENCH_REPEAT (runs per cell, median shown; default 3),
# BENCH_TIMEOUT (default 120), POSTERN_PORT (2725), POSTERN_BIN,
# BENCH_CHECKS_DOC (1 = update docs/benchmarks.md; run.sh sets 0).
set -u

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
BENCH_DIR=${BENCH_DIR:-/tmp/postern-bench}
BENCH_N=${BENCH_N:-2000}
BENCH_SIZE=${BENCH_SIZE:-10240}
BENCH_CHECKS_CONC=${BENCH_CHECKS_CONC:-10 50}
BENCH_REPEAT=${BENCH_REPEAT:-3}
BENCH_TIMEOUT=${BENCH_TIMEOUT:-120}
BENCH_CHECKS_DOC=${BENCH_CHECKS_DOC:-1}
export POSTERN_PORT="${POSTERN_PORT:-2725}"
LOADGEN=$here/loadgen
DOC=$top/docs/benchmarks.md
RESULTS=$BENCH_DIR/checks-results.txt
OUT=$BENCH_DIR/checks.md
FROM=u@sender.example
RCPT=u@bench.test
CLIENT=127.0.0.2

say() { echo "bench-checks: $*" >&2; }

case "$BENCH_DIR" in /*) ;; *) BENCH_DIR=$(pwd)/$BENCH_DIR ;; esac
case "$BENCH_DIR" in /|"$top"|"$top"/*)
	say "BENCH_DIR must be outside the repository and not /"
	exit 2 ;;
esac
mkdir -p "$BENCH_DIR"
: >"$RESULTS"

if [ ! -x "$LOADGEN" ] || [ "$here/loadgen.c" -nt "$LOADGEN" ]; then
	cc -std=gnu11 -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -o "$LOADGEN" \
	    "$here/loadgen.c" || { say "cannot build bench/loadgen"; exit 1; }
fi

# The DNS server: prints its port, serves until its stdin closes.
fifo=$BENCH_DIR/dns.fifo
rm -f "$fifo"
mkfifo "$fifo"
/usr/bin/python3 "$top/tests/dns/dnsserver.py" "$here/checks.zone" <"$fifo" \
    >"$BENCH_DIR/dns.port" 2>"$BENCH_DIR/dns.err" &
dns_pid=$!
exec 3>"$fifo"
i=0
while [ ! -s "$BENCH_DIR/dns.port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
dns_port=$(head -n 1 "$BENCH_DIR/dns.port")
[ -n "$dns_port" ] || { say "the DNS server did not start: $(cat "$BENCH_DIR/dns.err")"; exit 1; }
export POSTERN_DNS="127.0.0.1:$dns_port"

cleanup() {
	sh "$here/postern.sh" stop "$BENCH_DIR" 2>/dev/null || true
	exec 3>&-
	wait "$dns_pid" 2>/dev/null || true
	rm -f "$fifo"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

failed=0
run() {
	mode=$1
	c=$2
	if ! newdir=$(POSTERN_CHECKS=$mode sh "$here/postern.sh" start "$BENCH_DIR" \
	    2>"$BENCH_DIR/checks.start.err"); then
		say "postern did not start (checks $mode): $(cat "$BENCH_DIR/checks.start.err")"
		failed=1
		return
	fi
	say "checks $mode: c=$c n=$BENCH_N size=$BENCH_SIZE"
	if ! "$LOADGEN" -h 127.0.0.1 -p "$POSTERN_PORT" --source "$CLIENT" \
	    -n "$BENCH_N" -s "$BENCH_SIZE" -c "$c" -f "$FROM" -t "$RCPT" \
	    -m "$newdir" -w "$BENCH_TIMEOUT" -l "checks-$mode" >>"$RESULTS"; then
		say "run incomplete: $(tail -n 1 "$RESULTS")"
		failed=1
	fi
	tail -n 1 "$RESULTS" >&2
	sh "$here/postern.sh" stop "$BENCH_DIR"
}

# Off and on alternate, so both see the same background load.
rep=1
while [ "$rep" -le "$BENCH_REPEAT" ]; do
	for c in $BENCH_CHECKS_CONC; do
		run off "$c"
		run on "$c"
	done
	rep=$((rep + 1))
done
rejected=$(grep -c 'event=transaction.*reply="5' "$BENCH_DIR/postern.log" 2>/dev/null || true)

# median LABEL CONC KEY
median() {
	awk -v srv="$1" -v conc="$2" -v key="$3" '
		$1 != "result" { next }
		{ delete f; for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] } }
		f["server"] != srv || f["conc"] != conc || !(key in f) { next }
		f[key] ~ /^-?[0-9.]+$/ { v[++n] = f[key] + 0 }
		END {
			if (n == 0) exit
			for (i = 2; i <= n; i++)
				for (j = i; j > 1 && v[j - 1] > v[j]; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
			m = (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
			printf "%.1f\n", m
		}' "$RESULTS"
}

{
	echo "| concurrency | checks off: delivered/s | checks on: delivered/s | cost | checks off: accepted/s | checks on: accepted/s |"
	echo "|---:|---:|---:|---:|---:|---:|"
	for c in $BENCH_CHECKS_CONC; do
		off=$(median checks-off "$c" delivered_per_s)
		on=$(median checks-on "$c" delivered_per_s)
		aoff=$(median checks-off "$c" accepted_per_s)
		aon=$(median checks-on "$c" accepted_per_s)
		cost=$(awk -v a="$off" -v b="$on" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.1f%%", (1 - b / a) * 100; else printf "-" }')
		echo "| $c | ${off:--} | ${on:--} | $cost | ${aoff:--} | ${aon:--} |"
		if [ "$c" = 50 ]; then
			awk -v a="$off" -v b="$on" 'BEGIN { exit !(a + 0 > 0 && b + 0 > 0 && b / a > 0.8) }' || {
				say "at c=50 the checks cost 20% or more (off $off, on $on)"
				failed=1
			}
		fi
	done
} >"$OUT"
cat "$OUT"
[ "${rejected:-0}" = 0 ] || { say "$rejected transactions were refused: the zone is wrong"; failed=1; }

if [ "$BENCH_CHECKS_DOC" = 1 ] && [ -f "$DOC" ]; then
	# Replace the section between the markers run.sh writes.
	awk -v table="$OUT" -v when="$(date -u '+%Y-%m-%d %H:%M UTC')" -v rev="$(git -C "$top" rev-parse --short HEAD 2>/dev/null)" \
	    -v n="$BENCH_N" -v size="$BENCH_SIZE" -v rep="$BENCH_REPEAT" '
		/<!-- checks:begin -->/ {
			print; skip = 1
			printf "\nMeasured by `make bench-checks` on %s, tree %s: %s messages of %s bytes per run, median of %s runs.\n\n", when, rev, n, size, rep
			while ((getline line < table) > 0) print line
			print ""
			next
		}
		/<!-- checks:end -->/ { skip = 0 }
		!skip { print }' "$DOC" >"$DOC.tmp" && mv "$DOC.tmp" "$DOC"
fi
exit $failed
