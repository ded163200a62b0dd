#!/bin/sh
# Short fuzz run of every target over its seed corpus, for `make test`.
# Usage: run.sh BUILD_DIR SECONDS_PER_TARGET
# New inputs go to a scratch corpus, so the committed seeds stay small; a
# crash fails the run and leaves the reproducer in build dir/fuzz-crashes.
set -eu
build=$1
secs=${2:-30}
root=$(cd "$(dirname "$0")" && pwd)
out="$build/fuzz-crashes"
mkdir -p "$out"
status=0
for bin in "$build"/fuzz_*; do
	[ -x "$bin" ] || continue
	name=$(basename "$bin" | sed 's/^fuzz_//')
	seeds="$root/corpus/$name"
	scratch="$build/fuzz-corpus/$name"
	mkdir -p "$scratch"
	[ -d "$seeds" ] || seeds=""
	echo "fuzz: $name for ${secs}s"
	if ! "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-max_len=65536 -print_final_stats=1 -artifact_prefix="$out/" \
		"$scratch" $seeds >"$build/fuzz-$name.log" 2>&1; then
		echo "fuzz: $name FAILED, see $build/fuzz-$name.log and $out/"
		tail -40 "$build/fuzz-$name.log"
		status=1
	else
		grep -E "stat::number_of_executed_units|cov:" \
			"$build/fuzz-$name.log" | tail -2
	fi
done
[ $status -eq 0 ] && echo "fuzz: all targets clean"
exit $status
