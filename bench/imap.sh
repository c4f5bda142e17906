#!/bin/sh
# The IMAP benchmark (part of `make bench`, or alone: sh bench/imap.sh):
# Postern against Dovecot (Debian's dovecot-imapd, bench/dovecot.sh) over
# the same Maildir, on loopback, both over implicit TLS (imaps):
#   1. FETCH 1:* BODY.PEEK[] of a mailbox of IMAP_N messages (default
#      10,000 of IMAP_SIZE = 10 KiB), after an untimed SELECT that lets each
#      server index the folder; IMAP_RUNS runs (default 3), median;
#   2. memory per idle connection: IMAP_IDLE (default 1,000) connections
#      logged in, INBOX selected, in IDLE; the servers' whole process trees
#      are measured before and after (RSS, and PSS, which counts pages shared
#      between processes once), and the difference is divided by IMAP_IDLE.
# IMAP_DOVECOT=0 measures Postern only.
# Prints a table and, with IMAP_DOC=1 (bench/run.sh sets it), replaces the
# part of docs/benchmarks.md between <!-- imap:begin --> and <!-- imap:end -->.
# Needs root (Dovecot reads the Maildir as Postern's run_as user).
set -u

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
BENCH_DIR=${BENCH_DIR:-/tmp/postern-bench}
IMAP_N=${IMAP_N:-10000}
IMAP_SIZE=${IMAP_SIZE:-10240}
IMAP_IDLE=${IMAP_IDLE:-1000}
IMAP_RUNS=${IMAP_RUNS:-3}
IMAPS_PORT=${IMAPS_PORT:-2793}
export DOVECOT_PORT=${DOVECOT_PORT:-2993}
DOC=$top/docs/benchmarks.md
LOAD="python3 $here/imapload.py"
say() { echo "imap.sh: $*" >&2; }
die() { say "$*"; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (Dovecot must read Postern's Maildir as its owner)"
mkdir -p "$BENCH_DIR"
out=$BENCH_DIR/imap.md
failed=0

# KiB of RSS and PSS summed over pid and all its descendants: "rss pss".
tree_mem() {
	pids=$(ps -e -o pid=,ppid= | awk -v root="$1" '
		{ parent[$1] = $2 }
		END {
			for (p in parent) {
				q = p; n = 0
				while (q != "" && q != root && q != 1 && q != 0 && n++ < 64)
					q = parent[q]
				if (q == root) print p
			}
			print root
		}')
	rss=0
	pss=0
	for p in $pids; do
		r=$(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status" 2>/dev/null)
		s=$(awk '/^Pss:/ { print $2 }' "/proc/$p/smaps_rollup" 2>/dev/null)
		rss=$((rss + ${r:-0}))
		pss=$((pss + ${s:-0}))
	done
	echo "$rss $pss"
}

# idle PORT ROOTPID -> "rss_kib_per_conn pss_kib_per_conn"
idle_mem() {
	before=$(tree_mem "$2")
	fifo=$BENCH_DIR/imap-idle.fifo
	rm -f "$fifo"
	mkfifo "$fifo"
	# The client holds its connections until its stdin (the fifo) closes.
	$LOAD idle "$1" u@bench.test pw "$IMAP_IDLE" <"$fifo" >"$BENCH_DIR/imap-idle.out" 2>&1 &
	lpid=$!
	exec 9>"$fifo"
	i=0
	while ! grep -q ready "$BENCH_DIR/imap-idle.out" 2>/dev/null; do
		if ! kill -0 "$lpid" 2>/dev/null || [ $i -gt 1200 ]; then
			exec 9>&-
			wait "$lpid" 2>/dev/null
			say "idle client failed: $(tail -n 2 "$BENCH_DIR/imap-idle.out")"
			echo "- -"
			return 1
		fi
		sleep 0.1
		i=$((i + 1))
	done
	sleep 2	# let lazily allocated state settle
	after=$(tree_mem "$2")
	exec 9>&-
	wait "$lpid" 2>/dev/null
	rm -f "$fifo"
	echo "$before $after" | awk -v n="$IMAP_IDLE" '{
		printf "%.1f %.1f\n", ($3 - $1) / n, ($4 - $2) / n }'
}

# ---- Postern ----
say "postern: starting, filling the mailbox with $IMAP_N messages"
newdir=$(POSTERN_IMAPS=$IMAPS_PORT sh "$here/postern.sh" start "$BENCH_DIR") ||
	die "postern did not start"
maildir=$(dirname "$newdir")
$LOAD fill "$maildir" "$IMAP_N" "$IMAP_SIZE" || die "cannot fill $maildir"
chown -R postern: "$maildir"
ppid_postern=$(sh "$here/postern.sh" pid "$BENCH_DIR")
say "postern: FETCH"
p_fetch=$($LOAD fetch "$IMAPS_PORT" u@bench.test pw "$IMAP_RUNS") || {
	failed=1; p_fetch="- - -"; }
say "postern: $IMAP_IDLE idle connections"
p_idle=$(idle_mem "$IMAPS_PORT" "$ppid_postern") || failed=1
data=$(dirname "$(dirname "$(dirname "$maildir")")")
cert=$data/tls/cert.pem
key=$data/tls/key.pem
[ -f "$cert" ] || cert=$(ls "$data"/tls/*cert* 2>/dev/null | head -n 1)
[ -f "$key" ] || key=$(ls "$data"/tls/*key* 2>/dev/null | head -n 1)
sh "$here/postern.sh" stop "$BENCH_DIR"

# ---- Dovecot, over the same Maildir ----
if [ "${IMAP_DOVECOT:-1}" = 0 ]; then
	d_fetch="- - -"
	d_idle="- -"
elif say "dovecot: starting over $maildir" && DOVECOT_MAIL=$maildir DOVECOT_PASS=pw DOVECOT_OWNER=postern \
    DOVECOT_CERT=$cert DOVECOT_KEY=$key sh "$here/dovecot.sh" start "$BENCH_DIR"; then
	dpid=$(sh "$here/dovecot.sh" pid "$BENCH_DIR")
	say "dovecot: FETCH"
	d_fetch=$($LOAD fetch "$DOVECOT_PORT" u@bench.test pw "$IMAP_RUNS") || {
		failed=1; d_fetch="- - -"; }
	say "dovecot: $IMAP_IDLE idle connections"
	d_idle=$(idle_mem "$DOVECOT_PORT" "$dpid") || failed=1
	sh "$here/dovecot.sh" stop "$BENCH_DIR"
else
	failed=1
	d_fetch="- - -"
	d_idle="- -"
fi

set -- $p_fetch
p_msgs=$2 p_mb=$3
set -- $d_fetch
d_msgs=$2 d_mb=$3
set -- $p_idle
p_rss=$1 p_pss=$2
set -- $d_idle
d_rss=$1 d_pss=$2
{
	echo "IMAP over TLS (imaps), $IMAP_N messages of $IMAP_SIZE bytes in INBOX, one Maildir served by both; $(nproc) cores, $(date -u +%Y-%m-%d)."
	echo
	echo "| | Postern | Dovecot $(dovecot --version 2>/dev/null | cut -d' ' -f1) |"
	echo "|---|---|---|"
	echo "| FETCH 1:* BODY.PEEK[], messages/s (median of $IMAP_RUNS) | $p_msgs | $d_msgs |"
	echo "| the same, MB/s of response | $p_mb | $d_mb |"
	echo "| RSS per idle connection in IDLE, KiB ($IMAP_IDLE connections) | $p_rss | $d_rss |"
	echo "| PSS per idle connection in IDLE, KiB | $p_pss | $d_pss |"
} >"$out"
cat "$out"
if [ "${IMAP_DOC:-0}" = 1 ] && [ -f "$DOC" ] && grep -q '<!-- imap:begin -->' "$DOC"; then
	awk -v f="$out" '
		/<!-- imap:begin -->/ { print; while ((getline l < f) > 0) print l; skip = 1; next }
		/<!-- imap:end -->/ { skip = 0 }
		!skip' "$DOC" >"$DOC.tmp" && mv "$DOC.tmp" "$DOC"
fi
exit $failed
