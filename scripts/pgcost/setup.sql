DROP SCHEMA IF EXISTS s39 CASCADE;
CREATE SCHEMA s39;
SET search_path = s39;
CREATE TABLE src AS SELECT i::bigint AS id, sha256(int8send(i)) AS hash,
  timestamptz '2026-12-07' + i * interval '10 ms' AS time_source, now() AS stored,
  'Shadowserver scan_rdp'::text AS feed, 'vulnerable'::text AS taxonomy, 'vulnerable-system'::text AS type, 'AMBER'::text AS tlp,
  ('11.' || (i%16) || '.' || (i/16%256) || '.' || (i%254+1))::inet AS src_ip, NULL::inet AS dst_ip,
  (64512 + i%1000)::bigint AS src_asn, NULL::bigint AS dst_asn,
  ('host-' || (i%256) || '-' || (i/256%256) || '.net' || (i%4096) || '.example.be')::text COLLATE "C" AS src_fqdn, NULL::text COLLATE "C" AS dst_fqdn,
  NULL::text AS src_url, NULL::text AS dst_url, NULL::text AS md5, NULL::text AS sha1, NULL::text AS sha256,
  NULL::bytea AS data, ((i-1)/128*128+1)::bigint AS block_id, ((i-1)%128)::int AS block_slot
FROM generate_series(1,1000000) i;
-- one row of arrays a batch of 2,000; a column none of the batch's events has is one NULL, not an array of NULLs
CREATE TABLE src_batches AS SELECT min(id) AS first_id, count(*)::int AS n,
  string_agg(hash, ''::bytea ORDER BY id) AS hashes,
  array_agg(time_source ORDER BY id) AS time_source, min(stored) AS stored,
  array_agg(feed ORDER BY id) AS feed, array_agg(taxonomy ORDER BY id) AS taxonomy, array_agg(type ORDER BY id) AS type, array_agg(tlp ORDER BY id) AS tlp,
  array_agg(src_ip ORDER BY id) AS src_ip, NULL::inet[] AS dst_ip, array_agg(src_asn ORDER BY id) AS src_asn, NULL::bigint[] AS dst_asn,
  array_agg(src_fqdn ORDER BY id) AS src_fqdn, NULL::text[] AS dst_fqdn, NULL::text[] AS src_url, NULL::text[] AS dst_url,
  NULL::text[] AS md5, NULL::text[] AS sha1, NULL::text[] AS sha256,
  array_agg(block_id ORDER BY id) AS block_id, array_agg(block_slot ORDER BY id) AS block_slot
FROM src GROUP BY (id-1)/2000;
\copy src TO 'rows.bin' BINARY
\copy (SELECT * FROM src_batches ORDER BY first_id) TO 'batches.bin' BINARY
