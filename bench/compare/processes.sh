#!/usr/bin/env bash
# One homeserver served by one process against the same homeserver served by
# two processes sharing one PostgreSQL, on the same machine (issue 17): the
# send path (16 senders, 8,000 messages into one channel) and gateway fan-out
# (1,000 sessions over 20 accounts, 200 messages at 20/s), the load client
# spreading its requests and sessions over the processes in turn. Modes
# alternate run by run so that drift of a shared machine falls on both; every
# run has a fresh PostgreSQL schema and data dir. Prints one line per run
# (with the load average as it started) and the medians.
#   bench/compare/processes.sh [runs]        (from the repository's root)
# PostgreSQL: a fresh schema of the database `test` at 127.0.0.1:5432
# (PGURL to change the database, ports 8181 and 8182 on the loopback).
set -u
runs=${1:-3}
pgurl=${PGURL:-postgres://postgres@127.0.0.1:5432/test}
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/hs" ./cmd/homeserver && go build -o "$bin/loadtest" ./cmd/loadtest || exit 1
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); $(psql "$pgurl" -tAc 'SHOW server_version' | cut -d' ' -f1) PostgreSQL; commit $(git rev-parse --short HEAD)"
ports=(8181 8182)
out=$(mktemp)

# start N: a fresh schema and data dir, N processes on it; sets urls, pids.
start() {
  local n=$1
  data=$(mktemp -d)
  schema=bench_$RANDOM$RANDOM
  psql "$pgurl" -qc "CREATE SCHEMA $schema" >/dev/null
  urls="" pids="" procs=()
  for i in $(seq 0 $((n - 1))); do
    port=${ports[$i]}
    "$bin/hs" --listen 127.0.0.1:$port --data "$data" --database "$pgurl?search_path=$schema" \
      --server-name 127.0.0.1:8181 --public-url http://127.0.0.1:8181 \
      --rate-limit=false --log-level warn >>"$data/hs.log" 2>&1 &
    procs+=($!)
    for _ in $(seq 1 300); do curl -sf http://127.0.0.1:$port/readyz >/dev/null && break; sleep 0.1; done
    urls+="${urls:+,}http://127.0.0.1:$port"
    pids+="${pids:+,}$!"
  done
}

stop() {
  for p in "${procs[@]}"; do kill "$p"; done
  for p in "${procs[@]}"; do wait "$p" 2>/dev/null; done
  psql "$pgurl" -qc "DROP SCHEMA $schema CASCADE" >/dev/null 2>&1
  rm -rf "$data"
}

for run in $(seq 1 "$runs"); do
  for n in 1 2; do
    for scenario in messages gateway; do
      start "$n"
      load=$(cut -d' ' -f1-3 /proc/loadavg)
      if [ "$scenario" = messages ]; then
        args=(-scenario messages -n 8000 -c 16)
      else
        args=(-scenario gateway -sessions 1000 -n 200 -rate 20 -users 20)
      fi
      res=$("$bin/loadtest" -url "$urls" -server-pid "$pids" "${args[@]}" 2>&1 | tail -1)
      echo "run=$run processes=$n scenario=$scenario load=[$load] $res" | tee -a "$out"
      stop
    done
  done
done

# Medians per mode and scenario, each figure the median of its runs on its
# own: rate (sends/s or deliveries/s), p50 and p99 latency, server and
# client CPU. A run that failed (its line has no rate) is left out and the
# count says so.
echo
echo "medians of $runs runs (CPU in percent of one core; PostgreSQL's own processes not counted):"
for n in 1 2; do
  for scenario in messages gateway; do
    grep "processes=$n scenario=$scenario .*/s" "$out" | awk -v n="$n" -v s="$scenario" '
      function med(a, k,   i, j, t) { for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t } return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2 }
      function ms(v) { if (v ~ /µs$/) return (v + 0) / 1000; if (v ~ /ms$/) return v + 0; return (v + 0) * 1000 }
      {
        k++
        for (f = 1; f <= NF; f++) {
          v = $f
          if (v ~ /^[0-9.]+\/s;?$/) rate[k] = v + 0
          else if (sub(/^p50=/, "", v)) p50[k] = ms(v)
          else if (sub(/^p99=/, "", v)) p99[k] = ms(v)
          else if (sub(/^server_cpu=/, "", v)) scpu[k] = v + 0
          else if (sub(/^client_cpu=/, "", v)) ccpu[k] = v + 0
        }
      }
      END { if (k) printf "processes=%s %-8s %.0f/s  p50=%.2fms p99=%.2fms  server_cpu=%.0f%% client_cpu=%.0f%%  (%d runs)\n", n, s, med(rate, k), med(p50, k), med(p99, k), med(scpu, k), med(ccpu, k), k }'
  done
done
rm -f "$out"
