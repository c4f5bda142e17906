#!/bin/sh
# The benchmark (`make bench`): Postern against Postfix on this machine, with
# our own load generator, on loopback only. For each server in turn: a fresh
# instance for the idle-connection memory test, then a fresh instance for
# the throughput runs at each concurrency; then the outbound runs, where
# each server relays to bench/sink. Prints the tables and writes
# docs/benchmarks.md. Exits non-zero when anything was not measured.
#
# Environment: BENCH_DIR (work dir, default /tmp/postern-bench), BENCH_N
# (messages per run, default 500 at c=1 and 2000 otherwise), BENCH_SIZE
# (bytes, default 10240), BENCH_CONC (default "1 10 50"), BENCH_IDLE (idle
# connections, default 1000), BENCH_SERVERS (default "postfix postern"),
# BENCH_TIMEOUT (seconds to wait for replies and deliveries, default 120),
# BENCH_REPEAT (throughput runs per server and concurrency, median shown;
# default 1), BENCH_OUT_CONC (outbound concurrencies, default "10 50"; ""
# skips the outbound runs), BENCH_OUT_N (messages per outbound run, default
# BENCH_N or 2000), BENCH_FILTERS_RUNS (bench/filters.sh; "" skips it),
# BENCH_IMAP (bench/imap.sh, Postern against Dovecot; "" skips it),
# POSTFIX_PORT (2625), POSTERN_PORT (2725), SINK_PORT (2825), POSTERN_BIN.
set -u

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
BENCH_DIR=${BENCH_DIR:-/tmp/postern-bench}
BENCH_SIZE=${BENCH_SIZE:-10240}
BENCH_CONC=${BENCH_CONC:-1 10 50}
BENCH_IDLE=${BENCH_IDLE:-1000}
BENCH_SERVERS=${BENCH_SERVERS:-postfix postern}
BENCH_TIMEOUT=${BENCH_TIMEOUT:-120}
BENCH_REPEAT=${BENCH_REPEAT:-1}
BENCH_OUT_CONC=${BENCH_OUT_CONC-10 50}
BENCH_OUT_N=${BENCH_OUT_N:-${BENCH_N:-2000}}
SINK_PORT=${SINK_PORT:-2825}
export POSTFIX_PORT="${POSTFIX_PORT:-2625}"
export POSTERN_PORT="${POSTERN_PORT:-2725}"
DOC=$top/docs/benchmarks.md
LOADGEN=$here/loadgen
SINK=$here/sink
RESULTS=$BENCH_DIR/results.txt
FROM=u@bench.test
RCPT=u@bench.test
# Outbound: a domain the server does not receive for, relayed to the sink.
RCPT_OUT=u@remote.test
WARN="-Wall -Wextra -Wformat=2 -Wshadow -Wno-unused-parameter \
-Wmissing-prototypes -Wstrict-prototypes -Werror"

