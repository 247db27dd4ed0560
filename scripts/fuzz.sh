#!/usr/bin/env bash
# Runs Go fuzz targets, FUZZPAR at a time, each for FUZZTIME with one worker
# (-parallel 1), so that several targets share a small machine instead of each
# taking every core in turn. Used by `make fuzz`; see docs/fuzzing.md.
#
#   FUZZTIME   how long each target fuzzes (go test -fuzztime), default 1m
#   FUZZPAR    how many targets run at once, default 1
#   FUZZLOG    directory for one log per target, default /tmp/fuzz-logs
#   FUZZ       targets to run, as Name or dir:Name, separated by spaces, in
#              the order given (default: every target, in directory order)
#   GO         the go command, default go
#
# Each target's log ends with the fuzzer's last "fuzz: elapsed: ..., execs:"
# line, which is what docs/fuzzing.md records. A finding is written by go test
# to the package's testdata/fuzz/<Target>/: fix it and keep the input.
set -euo pipefail

FUZZTIME=${FUZZTIME:-1m}
FUZZPAR=${FUZZPAR:-1}
FUZZLOG=${FUZZLOG:-/tmp/fuzz-logs}
GO=${GO:-go}
export FUZZTIME FUZZLOG GO

cd "$(dirname "$0")/.."
mkdir -p "$FUZZLOG"

# Every target as dir:Name, in directory order.
all_targets() {
	grep -rl --include='*_test.go' '^func Fuzz' . | grep -v node_modules | xargs -n1 dirname | sort -u |
		while read -r dir; do
			grep -h '^func Fuzz' "$dir"/*_test.go | sed 's/^func \(Fuzz[A-Za-z0-9_]*\).*/\1/' |
				while read -r name; do echo "$dir:$name"; done
		done
}

# The requested targets (a bare Name is looked up in the full list, so that
# names stay unique across packages).
targets() {
	local all
	all=$(all_targets)
	if [ -z "${FUZZ:-}" ]; then
		echo "$all"
		return
	fi
	local t match
	for t in $FUZZ; do
		case $t in
		*:*) match=./${t#./} ;; # go test needs ./dir for a package path
		*) match=$(echo "$all" | grep ":$t\$" || true) ;;
		esac
		if [ -z "$match" ]; then
			echo "fuzz: no target $t" >&2
			exit 2
		fi
		echo "$match"
	done
}

# One target: fuzz it, log everything, and print one summary line.
run_one() {
	local dir=${1%%:*} name=${1##*:}
	local log="$FUZZLOG/$(echo "${dir#./}" | tr / .).$name.log"
	local start status
	start=$(date -u +%FT%TZ)
	echo "fuzz: $dir $name for $FUZZTIME (started $start, log $log)"
	if "$GO" test -run '^$' -fuzz "^$name\$" -fuzztime "$FUZZTIME" -parallel 1 "$dir" >"$log" 2>&1; then
		status=ok
	else
		status=FAILED
	fi
	echo "fuzz: $dir $name $status (ended $(date -u +%FT%TZ)): $(grep '^fuzz: elapsed' "$log" | tail -n1)"
	if [ "$status" != ok ]; then
		tail -n 30 "$log" | sed "s|^|  $name: |"
		return 1
	fi
}
export -f run_one

targets | xargs -P "$FUZZPAR" -I{} bash -c 'run_one "$1"' _ {}
