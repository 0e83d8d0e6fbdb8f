// Package partstore is a prototype of design A of issue 14: events kept in
// SQLite, partitioned by time, in compact rows, measured against the
// targets (250,000 events/s with an fsync per commit, ≤ 250 bytes per
// event with raw kept, first pages under 100 ms over 10M events).
//
// # Layout
//
// A directory holds one SQLite file per partition, named
// YYYYMMDD-NNNNNN.db: the UTC day of time.observation of its events and
// a sequence number. A partition holds one observation day, and is also
// closed ("sealed") when it reaches Options.PartitionEvents, because a
// bulk load has a single observation day. Each file is opened (its own
// connections, not ATTACH: SQLite's WAL mode does not make a transaction
// across attached files atomic anyway, and a search opens only the
// partitions its summaries admit) when first needed.
//
// Each file has three tables:
//
//   - blocks(id, stored, n, data): Options.BlockEvents events
//     (event.AppendRecord, each prefixed by its length) compressed together
//     with zstd. Compression works on repetition between records, so a
//     block of 128 costs a quarter of what one record alone does.
//   - events(id, ts, h, loc, src_ip, dst_ip, src_asn, dst_asn, src_fqdn,
//     dst_fqdn, stored, body): one compact row per event holding only what
//     a search selects by: time.source in µs (ts), the first 8 bytes of the
//     event hash (h, checked against the whole hash after decoding), the
//     IP keys and ASNs of both sides, the host names reversed by label
//     (store.ReverseFQDN) and loc, the block id × 256 + the event's slot in
//     it. With BlockEvents = 1 (variant A1) there are no blocks: the
//     compressed record sits in the row (body, stored). With
//     Options.DictionaryEvents the partition's first records are its zstd
//     dictionary (summary key "dict"), so blocks of 16 compress like blocks
//     of 128 and a search decompresses an eighth as much per event.
//   - summary(key, value): written when the partition is sealed: the
//     time.source range, the event count and Bloom filters of the IPs (and
//     their IPv4 /16s), ASNs, host-name suffixes and hashes in it.
//
// # Hot and sealed partitions
//
// The partition being written ("hot") has no SQL index at all: rows are
// appended at the end of their B-trees, which is the cheapest insert
// SQLite has. Searches read it from a compact copy of its rows in memory
// (hotEntry, about 100 bytes per event), scanned in full: a scan of half a
// million entries costs about a millisecond, a B-tree insert per index per
// event costs microseconds. Sealing (in the background, off the writer's
// path) builds the indexes with CREATE INDEX, which sorts once, writes the
// summary and drops the copy in memory. A store reopened loads the copy of
// every unsealed partition again from its rows.
//
// # Searches
//
// A search asks every partition whose summary can match (time range,
// Bloom filters) for its newest Limit matches (ts, id) from its indexes,
// visiting partitions from the newest time.source down and skipping those
// whose newest event is older than the page found so far; only the
// page's events are then read and decompressed.
//
// # What the prototype leaves out
//
// Inserting an event whose hash is stored already stores it twice (the
// pipeline's deduplication runs before the store); a batch spanning
// several observation days commits one transaction per partition; Search
// supports IP, Prefix, ASN, FQDN, From, To and Limit, newest first, and no
// cursor.
package partstore
