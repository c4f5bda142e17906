# Shared by bench/postern.sh and bench/postfix.sh: argument parsing, errors,
# process checks, and retire_dir. Sourced after `name` (the script's name)
# is set; leaves cmd and dir (absolute, never /) set.

die() { echo "$name: $*" >&2; exit 1; }

# kill -0 alone would take a zombie for a live process.
alive() {
	kill -0 "$1" 2>/dev/null || return 1
	st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)
	[ -n "$st" ] && [ "$st" != Z ]
}

usage() { echo "usage: $name start|stop|pid DIR" >&2; exit 2; }

[ $# -eq 2 ] || usage
cmd=$1
dir=$2
case "$dir" in /*) ;; *) dir=$(pwd)/$dir ;; esac
[ "$dir" != / ] || die "refusing DIR=/"

# Earlier instances are moved aside, not deleted: on a file system without
# a journal, ext4 skips recently freed inodes when allocating new ones, so
# thousands of deletions right before a run slow whichever server runs
# next. bench/run.sh deletes the lot at the end.
retire_dir() {
	[ -e "$1" ] || return 0
	mkdir -p "$dir/trash"
	mv "$1" "$dir/trash/$(basename "$1").$$.$(date +%s%N)"
}
