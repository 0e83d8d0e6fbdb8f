// Package eventstore keeps harmonized events in an embedded log-structured
// merge tree (Pebble) laid out for Vigil's volume: events compressed in
// blocks, and index keys that list them newest first by address, network,
// AS, domain and time, so a first page is read from the front of one key
// range. It is design B of issue 14, measured against a SQLite store of
// time-partitioned rows (design A).
//
// # Layout (version 1)
//
// One Pebble database holds every key; the first byte says which key space
// a key is in. Integers are big-endian so that keys sort numerically.
//
//	'v'                               → layout version (uvarint)
//	'b' seq(8)                        → block: format byte 1, then a zstd frame of
//	                                    stored(uvarint Unix µs) count(uvarint)
//	                                    count × (len(uvarint) event.AppendRecord)
//	'h' hash[:8]                      → refs(8 each) of the events whose hash starts so
//	'i' ip(16) inv(8) ref(8)          → ""   source.ip and destination.ip
//	'a' asn(4) inv(8) ref(8)          → ""   source.asn and destination.asn
//	'f' rname 0x00 inv(8) ref(8)      → ""   every suffix of source.fqdn and destination.fqdn
//	't' inv(8) ref(8)                 → ""   every event
//
// An event's ref is its block's seq shifted left by 8 bits plus its slot in
// the block (blocks hold at most 256 events), stored inverted (^ref) in
// index keys; inv is time.source in Unix microseconds mapped to an unsigned
// number and inverted. Ascending key order is therefore newest time.source
// first and, among equal times, the most recently stored first — the order
// of a first page, so a search by one key stops after Limit entries.
// rname is the domain written with its labels reversed and a dot after
// each ("be.example.host1."): the suffix "be.example." is indexed as well,
// so a domain's own key range lists it and all its subdomains in time
// order.
//
// Why blocks: zstd over one ~2 KB record gives ~1,055 bytes, over blocks
// of 128 records ~320 bytes (BenchmarkBlockCodec), and the write-ahead log must carry the compressed
// form to stay within the disk's synchronous bandwidth. A block is the
// events of one Insert call, cut into pieces of at most BlockEvents; Pebble
// does not compress the blocks again. Their values go to blob files, meant
// to let compactions pass references on rather than rewrite the blocks;
// at 10M events compactions still wrote blob files for about a fifth of
// the process's CPU (issue 14's measurements), which is the next thing to
// look at.
//
// The hash index keeps only the hash's first 8 bytes: Get reads every ref
// under them and compares the full hash, which the record carries in
// event_hash. Insert looks each hash up first and skips events already
// stored, so storing is idempotent. Those lookups are random reads, one
// per event: they stay cheap only while Pebble's bloom filters are in the
// block cache. Hence two settings that look odd: the comparer splits
// every key outside the hash index after its first byte, so that the
// filters (which hold one entry per run of equal prefixes) cover the hash
// index alone; and the block cache is kept well above the memtables,
// which Pebble reserves out of it — a 64 MiB cache with two 64 MiB
// memtables caches nothing, and the duplicate checks then read filter
// blocks from disk (4× the CPU per event, measured).
//
// A search reads one index (address, domain, AS, else time; a network
// reads the address index over its range and sorts the entries by time),
// decompresses the blocks of the candidates on all cores and checks the
// whole query on each event's columns (store.ExtractColumns, as the SQL
// stores index them), so a query with several criteria is answered
// right, if not always from the best index.
package eventstore
