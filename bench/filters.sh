#!/bin/sh
# The cost of the content filters (`make bench-filters`, also run by
# bench/run.sh): Postern's throughput with the attachment and content
# filters off (`filters = { attachments = { block = []; }; };`: no MIME scan
# at all), then on (the default attachment globs and five content rules with
# where = "any" that match nothing), for realistic MIME messages of 10 KB and
# 1 MB (loadgen --mime: multipart/mixed, a short text/plain part and a
# base64 application/pdf attachment report.pdf that fills the size); and the
# memory of the worker processes, to show that the scan streams: per-session
# memory must not grow with the message size.
#
# Memory, two ways, always of the worker processes only (the children of the
# master chrooted into data_dir/queue; dird and qmgr are not counted):
#  - peak: each throughput run resets the workers' VmHWM (/proc/PID/clear_refs)
#    and reads it after the run; (peak - before) / concurrency;
#  - mid-DATA: loadgen --mid K holds K sessions each half-way through one
#    message's DATA, and reads the workers' RSS then; (then - before) / K.
#
# Before the runs, two probes show that the MIME parser finds the attachment
# name and the text part's content of a loadgen --mime message (a block glob
# "*.pdf", a content rule on the text); if it does not (a parser that
# parses nothing), the "on" figures measure nothing and the script fails.
#
# Writes $BENCH_DIR/filters.md (tables) and, when run alone, replaces the
# section between the filters markers of docs/benchmarks.md. Exits non-zero
# when a run was incomplete, a probe failed, a rule matched in an "on" run,
# or a session mid-way through a larger message holds more than a quarter of
# the extra bytes it has sent compared with the smallest (a parser that kept
# the message would hold all of them).
#
# Environment: BENCH_DIR (default /tmp/postern-bench), BENCH_FILTERS_RUNS
# (SIZE:CONCURRENCY pairs, default "10240:10 10240:50 1048576:10"),
# BENCH_FILTERS_N (messages per run below 256 KB, default 2000),
# BENCH_FILTERS_N_LARGE (messages per run from 256 KB, default 200),
# BENCH_FILTERS_MID (sessions held mid-DATA, default 50; 0 skips),
# BENCH_FILTERS_MID_SIZES (default "10240 1048576 4194304"), BENCH_REPEAT
# (runs per cell, median shown; default 3), BENCH_TIMEOUT (default 120),
# POSTERN_PORT (2725), POSTERN_BIN, BENCH_FILTERS_DOC (1 = update
# docs/benchmarks.md; run.sh sets 0).
set -u

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
BENCH_DIR=${BENCH_DIR:-/tmp/postern-bench}
BENCH_FILTERS_RUNS=${BENCH_FILTERS_RUNS:-10240:10 10240:50 1048576:10}
BENCH_FILTERS_N=${BENCH_FILTERS_N:-2000}
BENCH_FILTERS_N_LARGE=${BENCH_FILTERS_N_LARGE:-200}
BENCH_FILTERS_MID=${BENCH_FILTERS_MID:-50}
BENCH_FILTERS_MID_SIZES=${BENCH_FILTERS_MID_SIZES:-10240 1048576 4194304}
BENCH_REPEAT=${BENCH_REPEAT:-3}
BENCH_TIMEOUT=${BENCH_TIMEOUT:-120}
BENCH_FILTERS_DOC=${BENCH_FILTERS_DOC:-1}
export POSTERN_PORT="${POSTERN_PORT:-2725}"
LOADGEN=$here/loadgen
DOC=$top/docs/benchmarks.md
RESULTS=$BENCH_DIR/filters-results.txt
OUT=$BENCH_DIR/filters.md
FROM=u@bench.test
RCPT=u@bench.test
HZ=$(getconf CLK_TCK 2>/dev/null || echo 100)
WARN="-Wall -Wextra -Wformat=2 -Wshadow -Wno-unused-parameter \
-Wmissing-prototypes -Wstrict-prototypes -Werror"

say() { echo "bench-filters: $*" >&2; }

