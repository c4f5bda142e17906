#!/bin/sh
# Runs one libFuzzer target (NAME_fuzz) for SECONDS over its seed corpus
# tests/fuzz/corpus/NAME/ and its working corpus in BUILD/corpus/NAME/.
# Exits non-zero, with the end of the log, on any finding.
set -e
n=$1 seconds=$2 build=$3
t=${n%_fuzz}
mkdir -p "tests/fuzz/corpus/$t" "$build/corpus/$t"
if ! "$build/$n" -max_total_time="$seconds" -print_final_stats=0 \
	-artifact_prefix="$build/" "$build/corpus/$t" "tests/fuzz/corpus/$t" \
	> "$build/$t.log" 2>&1; then
	echo "== fuzz $t: FAILED"
	tail -n 40 "$build/$t.log"
	exit 255	# stops xargs
fi
printf '== fuzz %-12s %ss: %s\n' "$t" "$seconds" "$(tail -n 1 "$build/$t.log")"
