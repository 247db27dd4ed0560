#!/usr/bin/env bash
# Compares the send path of two builds, alternating them run by run so that
# drift of a shared machine falls on both. Each build is a directory holding
# `hs` (go build ./cmd/homeserver) and `loadtest` (go build ./cmd/loadtest).
#   bench/compare/sends.sh /tmp/base /tmp/new [runs]
# PostgreSQL runs in a fresh schema of the database `test` at 127.0.0.1:5432.
set -u
builds=("$1" "$2")
runs=${3:-3}
for run in $(seq 1 "$runs"); do
  for build in "${builds[@]}"; do
    for db in sqlite postgres; do
      data=$(mktemp -d)
      args=(--listen 127.0.0.1:8181 --data "$data" --rate-limit=false --log-level warn)
      schema=""
      if [ "$db" = postgres ]; then
        schema=bench_$RANDOM$RANDOM
        psql -q -h 127.0.0.1 -U postgres -d test -c "CREATE SCHEMA $schema" >/dev/null
        args+=(--database "postgres://postgres@127.0.0.1:5432/test?search_path=$schema")
      fi
      "$build/hs" "${args[@]}" >"$data/hs.log" 2>&1 &
      pid=$!
      for _ in $(seq 1 100); do curl -sf http://127.0.0.1:8181/readyz >/dev/null && break; sleep 0.1; done
      res=$("$build/loadtest" -url http://127.0.0.1:8181 -scenario messages -n 8000 -c 16 -server-pid $pid 2>&1 | tail -4 | tr '\n' ' ')
      echo "run=$run build=$build db=$db $res"
      kill $pid; wait $pid 2>/dev/null
      [ -n "$schema" ] && psql -q -h 127.0.0.1 -U postgres -d test -c "DROP SCHEMA $schema CASCADE" >/dev/null 2>&1
      rm -rf "$data"
    done
  done
done