case "$BENCH_DIR" in /*) ;; *) BENCH_DIR=$(pwd)/$BENCH_DIR ;; esac
case "$BENCH_DIR" in /|"$top"|"$top"/*)
	say "BENCH_DIR must be outside the repository and not /"
	exit 2 ;;
esac
for v in $BENCH_FILTERS_N $BENCH_FILTERS_N_LARGE $BENCH_FILTERS_MID \
    $BENCH_FILTERS_MID_SIZES $BENCH_REPEAT; do
	case "$v" in ''|*[!0-9]*) say "not a number: $v"; exit 2 ;; esac
done
for r in $BENCH_FILTERS_RUNS; do
	case "$r" in [0-9]*:[0-9]*) ;; *) say "BENCH_FILTERS_RUNS wants SIZE:CONCURRENCY, not $r"; exit 2 ;; esac
done
mkdir -p "$BENCH_DIR"
: >"$RESULTS"
RESULTS=$(cd "$BENCH_DIR" && pwd)/filters-results.txt

# shellcheck disable=SC2086
cc -std=gnu11 -O2 $WARN -D_GNU_SOURCE -o "$LOADGEN" "$here/loadgen.c" ||
	{ say "cannot build bench/loadgen"; exit 1; }

cleanup() {
	sh "$here/postern.sh" stop "$BENCH_DIR" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

failed=0
notes=""
note() {
	say "$*"
	notes="$notes- $*
"
	failed=1
}

# Messages per run for a message size.
nfor() {
	if [ "$1" -ge 262144 ]; then echo "$BENCH_FILTERS_N_LARGE"; else echo "$BENCH_FILTERS_N"; fi
}

# "10 KB", "1 MB": sizes as the tables say them.
human() {
	awk -v s="$1" 'BEGIN {
		if (s >= 1048576 && s % 1048576 == 0) printf "%d MB", s / 1048576
		else if (s >= 1024 && s % 1024 == 0) printf "%d KB", s / 1024
		else printf "%d bytes", s }'
}

# ---- the worker processes ----

# The master's children that are chrooted into data_dir/queue: the workers
# (dird and qmgr are chrooted into data_dir itself; docs/architecture.md).
# Reading /proc/PID/root takes root, or the same user when there is no
# run_as.
workers_now() {
	mpid=$(sh "$here/postern.sh" pid "$BENCH_DIR" 2>/dev/null) || return 0
	for p in $(ps -o pid= --ppid "$mpid"); do
		r=$(readlink "/proc/$p/root" 2>/dev/null) || continue
		[ "$r" = "$BENCH_DIR/postern/var/queue" ] && echo "$p"
	done
}

# Sets $wpids (space-separated) once all the workers the master started are
# there ("event=start ... workers=N" in the log); false otherwise.
workers_find() {
	i=0
	while [ $i -lt 50 ]; do
		want=$(sed -n 's/.*service=master event=start .*workers=\([0-9]*\).*/\1/p' \
		    "$BENCH_DIR/postern.log" | tail -n 1)
		wpids=$(workers_now | sort -n | tr '\n' ' ')
		wpids=${wpids% }
		[ -n "$want" ] && [ "$(echo "$wpids" | wc -w)" = "$want" ] && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# status_sum KEY PID...: the sum of a /proc/PID/status field (kB).
status_sum() {
	key=$1
	shift
	for p in "$@"; do
		awk -v k="$key:" '$1 == k { print $2 }' "/proc/$p/status" 2>/dev/null
	done | awk '{ s += $1 } END { print s + 0 }'
}

# cpu_ticks PID...: user + system time of the processes, all threads, in
# clock ticks (/proc/PID/stat fields 14 and 15).
cpu_ticks() {
	for p in "$@"; do
		sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null | awk '{ print $12 + $13 }'
	done | awk '{ s += $1 } END { print s + 0 }'
}

# hwm_reset PID...: VmHWM back to the current RSS (clear_refs "5", Linux
# 4.0+); false when that is not allowed, so the peak counts from the start.
hwm_reset() {
	for p in "$@"; do
		{ echo 5 >"/proc/$p/clear_refs"; } 2>/dev/null || return 1
	done
}

# ---- runs ----

# start MODE: a fresh instance with POSTERN_FILTERS=MODE; sets newdir and
# wpids.
start() {
	if ! newdir=$(POSTERN_FILTERS=$1 sh "$here/postern.sh" start "$BENCH_DIR" \
	    2>"$BENCH_DIR/filters.start.err"); then
		note "postern did not start (filters $1): $(tr '\n' ' ' <"$BENCH_DIR/filters.start.err")"
		return 1
	fi
	if ! workers_find; then
		note "filters $1: cannot tell the worker processes of pid $(sh "$here/postern.sh" pid "$BENCH_DIR" 2>/dev/null) (found: ${wpids:-none}; reading /proc/PID/root needs root or the same user)"
		sh "$here/postern.sh" stop "$BENCH_DIR"
		return 1
	fi
}

