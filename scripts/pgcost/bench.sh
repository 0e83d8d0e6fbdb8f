#!/bin/bash
# One `vigil bench ingest --rows 1000000 --postgres DSN`, with the server's
# CPU (the postmaster's own, its reaped children's and its live children's,
# from /proc) read before, at the events/s line (ingest) and after (seal:
# SealEvents' roll and index builds, the size query, and whatever the
# server's background processes did meanwhile); and the WAL the server
# wrote over the run (pg_stat_wal: bytes, full-page images; the whole
# server's, so the bench should be alone on it).
#
#   scripts/pgcost/bench.sh VIGIL DSN PGDATA WORKDIR LABEL
set -euo pipefail
bin=$1 dsn=$2 pgdata=$3 work=$4 label=$5
pm=$(head -1 "$pgdata/postmaster.pid")
tck=$(getconf CLK_TCK)
srvcpu() {
	local t f p
	read -r -a f < <(sed 's/^.*) //' /proc/$pm/stat)
	t=$((f[11] + f[12] + f[13] + f[14]))
	for p in $(cat /proc/$pm/task/*/children); do
		if read -r -a f < <(sed 's/^.*) //' /proc/$p/stat 2>/dev/null); then
			t=$((t + f[11] + f[12]))
		fi
	done
	echo "scale=2; $t / $tck" | bc
}
# walstat prints the server's WAL bytes and full-page images so far.
walstat() { psql "$dsn" -XAtq -F' ' -c 'SELECT wal_bytes, wal_fpi FROM pg_stat_wal'; }
dir=$work/$label
rm -rf "$dir"
mkdir -p "$dir"
l0=$(cut -d' ' -f1 /proc/loadavg)
c0=$(srvcpu)
read -r wb0 wf0 < <(walstat)
/usr/bin/time -f "maxrss=%M KiB elapsed=%e user=%U sys=%S" -o "$dir/time" env VIGIL_LANG=en "$bin" bench ingest --rows 1000000 --postgres "$dsn" --dir "$dir" 2>&1 |
	while IFS= read -r line; do
		echo "$line"
		case "$line" in
		events/s:*) echo "SRVCPU_INGEST $(srvcpu)" ;;
		esac
	done >"$dir/out"
c2=$(srvcpu)
read -r wb2 wf2 < <(walstat)
l1=$(cut -d' ' -f1 /proc/loadavg)
ci=$(awk '/^SRVCPU_INGEST/ {print $2}' "$dir/out")
rate=$(awk '/^events\/s/ {print $2}' "$dir/out")
bpe=$(sed -n 's/.*, \([0-9]*\) bytes per stored event.*/\1/p' "$dir/out")
echo "$label load=$l0-$l1 rate=$rate $(cat "$dir/time") server_ingest=$(echo "$ci - $c0" | bc) server_seal=$(echo "$c2 - $ci" | bc) bytes_an_event=$bpe wal_mb=$(((wb2 - wb0) / 1000000)) wal_fpi=$((wf2 - wf0))"
rm -rf "$dir/data"
