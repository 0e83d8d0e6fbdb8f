package sqlitestore

// Sealing a partition of the parts layout: its indexes built in one go
// and its summary written, in one transaction, so that a crash leaves it
// either sealed or hot (and sealed again at the next start).

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/vigil-cert/vigil/internal/store"
)

// sealIndexes returns the indexes of a partition sealed as layout
// version version: each side's column with ts, so that an equality
// reads its matches newest first and a range keeps only index entries in
// its sorter; partial, because most events have no destination and
// three in four no host name. h4, the first 4 bytes of h8 (version 3;
// version 2 indexed h8 whole), serves the hash lookups a Bloom filter
// admits in 4 bytes less an event, keys the URL and malware-hash
// searches. From version 4 neither the times nor the AS numbers are
// indexed, from version 5 nor the addresses, from version 6 nor h4:
// the lists and runs hold them (writePostings, writeAddrs, writeHashes).
func sealIndexes(t string, version int) []string {
	list := []string{
		`CREATE INDEX IF NOT EXISTS ` + t + `_keys_value ON ` + t + `_keys (value, kind, id)`,
	}
	if version >= rowsVersion {
		return list // the compact rows are dropped: chunks and lists hold them
	}
	if version < hashesVersion {
		list = append(list, `CREATE INDEX IF NOT EXISTS `+t+`_h4 ON `+t+` (h8 >> 32)`)
	}
	if version < postingsVersion {
		list = append(list, `CREATE INDEX IF NOT EXISTS `+t+`_ts ON `+t+` (ts)`)
	}
	for _, c := range []string{"src_ip", "dst_ip", "src_asn", "dst_asn", "src_fqdn", "dst_fqdn"} {
		switch {
		case version >= postingsVersion && (c == "src_asn" || c == "dst_asn"),
			version >= addrsVersion && (c == "src_ip" || c == "dst_ip"):
			continue
		}
		list = append(list, `CREATE INDEX IF NOT EXISTS `+t+`_`+c+` ON `+t+` (`+c+`, ts) WHERE `+c+` IS NOT NULL`)
	}
	return list
}

// sealLater queues p for sealing; p is marked sealing already (no more
// writes go to it).
func (ps *parts) sealLater(p *partition) {
	if sealInline.Load() > 0 {
		if err := ps.seal(context.Background(), p); err != nil {
			ps.s.log.Error("seal event partition", "partition", p.n, "err", err)
		}
		return
	}
	select {
	case ps.sealQueue <- p:
	default:
		// A queue this long means sealing cannot keep up; the partition
		// stays hot (searched in memory) and is sealed at the next start.
		ps.s.log.Warn("event partitions wait for sealing", "partition", p.n)
	}
}

// sealLoop seals the queued partitions one after the other until close.
// A partition that fails is queued again after a backoff (a full disk
// may clear), its memory kept and searched meanwhile; Close reports the
// failures of partitions still not sealed.
func (ps *parts) sealLoop(ctx context.Context) {
	defer close(ps.sealDone)
	for {
		select {
		case <-ctx.Done():
			return
		case p := <-ps.sealQueue:
			err := ps.seal(ctx, p)
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				ps.mu.Lock()
				p.sealErr = err
				p.sealFailures++
				delay := sealRetryFirst << min(p.sealFailures-1, 16)
				ps.mu.Unlock()
				delay = min(delay, sealRetryMax)
				ps.s.log.Error("seal event partition", "partition", p.n, "err", err, "retry_in", delay)
				time.AfterFunc(delay, func() {
					if ctx.Err() == nil {
						ps.sealLater(p)
					}
				})
			}
			if sealLoopHook != nil {
				sealLoopHook(p, err)
			}
		}
	}
}

// The backoff of a failed sealing: the first retry after sealRetryFirst,
// each next one after twice as long, at most sealRetryMax.
var (
	sealRetryFirst = time.Second
	sealRetryMax   = 5 * time.Minute
)

// sealLoopHook, when set (tests), is called by the loop after each
// sealing it tried.
var sealLoopHook func(p *partition, err error)

// sealInline (tests), while above 0, seals a partition as soon as it is
// full, in the writer, so that a test knows which partitions are sealed.
// A count, not a flag: tests that want it run in parallel, and the first
// to end must not turn it off for the others.
var sealInline atomic.Int32

// sealHook, when set (tests), runs inside a sealing's transaction after
// its indexes are built, before the summary is written.
var sealHook func()

