#!/bin/bash
# The hot partition's rows with four text columns against one code
# (codes.sql), ROUNDS times alternated, on setup.sql's 1 million generated
# rows (the bench's), without their data column. The backend's CPU from /proc: psql must
# run on the server's machine.
#
#   scripts/pgcost/codes.sh DSN WORKDIR ROUNDS
set -euo pipefail
dsn=$1 work=$2 rounds=$3
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$work"
cd "$work"
psql "$dsn" -q -f "$here/setup.sql"
psql "$dsn" -q <<'SQL'
DROP SCHEMA IF EXISTS s44 CASCADE;
CREATE SCHEMA s44;
SET search_path = s44;
CREATE TABLE src AS SELECT id, hash, time_source, stored, feed, taxonomy, type, tlp, src_ip, dst_ip, src_asn, dst_asn,
  src_fqdn, dst_fqdn, src_url, dst_url, md5, sha1, sha256, block_id, block_slot FROM s39.src;
DROP SCHEMA s39 CASCADE;
CREATE TABLE src_codes AS SELECT id, hash, time_source, stored, 1::smallint AS kind, src_ip, dst_ip, src_asn, dst_asn,
  src_fqdn, dst_fqdn, src_url, dst_url, md5, sha1, sha256, block_id, block_slot FROM src;
\copy src TO 'rows.bin' BINARY
\copy src_codes TO 'codes.bin' BINARY
SQL
rm -f cpu-last.*
for r in $(seq 1 "$rounds"); do
	echo "round $r, load $(cut -d' ' -f1 /proc/loadavg)"
	CPU="$here/cpu.sh" psql "$dsn" -q -f "$here/codes.sql" 2>&1 | grep -v '^$\|NOTICE'
done
psql "$dsn" -q -c 'DROP SCHEMA s44 CASCADE'