case "$BENCH_DIR" in /*) ;; *) BENCH_DIR=$(pwd)/$BENCH_DIR ;; esac
case "$BENCH_DIR" in /|"$top"|"$top"/*)
	echo "bench: BENCH_DIR must be outside the repository and not /" >&2
	exit 2 ;;
esac

say() { echo "bench: $*" >&2; }

failed=0
notes=""
note() {
	say "$*"
	notes="$notes- $*
"
	failed=1
}

# ---- build the load generator and the sink ----
# shellcheck disable=SC2086
cc -std=gnu11 -O2 $WARN -D_GNU_SOURCE -o "$LOADGEN" "$here/loadgen.c" ||
	{ say "cannot build bench/loadgen"; exit 1; }
# shellcheck disable=SC2086
cc -std=gnu11 -O2 $WARN -D_GNU_SOURCE -o "$SINK" "$here/sink.c" ||
	{ say "cannot build bench/sink"; exit 1; }

mkdir -p "$BENCH_DIR"
: >"$RESULTS"
rm -f "$BENCH_DIR/filters.md"	# written by filters.sh during this run only

sink_pid=""
cleanup() {
	sh "$here/postern.sh" stop "$BENCH_DIR" 2>/dev/null || true
	sh "$here/postfix.sh" stop "$BENCH_DIR" 2>/dev/null || true
	sink_stop
	rm -rf "$BENCH_DIR/trash"	# instances of this run (see retire_dir)
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

nfor() {
	if [ -n "${BENCH_N:-}" ]; then echo "$BENCH_N"
	elif [ "$1" = 1 ]; then echo 500
	else echo 2000
	fi
}

# Which processes are "the server" for the idle test.
pidsel() {
	case "$1" in
	postfix) echo "--pidfile $BENCH_DIR/postfix/queue/pid/master.pid --tree --comm smtpd" ;;
	postern) echo "--pidfile $BENCH_DIR/postern/postern.pid --tree" ;;
	esac
}

port_of() {
	case "$1" in postfix) echo "$POSTFIX_PORT" ;; postern) echo "$POSTERN_PORT" ;; esac
}

# start SERVER: prints the Maildir new/ path; the reason on failure in $why.
start_server() {
	why=""
	errf=$BENCH_DIR/$1.start.err
	if newdir=$(sh "$here/$1.sh" start "$BENCH_DIR" 2>"$errf"); then
		cat "$errf" >&2
		return 0
	fi
	why=$(tr '\n' ' ' <"$errf")
	cat "$errf" >&2
	return 1
}

# idle SERVER: memory per idle connection on a fresh instance.
bench_idle() {
	srv=$1
	say "$srv: idle test, $BENCH_IDLE connections"
	if ! start_server "$srv"; then
		note "$srv did not start: $why"
		return 1
	fi
	# shellcheck disable=SC2046
	if ! "$LOADGEN" -h 127.0.0.1 -p "$(port_of "$srv")" --idle "$BENCH_IDLE" \
	    $(pidsel "$srv") -w "$BENCH_TIMEOUT" -l "$srv" >>"$RESULTS"; then
		note "$srv: idle test did not hold all $BENCH_IDLE connections"
	fi
	tail -n 1 "$RESULTS" >&2
	sh "$here/$srv.sh" stop "$BENCH_DIR"
}

# The sink: a fresh one for each outbound run, so its count starts at 0.
sink_start() {
	sink_stop
	"$SINK" -p "$SINK_PORT" >>"$BENCH_DIR/sink.out" 2>&1 </dev/null &
	sink_pid=$!
	i=0
	while [ $i -lt 100 ]; do
		kill -0 "$sink_pid" 2>/dev/null || break
		bash -c "exec 3<>/dev/tcp/127.0.0.1/$SINK_PORT" 2>/dev/null && return 0
		sleep 0.1
		i=$((i + 1))
	done
	why="sink did not listen on 127.0.0.1:$SINK_PORT: $(tail -n 1 "$BENCH_DIR/sink.out")"
	sink_stop
	return 1
}

sink_stop() {
	[ -n "$sink_pid" ] || return 0
	kill -TERM "$sink_pid" 2>/dev/null || true
	wait "$sink_pid" 2>/dev/null || true
	sink_pid=""
}

# out SERVER C: one outbound run: a fresh sink, a fresh instance relaying
# to it, N messages for a remote domain injected from 127.0.0.1.
bench_out() {
	srv=$1
	c=$2
	if ! sink_start; then
		note "outbound $srv c=$c: $why"
		return 1
	fi
	if ! newdir=$(POSTERN_RELAYHOST=$SINK_PORT POSTFIX_RELAYHOST=$SINK_PORT \
	    sh "$here/$srv.sh" start "$BENCH_DIR" 2>"$BENCH_DIR/$srv.start.err"); then
		cat "$BENCH_DIR/$srv.start.err" >&2
		note "$srv did not start for outbound c=$c: $(tr '\n' ' ' <"$BENCH_DIR/$srv.start.err")"
		sink_stop
		return 1
	fi
	say "$srv: outbound c=$c n=$BENCH_OUT_N size=$BENCH_SIZE"
	rc=0
	if ! "$LOADGEN" -h 127.0.0.1 -p "$(port_of "$srv")" -n "$BENCH_OUT_N" \
	    -s "$BENCH_SIZE" -c "$c" -f "$FROM" -t "$RCPT_OUT" --sink "$SINK_PORT" \
	    -w "$BENCH_TIMEOUT" -l "$srv" >>"$RESULTS"; then
		note "$srv: outbound run c=$c incomplete (errors or delivery timeout): $(tail -n 1 "$RESULTS")"
		# Nothing relayed at all: the other runs would only wait as long.
		case "$(tail -n 1 "$RESULTS")" in *" delivered=0 "*)
			note "$srv: nothing reached the sink; its other outbound runs are skipped"
			rc=1 ;;
		esac
	fi
	tail -n 1 "$RESULTS" >&2
	sh "$here/$srv.sh" stop "$BENCH_DIR"
	sink_stop
	return $rc
}

# load SERVER C: one throughput run on a fresh instance (empty queue).
bench_load() {
	srv=$1
	c=$2
	n=$(nfor "$c")
	if ! start_server "$srv"; then
		note "$srv did not start for c=$c: $why"
		return 1
	fi
	say "$srv: c=$c n=$n size=$BENCH_SIZE"
	if ! "$LOADGEN" -h 127.0.0.1 -p "$(port_of "$srv")" -n "$n" \
	    -s "$BENCH_SIZE" -c "$c" -f "$FROM" -t "$RCPT" -m "$newdir" \
	    -w "$BENCH_TIMEOUT" -l "$srv" >>"$RESULTS"; then
		note "$srv: run c=$c incomplete (errors or delivery timeout): $(tail -n 1 "$RESULTS")"
	fi
	tail -n 1 "$RESULTS" >&2
	sh "$here/$srv.sh" stop "$BENCH_DIR"
}

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
awk -v l="${load_start%% *}" 'BEGIN { exit !(l > 1.0) }' &&
	say "warning: load average $load_start: other work on this machine skews the figures"

# A server that does not start is not tried again for the later runs.
skip=""
for srv in $BENCH_SERVERS; do
	bench_idle "$srv" || skip="$skip $srv"
done
# Servers alternate at each concurrency, so both see the same background.
rep=1
while [ "$rep" -le "$BENCH_REPEAT" ]; do
	for c in $BENCH_CONC; do
		for srv in $BENCH_SERVERS; do
			case " $skip " in *" $srv "*) continue ;; esac
			bench_load "$srv" "$c" || skip="$skip $srv"
		done
	done
	rep=$((rep + 1))
done
# Outbound: the same alternation; a server whose first run relayed nothing
# is not tried again.
outskip=""
rep=1
while [ "$rep" -le "$BENCH_REPEAT" ]; do
	for c in $BENCH_OUT_CONC; do
		for srv in $BENCH_SERVERS; do
			case " $skip $outskip " in *" $srv "*) continue ;; esac
			bench_out "$srv" "$c" || outskip="$outskip $srv"
		done
	done
	rep=$((rep + 1))
done
# The sender checks, off and on (bench/checks.sh; Postern only).
checks_ok=""
if [ -n "${BENCH_CHECKS_CONC-10 50}" ] && case " $BENCH_SERVERS " in *" postern "*) true ;; *) false ;; esac; then
	say "sender checks: off vs on"
	if BENCH_CHECKS_DOC=0 BENCH_DIR=$BENCH_DIR sh "$here/checks.sh"; then
		checks_ok=1
	else
		note "sender checks benchmark incomplete or over budget (see above)"
	fi
fi
# The content filters, off and on (bench/filters.sh; Postern only).
if [ -n "${BENCH_FILTERS_RUNS-x}" ] && case " $BENCH_SERVERS " in *" postern "*) true ;; *) false ;; esac; then
	say "content filters: off vs on"
	if ! BENCH_FILTERS_DOC=0 BENCH_DIR=$BENCH_DIR sh "$here/filters.sh"; then
		note "content filters benchmark incomplete or over budget (see above)"
	fi
fi
# IMAP: Postern against Dovecot over one Maildir (bench/imap.sh).
rm -f "$BENCH_DIR/imap.md"
if [ -n "${BENCH_IMAP-x}" ]; then
	say "imap: postern vs dovecot"
	if ! IMAP_DOC=0 BENCH_DIR=$BENCH_DIR sh "$here/imap.sh"; then
		note "IMAP benchmark incomplete (see above)"
	fi
fi
load_end=$(cut -d' ' -f1-3 /proc/loadavg)
cleanup

# ---- report ----

# get SERVER KEY [CONC [MODE]]: a value from the results ("" when absent);
# with BENCH_REPEAT > 1 the median of the runs (errors: their sum; a run
# that timed out makes the value "timeout"). No CONC: the idle test; MODE
# "out": the outbound runs.
get() {
	awk -v srv="$1" -v key="$2" -v conc="${3:-}" -v mode="${4:-}" '
		$1 != "result" { next }
		{ delete f; for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] } }
		f["server"] != srv || !(key in f) { next }
		conc == "" && f["mode"] != "idle" { next }
		conc != "" && (f["mode"] != mode || f["conc"] != conc) { next }
		f[key] !~ /^-?[0-9.]+$/ { bad = f[key]; next }
		{ v[++n] = f[key] + 0; sum += f[key] }
		END {
			if (bad != "") { print bad; exit }
			if (n == 0) exit
			if (key == "errors") { print sum; exit }
			for (i = 2; i <= n; i++)	# insertion sort: n is small
				for (j = i; j > 1 && v[j - 1] > v[j]; j--) {
					t = v[j]; v[j] = v[j - 1]; v[j - 1] = t
				}
			m = (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
			if (key ~ /_per_/) printf "%.1f\n", m; else print m
		}' "$RESULTS"
}

ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else printf "-" }'
}

or_dash() { if [ -n "$1" ]; then echo "$1"; else echo "-"; fi; }
or_nm() { if [ -n "$1" ]; then echo "$1"; else echo "not measured"; fi; }

table=$BENCH_DIR/table.md
{
	echo "| server | concurrency | messages | accepted/s | delivered/s | Postern/Postfix (delivered/s) | errors |"
	echo "|---|---:|---:|---:|---:|---:|---:|"
	for c in $BENCH_CONC; do
		pf=$(get postfix delivered_per_s "$c")
		pn=$(get postern delivered_per_s "$c")
		for srv in $BENCH_SERVERS; do
			acc=$(get "$srv" accepted_per_s "$c")
			del=$(get "$srv" delivered_per_s "$c")
			err=$(get "$srv" errors "$c")
			r=""
			[ "$srv" = postern ] && r=$(ratio "$pn" "$pf")
			echo "| $srv | $c | $(nfor "$c") | $(or_nm "$acc") | $(or_nm "$del") | $r | $err |"
		done
	done
} >"$table"

# each SERVER MODE CONC KEY: every run's value, in run order ("a, b, c").
each() {
	awk -v srv="$1" -v mode="$2" -v conc="$3" -v key="$4" '
		$1 != "result" { next }
		{ delete f; for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] } }
		f["server"] == srv && f["mode"] == mode && f["conc"] == conc && (key in f) {
			printf "%s%s", (n++ ? ", " : ""), f[key] }
		END { if (n) printf "\n" }' "$RESULTS"
}

out_table=$BENCH_DIR/outbound.md
{
	echo "| server | concurrency | messages | accepted/s | delivered/s | Postern/Postfix (delivered/s) | errors | delivered/s of each run |"
	echo "|---|---:|---:|---:|---:|---:|---:|---|"
	for c in $BENCH_OUT_CONC; do
		pf=$(get postfix delivered_per_s "$c" out)
		pn=$(get postern delivered_per_s "$c" out)
		for srv in $BENCH_SERVERS; do
			acc=$(get "$srv" accepted_per_s "$c" out)
			del=$(get "$srv" delivered_per_s "$c" out)
			err=$(get "$srv" errors "$c" out)
			r=""
			[ "$srv" = postern ] && r=$(ratio "$pn" "$pf")
			echo "| $srv | $c | $BENCH_OUT_N | $(or_nm "$acc") | $(or_nm "$del") | $r | $err | $(or_dash "$(each "$srv" out "$c" delivered_per_s)") |"
		done
	done
} >"$out_table"

idle_table=$BENCH_DIR/idle.md
{
	echo "| server | idle connections held | RSS KB / connection | PSS KB / connection | processes before → after |"
	echo "|---|---:|---:|---:|---|"
	for srv in $BENCH_SERVERS; do
		held=$(get "$srv" held)
		echo "| $srv | $(or_nm "$held") | $(or_nm "$(get "$srv" rss_kb_per_conn)") | $(or_nm "$(get "$srv" pss_kb_per_conn)") | $(or_dash "$(get "$srv" procs_before)") → $(or_dash "$(get "$srv" procs_after)") |"
	done
} >"$idle_table"

echo
cat "$table"
echo
cat "$idle_table"
if [ -n "$BENCH_OUT_CONC" ]; then
	echo
	cat "$out_table"
fi
[ -z "$notes" ] || { echo; printf '%s' "$notes"; }

# ---- docs/benchmarks.md ----
fsinfo=$(df -T "$BENCH_DIR" 2>/dev/null | awk 'NR == 2 { print $2 " on " $1 }')
dev=$(df "$BENCH_DIR" 2>/dev/null | awk 'NR == 2 { print $1 }')
disk=""
if command -v lsblk >/dev/null 2>&1 && [ -b "$dev" ]; then
	# lsblk's ROTA is what the kernel was told: virtio disks say 1 whatever
	# the backing store is.
	disk=$(lsblk -dno NAME,TYPE,SIZE,ROTA,MODEL "$dev" 2>/dev/null |
		awk '{ printf "%s, %s %s, lsblk ROTA=%s", $1, $3, $2, $4;
			for (i = 5; i <= NF; i++) printf " %s", $i
			if ($1 ~ /^vd/) printf " (virtio: says 1 whatever the backing store)" }')
fi
cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null)
mem=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
pfver=$(postconf -d -h mail_version 2>/dev/null || echo "?")
pnver=$("${POSTERN_BIN:-$top/build/postern}" version 2>/dev/null || echo "?")
rev=$(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo "?")
# Postfix's scheduling defaults that the outbound runs keep, as installed.
pfdef() { postconf -d -h "$1" 2>/dev/null || echo "?"; }
pf_conc=$(pfdef default_destination_concurrency_limit)
pf_init=$(pfdef initial_destination_concurrency)
pf_cache=$(pfdef smtp_connection_cache_on_demand)
pf_flow=$(pfdef in_flow_delay)
pf_proc=$(pfdef default_process_limit)
mkdir -p "$(dirname "$DOC")"
{
	cat <<EOF
# Benchmarks

Generated by \`make bench\` (bench/run.sh) on $(date -u '+%Y-%m-%d %H:%M UTC'),
tree $rev. Do not edit by hand: run it again.

## Machine

- CPU: $(nproc) cores${cpu:+ ($cpu)}, memory $mem
- kernel: $(uname -sr)
- work dir: $BENCH_DIR, ${fsinfo:-file system unknown}${disk:+ (disk: $disk)}
- Postfix $pfver; $pnver
- load average (1, 5, 15 min) at start: $load_start; at end: $load_end
  (anything else running on the machine lowers both servers' figures)

## Throughput

Messages of $BENCH_SIZE bytes (RFC 5322 headers and 76-character body lines,
dot-stuffed) from \`$FROM\` to \`$RCPT\`, one recipient each, sent by
\`bench/loadgen\` over C concurrent connections (EHLO once, then
MAIL/RCPT/DATA per message, no pipelining). *accepted/s*: messages answered
250 after DATA, from the first MAIL to the last 250. *delivered/s*: from the
first MAIL until all of them are files in the user's Maildir \`new/\`. Each
run uses a fresh server instance; only one server runs at a time, and the
two alternate at each concurrency. Runs per cell: $BENCH_REPEAT (median shown).

EOF
	cat "$table"
	cat <<EOF

## Memory per idle connection

$BENCH_IDLE connections that read the banner and then stay silent, on a
fresh instance. Memory of the server's processes (Postern: the server and
every process under it; Postfix: master and its smtpd processes, one per
connection) read from /proc/PID/smaps_rollup before and 2 s after; per
connection = (after − before) / $BENCH_IDLE. RSS counts shared pages (the
libraries of each smtpd) again in every process; PSS divides them among the
processes that share them, and is the fairer figure for a process-per-client
server.

EOF
	cat "$idle_table"
	if [ -n "$BENCH_OUT_CONC" ]; then
		cat <<EOF

## Outbound

The same messages ($BENCH_SIZE bytes, one recipient each), but to
\`$RCPT_OUT\`, a domain neither server receives for, injected by
\`bench/loadgen\` from 127.0.0.1 (a trusted client: Postern's
\`relay.trusted_networks\`, Postfix's \`mynetworks\`) over C concurrent
connections. Each server relays them through its relayhost
\`[127.0.0.1]:$SINK_PORT\` (an address literal: no DNS) to \`bench/sink\`, a
single-threaded epoll SMTP server that offers PIPELINING, 8BITMIME and SIZE
(no STARTTLS, so both servers send in clear), accepts everything, discards
it and records when each message's final dot was answered 250.
*delivered/s* = $BENCH_OUT_N / (time from loadgen's first MAIL until the
sink accepted the ${BENCH_OUT_N}th message), both read from this machine's
CLOCK_MONOTONIC, so not rounded to any polling interval. *accepted/s*: as
above. A fresh sink and a fresh server instance for every run; servers
alternate at each concurrency. Runs per cell: $BENCH_REPEAT (median shown,
every run in the last column).

EOF
		cat "$out_table"
		cat <<EOF

- Postern (bench/postern.sh with \`POSTERN_RELAYHOST=$SINK_PORT\`): the
  instance above with \`delivery = { relayhost = "[127.0.0.1]:$SINK_PORT"; }\`
  and every other \`delivery\` key at its default (\`tls = "opportunistic"\`);
  its outbound concurrency is whatever its queue manager does by default.
- Postfix (bench/postfix.sh with \`POSTFIX_RELAYHOST=$SINK_PORT\`): the
  instance above with \`relayhost = [127.0.0.1]:$SINK_PORT\`,
  \`default_transport = smtp\` (\`smtp\` and \`relay\` services in master.cf,
  no chroot) and Postfix's default scheduling:
  default_destination_concurrency_limit = $pf_conc,
  initial_destination_concurrency = $pf_init, default_process_limit = $pf_proc,
  smtp_connection_cache_on_demand = $pf_cache (a backlogged destination
  reuses connections), in_flow_delay = $pf_flow (smtpd slows down when the
  queue manager falls behind).
- Durability is the same on both sides: each fsyncs the queue file before
  it answers 250 to loadgen (Postfix's default, Postern's only way), and
  neither is tuned to skip it. The sink fsyncs nothing, so the figures
  measure the servers, not the far end.
- Each server adds its own trace headers, so the sink sees slightly more
  than $BENCH_SIZE bytes per message (\`sink_avg_bytes\` in the raw lines).
- Only one server runs at a time, but this 2-core machine is shared with
  other work (see the load averages above): compare the two servers within
  one run of \`make bench\` and prefer medians of several runs.
EOF
	fi
	if [ -f "$BENCH_DIR/checks.md" ]; then
		cat <<EOF

## Sender checks

Postern alone, the same messages from \`u@sender.example\` sent from
127.0.0.2 (an untrusted client: only 127.0.0.1 is trusted here), first with
every sender check off, then with every one on and set to "reject":
\`verify_sender_domain\`, \`rdns\` (forward-confirmed), one \`dnsbl\` zone,
\`spf\`, \`helo = "reject_invalid"\`. The DNS answers come from
tests/dns/dnsserver.py on loopback (zone bench/checks.zone: an MX and an
SPF record that passes, a confirmed PTR, a DNSBL that lists nobody); every
message passes every check, so both columns count the same work plus the
checks. The budget: the checks must cost less than 20% of throughput at
concurrency 50 (bench/checks.sh exits non-zero otherwise).

<!-- checks:begin -->
EOF
		cat "$BENCH_DIR/checks.md"
		cat <<EOF
<!-- checks:end -->

What the figure includes: each connection's PTR, forward-confirmation and
DNSBL lookups (once per connection, overlapping the banner and EHLO), and
for each message the sender-domain and SPF verdicts. A connection reuses
its last transaction's verdicts for the same MAIL FROM and HELO for 30 s
(\`CHECK_MEMO_SEC\`), so here the first message of each connection pays
for the lookups and the others do not; a client that sends each message
from a different sender pays two libunbound cache lookups per message
(about 20% at c=50 on a 2-core machine, measured before the memo).
EOF
	fi
	if [ -f "$BENCH_DIR/filters.md" ]; then
		cat <<EOF

## Content filters

Postern alone, receiving MIME messages as a mail client writes them
(\`bench/loadgen --mime\`): multipart/mixed with a short text/plain part and
a base64 application/pdf attachment \`report.pdf\` that fills the message to
its size (10 KB or 1 MB), from \`u@bench.test\` to \`u@bench.test\`, delivered
to its Maildir. *filters off*:
\`filters = { attachments = { block = []; }; };\`, no glob and no content
rule, so the MIME parser never runs. *filters on*: the twelve default
attachment globs and five content rules with \`where = "any"\` (every header
field of every part, unfolded and RFC 2047-decoded, and the decoded text
part) that match nothing in these messages, so every message is parsed to
its end and delivered. *worker CPU ms/message*: the user and system time
of the worker processes (all threads) during the run, from
\`/proc/PID/stat\` in 10 ms ticks, divided by the messages: steadier than
the throughput on a shared machine, and it counts what the scan costs
whether or not the CPU was the bottleneck. A fresh instance for every run;
off and on alternate. Before the runs, two probes check that the parser
sees these messages: a block list of \`"*.pdf"\` and a content rule on the
words of the text part must each refuse one (bench/filters.sh fails
otherwise, as it did with the empty stand-in parser used while the real
one was written).

Memory is that of the worker processes only (the master's children
chrooted into \`data_dir/queue\`: the filters run there), summed over the
workers (one per core):
- *peak*: each worker's VmHWM is reset (\`/proc/PID/clear_refs\`) just
  before a throughput run and read after it; growth per session =
  (peak − before) / concurrency;
- *mid-DATA*: \`loadgen --mid 50\` opens 50 sessions that each send half of
  one message's DATA and stop; once the server's kernel has acknowledged
  every byte and 2 s have passed, the workers' RSS is read (smaps_rollup);
  per session = (held − before) / 50. Then the sessions finish and must be
  accepted. The 4 MB row shows where the figure levels off.

The budget: a session mid-way through a larger message must hold less than
a quarter of the extra bytes it has received compared with a 10 KB one (a
parser that kept the message would hold all of them); bench/filters.sh
exits non-zero otherwise.

<!-- filters:begin -->

EOF
		cat "$BENCH_DIR/filters.md"
		cat <<EOF

<!-- filters:end -->

How to read the memory figures: what a session holds during DATA is
bounded by fixed buffers, not by the message. Its input stops being read
at 256 KiB (the read watermark), the unstuffed data is handed on in pieces
of at most 256 KiB, the queue writer buffers 64 KiB before each write, the
MIME parser keeps one header section and one line per open part
(\`MIME_HEADER_MAX\`, \`MIME_LINE_MAX\`), and each content rule carries at
most its length − 1 bytes from one piece to the next. A 10 KB message
never fills these buffers and a 1 MB one does, so the figure per session
rises from 10 KB to 1 MB with the filters off as well, and then stays
flat. Peak figures (VmHWM) are coarser: glibc keeps freed memory, and
connections are spread over the workers unevenly.

This 2-core machine is shared with other work (see the load averages in
the first line of the results): the throughput figures of one run can
differ from the next by 20% or more, and a cost of a few percent is within
that noise. Compare off and on within one run, and prefer medians of
several runs.
EOF
	fi
	if [ -f "$BENCH_DIR/imap.md" ]; then
		cat <<EOF

## IMAP: Postern and Dovecot

bench/imap.sh fills one Maildir (\`u@bench.test\`'s INBOX) with 10,000
messages of 10 KiB, then serves it with Postern and, after Postern has
stopped, with Dovecot (Debian's dovecot-imapd, configured by
bench/dovecot.sh: its defaults except the paths, a static password, and
process and per-user limits raised for 1,000 connections from one IP). Both
over implicit TLS on loopback. *FETCH*: one client, \`LOGIN\`, an untimed
\`SELECT INBOX\` (each server builds its index: Postern's uid list, Dovecot's
index files), then \`FETCH 1:* BODY.PEEK[]\` timed, three times, median.
*Idle*: 1,000 connections logged in, INBOX selected, in IDLE; the memory
of each server's whole process tree (Postern: master, dird, qmgr, workers
and mailbox workers; Dovecot: master, anvil, auth, imap-login and imap
processes) before and after, divided by 1,000. RSS counts shared pages in
every process that maps them, which weighs on Dovecot's process per
connection; PSS shares them out, which is the fairer sum.

<!-- imap:begin -->

EOF
		cat "$BENCH_DIR/imap.md"
		cat <<EOF

<!-- imap:end -->

The FETCH figures of one run can differ from the next by a third on a
shared machine; the memory figures are steady. Postern's FETCH streams each
message from its file (LF to CRLF on the fly, 64 KiB at a time, paced by
the client's reading), and its idle connection costs the TLS state, the
session and its view of the folder (4 bytes and 1 flag byte per message):
the folder's index itself is shared by every session of a mailbox worker
process (\`docs/architecture.md\`, "The mail store and its index").
EOF
	fi
	cat <<EOF

## Setup

- Both servers listen on 127.0.0.1 only and keep their default durability
  (every accepted message is fsynced before the 250; delivery fsyncs too).
- Postfix (bench/postfix.sh): a private instance (config, queue and Maildir
  under the work dir), smtpd on 127.0.0.1:$POSTFIX_PORT, virtual mailbox
  domain \`bench.test\`, no DNS, every other transport \`error\`, no chroot,
  no client restrictions or rate limits for 127.0.0.0/8.
- Postern (bench/postern.sh): configured and started only through its
  command line (\`domain add\`, \`user add\`, \`serve\`), on
  127.0.0.1:$POSTERN_PORT, with sender-domain, SPF and rDNS checks off and
  connection limits raised; DNS and relayhost point at closed loopback ports.

## Reproduce

\`\`\`
make bench                      # as root: installs postfix if missing
BENCH_N=5000 make bench         # more messages per run
BENCH_REPEAT=3 make bench       # median of 3 runs per cell (noisy machines)
BENCH_SERVERS=postfix make bench  # one server only
BENCH_OUT_CONC= make bench      # no outbound runs
BENCH_FILTERS_RUNS= make bench  # no content filter runs
BENCH_IMAP= make bench          # no IMAP runs (they need root and Dovecot)
make bench-imap                 # the IMAP runs alone (installs dovecot-imapd)
make bench-filters              # the content filter runs alone
\`\`\`

Raw result lines of this run:

\`\`\`
$(cat "$RESULTS")
\`\`\`
EOF
	if [ -n "$notes" ]; then
		printf '\n## Not measured or incomplete\n\n%s' "$notes"
	fi
} >"$DOC"
say "wrote $DOC"
exit "$failed"