// SealEvents seals every partition of the parts layout that holds events,
// the one being written too (the next batch starts a new one): for a
// quiet moment, and for benchmarks that measure the sealed layout. It
// does nothing in the rows layout.
func (s *Store) SealEvents(ctx context.Context) error {
	ps := s.parts
	if ps == nil {
		return nil
	}
	ps.insert.Lock()
	defer ps.insert.Unlock()
	// Caught up first, so that a partition only another store wrote into
	// is sealed too. Should that fail (a cancelled ctx), the partitions
	// the memory knows are marked all the same and the first sealing
	// fails alike, leaving them to the loop.
	refreshErr := ps.refresh(ctx)
	ps.mu.Lock()
	var list []*partition
	for _, p := range ps.list {
		if !p.sealed && p.sum.count > 0 {
			p.sealing = true
			list = append(list, p)
		}
	}
	ps.mu.Unlock()
	for i, p := range list {
		if err := ps.seal(ctx, p); err != nil {
			// The partitions left are marked sealing, written no more:
			// the loop seals them.
			for _, q := range list[i:] {
				ps.sealLater(q)
			}
			return fmt.Errorf("sqlitestore: seal partition %d: %w", p.n, err)
		}
	}
	if refreshErr != nil {
		return fmt.Errorf("sqlitestore: seal: %w", refreshErr)
	}
	return nil
}