# probe MODE FILTER RULE_RE RULE: one loadgen --mime message to an instance
# whose filters must refuse it; the log must name FILTER and the rule.
probe() {
	start "$1" || return
	say "probe $1: one 10 KB --mime message, which must be refused"
	"$LOADGEN" -h 127.0.0.1 -p "$POSTERN_PORT" -n 1 -c 1 -s 10240 --mime \
	    -f "$FROM" -t "$RCPT" -e 1 -w "$BENCH_TIMEOUT" -l "probe" \
	    >"$BENCH_DIR/filters.probe.out" 2>&1
	sh "$here/postern.sh" stop "$BENCH_DIR"
	if grep -q "event=filter .*filter=$2 .*rule=\"\\?$3" "$BENCH_DIR/postern.log" &&
	    grep -q 'rejected: 554' "$BENCH_DIR/filters.probe.out"; then
		say "probe $1: refused by filter=$2 rule=$4"
		probes_ok=$((probes_ok + 1))
	else
		note "probe $1: the message was not refused by the $2 filter ($(tr '\n' ' ' <"$BENCH_DIR/filters.probe.out")): the MIME parser does not see a loadgen --mime message, so the \"filters on\" figures do not measure a scan"
	fi
}

# run MODE SIZE C: one throughput run, with the workers' peak memory.
run() {
	mode=$1
	size=$2
	c=$3
	n=$(nfor "$size")
	start "$mode" || return
	# shellcheck disable=SC2086
	if hwm_reset $wpids; then reset=1; else reset=0; fi
	# shellcheck disable=SC2086
	base=$(status_sum VmHWM $wpids)
	# shellcheck disable=SC2086
	cpu0=$(cpu_ticks $wpids)
	say "filters $mode: size=$size c=$c n=$n"
	line=$("$LOADGEN" -h 127.0.0.1 -p "$POSTERN_PORT" -n "$n" -s "$size" \
	    --mime -c "$c" -f "$FROM" -t "$RCPT" -m "$newdir" \
	    -w "$BENCH_TIMEOUT" -l "filters-$mode")
	rc=$?
	# shellcheck disable=SC2086
	peak=$(status_sum VmHWM $wpids)
	# shellcheck disable=SC2086
	cpu1=$(cpu_ticks $wpids)
	now=$(workers_now | sort -n | tr '\n' ' ')
	[ "${now% }" = "$wpids" ] ||
		note "filters $mode size=$size c=$c: the workers changed during the run ($wpids -> ${now% }): a worker died?"
	[ -n "$line" ] || line="result server=filters-$mode conc=$c size=$size n=$n accepted=0 delivered_per_s=timeout"
	line="$line hwm_reset=$reset hwm_before_kb=$base hwm_peak_kb=$peak hwm_kb_per_session=$(awk -v a="$base" -v b="$peak" -v c="$c" 'BEGIN { printf "%.1f", (b - a) / c }') worker_cpu_ms_per_msg=$(awk -v a="$cpu0" -v b="$cpu1" -v hz="$HZ" -v n="$n" 'BEGIN { printf "%.3f", (b - a) * 1000 / hz / n }')"
	echo "$line" >>"$RESULTS"
	echo "$line" >&2
	[ "$rc" = 0 ] || note "filters $mode size=$size c=$c: run incomplete: $line"
	hits=$(grep -c 'event=filter ' "$BENCH_DIR/postern.log")
	[ "$hits" = 0 ] || note "filters $mode size=$size c=$c: $hits filter hits (a rule matches the messages: the figures are not of clean mail)"
	sh "$here/postern.sh" stop "$BENCH_DIR"
}

# mid MODE SIZE: BENCH_FILTERS_MID sessions held half-way through DATA.
mid() {
	mode=$1
	size=$2
	start "$mode" || return
	say "filters $mode: $BENCH_FILTERS_MID sessions mid-way through $size-byte messages"
	if ! line=$("$LOADGEN" -h 127.0.0.1 -p "$POSTERN_PORT" \
	    --mid "$BENCH_FILTERS_MID" -s "$size" --mime -f "$FROM" -t "$RCPT" \
	    --pids "$(echo "$wpids" | tr ' ' ',')" -w "$BENCH_TIMEOUT" \
	    -l "filters-$mode"); then
		note "filters $mode: the mid-DATA run of $size bytes was incomplete: $line"
	fi
	[ -z "$line" ] || echo "$line" >>"$RESULTS"
	echo "$line" >&2
	hits=$(grep -c 'event=filter ' "$BENCH_DIR/postern.log")
	[ "$hits" = 0 ] || note "filters $mode mid size=$size: $hits filter hits"
	sh "$here/postern.sh" stop "$BENCH_DIR"
}

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
awk -v l="${load_start%% *}" 'BEGIN { exit !(l > 1.0) }' &&
	say "warning: load average $load_start: other work on this machine skews the figures"

