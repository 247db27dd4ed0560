#!/bin/sh
# Runs the driver comparison recorded in docs/benchmarks.md.
set -e
cd "$(dirname "$0")"
for d in mattn modernc ncruces; do
	go test -tags "$d" -run '^$' -bench . -benchtime 3000x -count 5 . | grep Benchmark | sed "s/^/$d /"
done