// seal builds p's indexes and summary, then lets searches use them. A
// partition already sealed (by SealEvents and the background both, or by
// another store) is left as it is. The memory catches up inside the
// sealing's transaction, so that the summary counts the rows other stores
// wrote into p; holding the write lock, none writes more before it
// commits, and none after (it finds p sealed when it catches up).
func (ps *parts) seal(ctx context.Context, p *partition) error {
	ps.sealMu.Lock()
	defer ps.sealMu.Unlock()
	ps.mu.RLock()
	sealed := p.sealed
	ps.mu.RUnlock()
	if sealed {
		return nil
	}
	// Begun without ctx's cancelling: database/sql rolls back a
	// transaction whose context ends in a goroutine of its own, so the
	// writer's connection could still be in use when Close closes the
	// pool, leaving the WAL behind. The statements below still stop on
	// ctx; the deferred Rollback then returns the connection before
	// seal returns.
	tx, err := ps.s.write.BeginTx(context.WithoutCancel(ctx), nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	gen, err := ps.refreshTx(ctx, tx)
	if err != nil {
		return err
	}
	ps.mu.RLock()
	if p.sealed {
		ps.mu.RUnlock()
		p.closeStatements() // sealed by another store
		return nil
	}
	hot := p.hot.snap()
	sum := partSummary{tmin: p.sum.tmin, tmax: p.sum.tmax, count: p.sum.count}
	ps.mu.RUnlock()
	version := ps.writeVersion
	var (
		lists map[postingKey][]posting
		times []posting
		addrs map[string][]addrPosting
		runs  []hashEntry
	)
	if version >= postingsVersion {
		lists, times = buildPostings(&hot, p.base)
	}
	if version >= addrsVersion {
		addrs = buildAddrs(&hot, p.base)
	}
	if version >= hashesVersion {
		runs = buildHashes(&hot, p.firstID)
	}
	// The duplicate check's set (parts_hashset.go), when made: the
	// sealing's hashes are added to it once its writes succeed.
	set := ps.hashSet.Load()
	keys := sum.build(&hot, set != nil)
	for _, q := range sealIndexes(p.table, version) {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	sealedAs := 0
	if version >= postingsVersion {
		if err := writePostings(ctx, tx, ps.enc, p.table, lists, times, ps.timeChunk); err != nil {
			return err
		}
		sealedAs = version
	}
	if version >= addrsVersion {
		if err := writeAddrs(ctx, tx, ps.enc, p.table, addrs, ps.addrsRow); err != nil {
			return err
		}
	}
	if version >= hashesVersion {
		if err := writeHashes(ctx, tx, p.table, runs); err != nil {
			return err
		}
	}
	if version >= rowsVersion {
		// The compact rows in chunks and the host names in a list, then
		// the rows' table dropped (parts_rows.go).
		if err := writeChunks(ctx, tx, ps.enc, p, &hot, ps.rowsChunk); err != nil {
			return err
		}
		if err := writeNames(ctx, tx, p, &hot); err != nil {
			return err
		}
		// The rows a row an event (before version 8), a chunk a batch
		// (from 8), or both (a partition hot at the upgrade to 8).
		if _, err := tx.ExecContext(ctx, `DROP TABLE IF EXISTS `+p.table+`; DROP TABLE IF EXISTS `+p.table+`_hot`); err != nil {
			return err
		}
	}
	if sealHook != nil {
		sealHook()
	}
	if _, err := tx.ExecContext(ctx, `UPDATE event_parts SET summary = ?, sealed_as = ? WHERE id = ?`, sum.marshal(), sealedAs, p.n); err != nil {
		return err
	}
	if err := bumpGeneration(ctx, tx); err != nil {
		return err
	}
	ps.spillFilters(&sum)
	covered := coverSealing(set, keys, p.n)
	// Locked before the commit, as the writer does, so that no reader
	// catches up to a later generation in between.
	ps.mu.Lock()
	if err := tx.Commit(); err != nil {
		ps.mu.Unlock()
		return err
	}
	p.sum = sum
	p.sealed, p.sealing = true, false
	p.sealedAs = sealedAs
	ps.sealedCovered(p, covered)
	p.sealErr = nil
	p.hot = nil
	ps.seen.Store(gen + 1)
	ps.mu.Unlock()
	p.closeStatements()
	if version >= rowsVersion {
		// The pages of the dropped compact rows given back to the file
		// system, in a database made with auto_vacuum=INCREMENTAL (a new
		// one: Open); nothing in another, whose next partition reuses
		// them. A failure leaves them free in the file.
		if err := ps.vacuum(ctx); err != nil {
			ps.s.log.Warn("free the pages of a sealed partition's rows", "partition", p.n, "err", err)
		}
	}
	return nil
}

// vacuumStepBytes is how much a step of vacuum gives back: 4 MiB of
// free pages moved through the WAL, a transaction of its own, whatever
// the database's page size.
const vacuumStepBytes = 4 << 20

// vacuumStep is how many free pages a step of vacuum gives back.
func (s *Store) vacuumStep() int {
	return max(1, int(vacuumStepBytes/s.pageBytes))
}

// vacuum gives the free pages back to the file system (incremental_vacuum)
// a vacuumStep at a time, the writer's connection released between steps so
// that an insert waits for one step, not a partition's pages. It stops
// when none are left, or when a step frees none (a database made without
// auto_vacuum=INCREMENTAL).
func (ps *parts) vacuum(ctx context.Context) error {
	last := int64(-1)
	for {
		var free int64
		if err := ps.s.write.QueryRowContext(ctx, `PRAGMA freelist_count`).Scan(&free); err != nil {
			return err
		}
		if free == 0 || free == last {
			return nil
		}
		last = free
		if _, err := ps.s.write.ExecContext(ctx, `PRAGMA incremental_vacuum(`+strconv.Itoa(ps.s.vacuumStep())+`)`); err != nil {
			return err
		}
	}
}

// partSummary is what a partition tells about its events without a query:
// the range of time.source, the count, and (sealed) Bloom filters.
type partSummary struct {
	tmin, tmax int64
	count      int64
	// ips holds each address key and, for IPv4, its /16 (prefix16Key).
	ips    *bloom
	asns   *bloom
	fqdns  *bloom // every label suffix of each reversed name
	hashes *bloom // the first 8 bytes of each event's hash
}

// ipKeyOf reads an address column: 16 bytes (IPv4 mapped, as layout
// versions 1 and 2 wrote it, or IPv6) or 4 (IPv4, since version 3).
func ipKeyOf(b []byte) store.IPKey {
	switch len(b) {
	case 16:
		return store.IPKeyFromBytes(b)
	case 4:
		return store.MakeIPKey(netip.AddrFrom4([4]byte(b)))
	}
	return store.IPKey{}
}

// ipColumn is the value of an address column as layout version version
// writes it: nil when there is none; from version 3 an IPv4 address in 4
// bytes, not mapped into 16 (12 bytes less in the compact row and in the
// address index).
func ipColumn(k store.IPKey, version int) []byte {
	b := k.Bytes()
	if version >= 3 && b != nil && isV4Mapped(b) {
		return b[12:16:16]
	}
	return b
}

// ipForms returns the values an address column may hold for k: its 4
// bytes (IPv4, since version 3) and its 16 (every version).
func ipForms(k store.IPKey) [][]byte {
	b := k.Bytes()
	if isV4Mapped(b) {
		return [][]byte{b[12:16:16], b}
	}
	return [][]byte{b}
}

// ipRange is a range of an address column of values of one length.
type ipRange struct {
	lo, hi []byte
	n      int
}

// ipRanges returns the ranges of the address columns a range of 16-byte
// keys spans: the 16-byte range (every version) and, where it meets
// IPv4, the 4-byte one (since version 3). Each is read with its length,
// since a 4-byte value sorts among 16-byte ones of the same start.
func ipRanges(lo, hi []byte) []ipRange {
	out := []ipRange{{lo, hi, 16}}
	v4lo := netip.IPv4Unspecified().As16()
	v4hi := netip.AddrFrom4([4]byte{255, 255, 255, 255}).As16()
	a, b := lo, hi
	if bytes.Compare(a, v4lo[:]) < 0 {
		a = v4lo[:]
	}
	if bytes.Compare(b, v4hi[:]) > 0 {
		b = v4hi[:]
	}
	if bytes.Compare(a, b) <= 0 {
		out = append(out, ipRange{a[12:16:16], b[12:16:16], 4})
	}
	return out
}

// prefix16Key is the Bloom key of an IPv4 address's /16.
func prefix16Key(k store.IPKey) ([]byte, bool) {
	b := k.Bytes()
	if b == nil || !isV4Mapped(b) {
		return nil, false
	}
	return []byte{'/', 16, b[12], b[13]}, true
}

func isV4Mapped(b []byte) bool {
	for _, c := range b[:10] {
		if c != 0 {
			return false
		}
	}
	return b[10] == 0xff && b[11] == 0xff
}

func asnKey(a int64) []byte { return binary.AppendVarint(nil, a) }

// fqdnSuffixes calls fn with every label suffix of a reversed name:
// "be.example.www." gives "be.", "be.example." and "be.example.www.".
func fqdnSuffixes(rev []byte, fn func([]byte)) {
	for i := 0; i < len(rev); i++ {
		if rev[i] == '.' {
			fn(rev[:i+1])
		}
	}
}

// build builds the summary's Bloom filters from a partition's rows; with
// withKeys, it returns the h8 of each row too (for the duplicate check's
// set), read in the same pass.
//
// The filter of names is sized for the label suffixes the rows give (a
// first pass counts them), at most one an event as before: a partition
// without names had a filter for one key an event, 1.2 bytes an event
// of the summary's 5.6. (The filter of addresses sized for the
// addresses and distinct /16s the same way made a search by a /16 ask
// 3 partitions of 8 in TestSummariesSkipPartitions instead of at most
// 2: its keys differ in a byte or two, which FNV-1a at a few hundred
// bits spreads less well than 1% says; it stays sized for two keys an
// event.)
func (sum *partSummary) build(hot *hotSnap, withKeys bool) (keys []uint64) {
	n := hot.n
	var names int
	for i := range n {
		src, dst, _ := hotNames(hot.extra(hot.row(i)))
		for _, n := range [][]byte{src, dst} {
			fqdnSuffixes(n, func([]byte) { names++ })
		}
	}
	sum.ips, sum.asns, sum.fqdns, sum.hashes = newBloom(2*n), newBloom(n/8), newBloom(min(n, names)), newHashBloom(n)
	if withKeys {
		keys = make([]uint64, 0, n)
	}
	var hb [8]byte
	for i := range n {
		r := hot.row(i)
		for _, ip := range []store.IPKey{r.srcKey(), r.dstKey()} {
			if b := ip.Bytes(); b != nil {
				sum.ips.add(b)
				if k, ok := prefix16Key(ip); ok {
					sum.ips.add(k)
				}
			}
		}
		for _, a := range []uint32{r.srcASN, r.dstASN} {
			if a != 0 {
				sum.asns.add(asnKey(int64(a)))
			}
		}
		src, dst, _ := hotNames(hot.extra(r))
		for _, n := range [][]byte{src, dst} {
			fqdnSuffixes(n, func(suffix []byte) { sum.fqdns.add(suffix) })
		}
		binary.BigEndian.PutUint64(hb[:], r.h8)
		sum.hashes.add(hb[:])
		if withKeys {
			keys = append(keys, r.h8)
		}
	}
	hot.done()
	return keys
}

// summaryVersion leads a marshalled summary.
const summaryVersion = 1

// marshal writes the summary as event_parts.summary: a version byte, the
// time range and count as varints, then the four Bloom filters, each
// after its length as a uvarint.
func (sum *partSummary) marshal() []byte {
	b := []byte{summaryVersion}
	b = binary.AppendVarint(b, sum.tmin)
	b = binary.AppendVarint(b, sum.tmax)
	b = binary.AppendVarint(b, sum.count)
	for _, f := range []*bloom{sum.ips, sum.asns, sum.fqdns, sum.hashes} {
		m := f.marshal()
		b = binary.AppendUvarint(b, uint64(len(m)))
		b = append(b, m...)
	}
	return b
}

var errBadSummary = errors.New("malformed partition summary")

func (sum *partSummary) unmarshal(b []byte) error {
	if len(b) == 0 || b[0] != summaryVersion {
		return errBadSummary
	}
	b = b[1:]
	for _, v := range []*int64{&sum.tmin, &sum.tmax, &sum.count} {
		n, l := binary.Varint(b)
		if l <= 0 {
			return errBadSummary
		}
		*v, b = n, b[l:]
	}
	for _, f := range []**bloom{&sum.ips, &sum.asns, &sum.fqdns, &sum.hashes} {
		n, l := binary.Uvarint(b)
		if l <= 0 || uint64(len(b)-l) < n {
			return errBadSummary
		}
		var err error
		if *f, err = unmarshalBloom(b[l : l+int(n)]); err != nil {
			return err
		}
		b = b[l+int(n):]
	}
	return nil
}