probes_ok=0
probe probe-attachment attachment '\*\.pdf' '*.pdf'
probe probe-content content 'REPORT FOR THE LAST QUARTER' 'REPORT FOR THE LAST QUARTER'

# Off and on alternate, so both see the same background load.
rep=1
while [ "$rep" -le "$BENCH_REPEAT" ]; do
	for r in $BENCH_FILTERS_RUNS; do
		run off "${r%%:*}" "${r#*:}"
		run on "${r%%:*}" "${r#*:}"
	done
	if [ "$BENCH_FILTERS_MID" -gt 0 ]; then
		for s in $BENCH_FILTERS_MID_SIZES; do
			mid off "$s"
			mid on "$s"
		done
	fi
	rep=$((rep + 1))
done
load_end=$(cut -d' ' -f1-3 /proc/loadavg)
cleanup
# This script's instances (see retire_dir): 1 MB runs leave gigabytes.
# When run.sh runs it, that includes run.sh's earlier ones, which it would
# delete at its end anyway.
rm -rf "$BENCH_DIR/trash"

# ---- tables ----

# med LABEL MODE CONC SIZE KEY [DECIMALS]: the median of KEY over the
# matching result lines (MODE "" = throughput lines; CONC "" = any).
med() {
	awk -v srv="$1" -v mode="$2" -v conc="$3" -v size="$4" -v key="$5" -v dec="${6:-1}" '
		$1 != "result" { next }
		{ delete f; for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] } }
		f["server"] != srv || f["mode"] != mode || f["size"] != size || !(key in f) { next }
		conc != "" && f["conc"] != conc { next }
		f[key] ~ /^-?[0-9.]+$/ { v[++n] = f[key] + 0 }
		END {
			if (n == 0) exit
			for (i = 2; i <= n; i++)
				for (j = i; j > 1 && v[j - 1] > v[j]; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
			m = (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
			printf "%.*f\n", dec, m
		}' "$RESULTS"
}

# pairs CONC SIZE: delivered/s of each off and on run, in run order.
pairs() {
	awk -v conc="$1" -v size="$2" '
		$1 != "result" { next }
		{ delete f; for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] } }
		("mode" in f) || f["conc"] != conc || f["size"] != size { next }
		f["server"] == "filters-off" { off[++no] = f["delivered_per_s"] }
		f["server"] == "filters-on" { on[++nn] = f["delivered_per_s"] }
		END {
			n = no > nn ? no : nn
			for (i = 1; i <= n; i++)
				printf "%s%s / %s", (i > 1 ? ", " : ""), (i in off ? off[i] : "-"), (i in on ? on[i] : "-")
		}' "$RESULTS"
}

cost() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.1f%%", (1 - b / a) * 100; else printf "-" }'
}

