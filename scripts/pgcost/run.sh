#!/bin/bash
# The server's CPU of the PostgreSQL store's parts, measured in psql on 1
# million generated rows shaped as `vigil bench ingest`'s (docs/PERFORMANCE.md,
# "Issue 14, fifteenth session", the pg-s39 helper): today's hot partition
# (rows, key, hash exclusion, time index), a row of arrays a batch of 2,000,
# the duplicate guard's reads under an advisory lock, the sealing's steps.
# Each figure is the backend's user + system CPU from /proc (so psql must run
# on the server's machine).
#
#   scripts/pgcost/run.sh DSN WORKDIR
#
# WORKDIR gets the two COPY files (about 450 MB); the schema s39 is made in
# the DSN's database and left for a look (DROP SCHEMA s39 CASCADE).
set -euo pipefail
dsn=$1 work=$2
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$work"
cd "$work"
# The guard: 500 batches, each under the hot partition's advisory lock,
# reading the hashes of the batch committed before it.
for k in $(seq 0 499); do
	lo=0
	((k >= 2)) && lo=$((1 + (k - 2) * 2000))
	echo "BEGIN; SELECT pg_advisory_xact_lock(39, 1); SELECT get_byte(hashes, 0) FROM hot_batches WHERE first_id > $lo AND first_id < $((1 + k * 2000)); COMMIT;"
done >guard.sql
rm -f cpu-last.*
psql "$dsn" -q -f "$here/setup.sql"
CPU="$here/cpu.sh" psql "$dsn" -q -f "$here/measure.sql" 2>&1 | grep -v '^$\|NOTICE'
