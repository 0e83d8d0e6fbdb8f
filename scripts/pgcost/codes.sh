#!/bin/bash
# The hot partition's rows with four text columns against one code
# (codes.sql), ROUNDS times alternated, on 1 million generated rows shaped
# as setup.sql's (the bench's). The backend's CPU from /proc: psql must
# run on the server's machine.
#
#   scripts/pgcost/codes.sh DSN WORKDIR ROUNDS
set -euo pipefail
dsn=$1 work=$2 rounds=$3
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$work"
cd "$work"
psql "$dsn" -q <<'SQL'
DROP SCHEMA IF EXISTS s44 CASCADE;
CREATE SCHEMA s44;
SET search_path = s44;
CREATE TABLE src AS SELECT i::bigint AS id, sha256(int8send(i)) AS hash,
  timestamptz '2026-12-07' + i * interval '10 ms' AS time_source, now() AS stored,
  'Shadowserver scan_rdp'::text AS feed, 'vulnerable'::text AS taxonomy, 'vulnerable-system'::text AS type, 'AMBER'::text AS tlp,
  ('11.' || (i%16) || '.' || (i/16%256) || '.' || (i%254+1))::inet AS src_ip, NULL::inet AS dst_ip,
  (64512 + i%1000)::bigint AS src_asn, NULL::bigint AS dst_asn,
  ('host-' || (i%256) || '-' || (i/256%256) || '.net' || (i%4096) || '.example.be')::text COLLATE "C" AS src_fqdn, NULL::text COLLATE "C" AS dst_fqdn,
  NULL::text AS src_url, NULL::text AS dst_url, NULL::text AS md5, NULL::text AS sha1, NULL::text AS sha256,
  ((i-1)/128*128+1)::bigint AS block_id, ((i-1)%128)::int AS block_slot
FROM generate_series(1,1000000) i;
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