reset_ok=$(awk '$1 == "result" && / hwm_reset=0/ { n++ } END { print n + 0 }' "$RESULTS")
{
	# shellcheck disable=SC2016
	printf 'Measured by `make bench-filters` on %s, tree %s, %s; load average (1, 5, 15 min) %s at start, %s at end. Median of %s runs per cell.\n\n' \
	    "$(date -u '+%Y-%m-%d %H:%M UTC')" \
	    "$(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo '?')${POSTERN_BIN:+ (binary: $POSTERN_BIN)}" \
	    "$(if [ "$probes_ok" = 2 ]; then echo 'both probes refused (the MIME parser reads these messages)'; else echo "only $probes_ok of 2 probes refused: the MIME parser does not read these messages, the filters-on figures measure no scan"; fi)" \
	    "$load_start" "$load_end" "$BENCH_REPEAT"
	echo "Throughput (delivered/s: from the first MAIL until every message is in the Maildir):"
	echo
	echo "| message | concurrency | messages | filters off: delivered/s | filters on: delivered/s | cost | filters off: accepted/s | filters on: accepted/s | filters off: worker CPU ms/message | filters on: worker CPU ms/message | delivered/s of each run, off / on |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
	for r in $BENCH_FILTERS_RUNS; do
		s=${r%%:*}
		c=${r#*:}
		off=$(med filters-off "" "$c" "$s" delivered_per_s)
		on=$(med filters-on "" "$c" "$s" delivered_per_s)
		aoff=$(med filters-off "" "$c" "$s" accepted_per_s)
		aon=$(med filters-on "" "$c" "$s" accepted_per_s)
		coff=$(med filters-off "" "$c" "$s" worker_cpu_ms_per_msg 3)
		con=$(med filters-on "" "$c" "$s" worker_cpu_ms_per_msg 3)
		echo "| $(human "$s") | $c | $(nfor "$s") | ${off:--} | ${on:--} | $(cost "$off" "$on") | ${aoff:--} | ${aon:--} | ${coff:--} | ${con:--} | $(pairs "$c" "$s") |"
	done
	echo
	echo "Peak memory of the workers during those runs (VmHWM, all workers summed$( [ "$reset_ok" = 0 ] || echo "; in $reset_ok runs VmHWM could not be reset and counts from the start" )):"
	echo
	echo "| message | concurrency | filters | before, KB | peak, KB | growth per session, KB |"
	echo "|---|---:|---|---:|---:|---:|"
	for r in $BENCH_FILTERS_RUNS; do
		s=${r%%:*}
		c=${r#*:}
		for m in off on; do
			echo "| $(human "$s") | $c | $m | $(med "filters-$m" "" "$c" "$s" hwm_before_kb | sed 's/\.0$//') | $(med "filters-$m" "" "$c" "$s" hwm_peak_kb | sed 's/\.0$//') | $(med "filters-$m" "" "$c" "$s" hwm_kb_per_session) |"
		done
	done
	if [ "$BENCH_FILTERS_MID" -gt 0 ]; then
		echo
		echo "$BENCH_FILTERS_MID sessions each half-way through one message's DATA (RSS of the workers, all summed, before the sessions and while they are held):"
		echo
		echo "| message | sent per session when measured | filters off: RSS KB per session | filters on: RSS KB per session | filters on: PSS KB per session |"
		echo "|---|---:|---:|---:|---:|"
		for s in $BENCH_FILTERS_MID_SIZES; do
			sent=$(med filters-on mid "" "$s" sent_kb | sed 's/\.0$//')
			echo "| $(human "$s") | ${sent:--} KB | $(med filters-off mid "" "$s" rss_kb_per_session) | $(med filters-on mid "" "$s" rss_kb_per_session) | $(med filters-on mid "" "$s" pss_kb_per_session) |"
		done
	fi
} >"$OUT"

# The streaming budget: from the smallest size to each larger one, a held
# session may grow by less than a quarter of the extra bytes it has sent
# (one that kept the message would grow by all of them).
if [ "$BENCH_FILTERS_MID" -gt 0 ]; then
	small=$(echo "$BENCH_FILTERS_MID_SIZES" | tr ' ' '\n' | sort -n | head -n 1)
	ks=$(med filters-on mid "" "$small" rss_kb_per_session)
	ss=$(med filters-on mid "" "$small" sent_kb)
	for large in $BENCH_FILTERS_MID_SIZES; do
		[ "$large" -gt "$small" ] || continue
		kl=$(med filters-on mid "" "$large" rss_kb_per_session)
		sl=$(med filters-on mid "" "$large" sent_kb)
		if [ -z "$ks" ] || [ -z "$kl" ]; then
			note "no mid-DATA figures with filters on for $(human "$small") and $(human "$large")"
		elif ! awk -v ks="$ks" -v kl="$kl" -v ss="$ss" -v sl="$sl" \
		    'BEGIN { exit !(kl - ks < (sl - ss) / 4) }'; then
			note "per-session memory grows with the message: $ks KB mid-way through $(human "$small"), $kl KB mid-way through $(human "$large") (budget: less than a quarter of the $(awk -v a="$ss" -v b="$sl" 'BEGIN { print b - a }') KB more it has sent)"
		fi
	done
fi

if [ -n "$notes" ]; then
	{ echo; echo "Not measured, incomplete or over budget:"; echo; printf '%s' "$notes"; } >>"$OUT"
fi
cat "$OUT"

if [ "$BENCH_FILTERS_DOC" = 1 ] && [ -f "$DOC" ]; then
	if grep -q '<!-- filters:begin -->' "$DOC" && grep -q '<!-- filters:end -->' "$DOC"; then
		awk -v table="$OUT" '
			/<!-- filters:begin -->/ {
				print; skip = 1
				print ""
				while ((getline line < table) > 0) print line
				print ""
				next
			}
			/<!-- filters:end -->/ { skip = 0 }
			!skip { print }' "$DOC" >"$DOC.tmp" && mv "$DOC.tmp" "$DOC"
		say "updated $DOC"
	else
		say "no filters markers in $DOC: not updated"
		failed=1
	fi
fi
exit $failed
