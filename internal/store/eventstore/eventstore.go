package eventstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/cockroachdb/pebble/v2/sstable/block"
	"github.com/klauspost/compress/zstd"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
)

// Options tune the store; the zero value is the measured default.
type Options struct {
	// CacheSize is Pebble's block cache in bytes (default 192 MiB). The
	// memtables are reserved out of it: it must be well above
	// MemTableSize × MemTables, or no block stays cached and every
	// duplicate check reads its bloom filters from disk.
	CacheSize int64
	// MemTableSize is one memtable's size in bytes (default 32 MiB); up
	// to MemTables (default 2) of them are held while flushes catch up.
	MemTableSize uint64
	MemTables    int
	// BlockEvents is how many events at most share a compressed block
	// (default 128, at most 256).
	BlockEvents int
	// Level is the zstd level of blocks (default zstd.SpeedFastest).
	Level zstd.EncoderLevel
	// NoDuplicateCheck stores events without looking their hashes up
	// first: for measuring what the check costs, or for a caller that
	// knows its events are new. Get still finds each; a repeated event is
	// stored (and found by searches) twice.
	NoDuplicateCheck bool
	// NoValueSeparation keeps blocks inside the sstables, where every
	// compaction rewrites them, instead of in blob files.
	NoValueSeparation bool
	// Logger receives Pebble's messages; nil discards the informational
	// ones and keeps errors out of stderr as well.
	Logger pebble.Logger
}

func (o *Options) defaults() {
	if o.CacheSize <= 0 {
		o.CacheSize = 192 << 20
	}
	if o.MemTableSize == 0 {
		o.MemTableSize = 32 << 20
	}
	if o.MemTables <= 0 {
		o.MemTables = 2
	}
	if o.BlockEvents <= 0 {
		o.BlockEvents = 128
	}
	o.BlockEvents = min(o.BlockEvents, maxBlockEvents)
	if o.Level == 0 {
		o.Level = zstd.SpeedFastest
	}
	if o.Logger == nil {
		o.Logger = quietLogger{}
	}
}

// quietLogger drops Pebble's informational messages; Fatalf still stops.
type quietLogger struct{}

func (quietLogger) Infof(string, ...any)           {}
func (quietLogger) Errorf(string, ...any)          {}
func (quietLogger) Fatalf(format string, a ...any) { panic(fmt.Sprintf(format, a...)) }

// Store is an open event store. It is safe for concurrent use; inserts
// are serialised (they allocate block numbers in order).
type Store struct {
	db   *pebble.DB
	opts Options
	enc  *zstd.Encoder
	dec  *zstd.Decoder

	mu      sync.Mutex // held by Insert
	nextSeq uint64
}

// ErrUnsupported is returned for a query this store cannot answer yet.
var ErrUnsupported = errors.New("eventstore: query not supported")

// The compression profiles leave values (blocks, zstd already)
// uncompressed. Index keys are compressed with the fastest codec in the
// levels that compactions rewrite often and with zstd level 1 in the last
// level, where they stay: zstd in every level cost a third of the
// compactions' CPU (measured at 1M events).
var (
	upperProfile = func() *block.CompressionProfile {
		p := *block.FastestCompression
		p.Name = "VigilEventsUpper"
		p.ValueBlocks = block.NoCompression.ValueBlocks
		return &p
	}()
	lastProfile = func() *block.CompressionProfile {
		p := *block.BalancedCompression
		p.Name = "VigilEventsLast"
		p.ValueBlocks = block.NoCompression.ValueBlocks
		return &p
	}()
)

// comparer orders keys bytewise, as Pebble's default does, but splits
// them so that Pebble's bloom filters (which hold each key's prefix, once
// for a run of equal ones) cover the hash index alone: an index key's
// prefix is its key space's byte, so a table's index keys add one entry.
// Only Get and Insert's duplicate check look keys up by prefix.
var comparer = func() *pebble.Comparer {
	c := *pebble.DefaultComparer
	c.Name = "vigil.eventstore.v1"
	c.Split = func(k []byte) int {
		if len(k) > 0 && k[0] != spaceHash {
			return 1
		}
		return len(k)
	}
	c.Compare = bytes.Compare
	c.Equal = bytes.Equal
	c.ComparePointSuffixes = bytes.Compare
	c.CompareRangeSuffixes = bytes.Compare
	return &c
}()

// Open opens or creates the store in dir.
func Open(dir string, opts Options) (*Store, error) {
	opts.defaults()
	po := &pebble.Options{
		CacheSize:                   opts.CacheSize,
		MemTableSize:                opts.MemTableSize,
		MemTableStopWritesThreshold: opts.MemTables,
		L0CompactionThreshold:       4,
		L0StopWritesThreshold:       24,
		FormatMajorVersion:          pebble.FormatNewest,
		Logger:                      opts.Logger,
		// Two cores: one compaction at a time beside the writers.
		CompactionConcurrencyRange: func() (int, int) { return 1, 2 },
	}
	po.Comparer = comparer
	for i := range po.Levels {
		po.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
		profile := upperProfile
		if i == len(po.Levels)-1 {
			profile = lastProfile
		}
		po.Levels[i].Compression = func() *block.CompressionProfile { return profile }
	}
	if !opts.NoValueSeparation {
		po.Experimental.ValueSeparationPolicy = func() pebble.ValueSeparationPolicy {
			return pebble.ValueSeparationPolicy{
				Enabled:     true,
				MinimumSize: 1024,
				// Deep enough that compactions of index keys pass
				// blob references on rather than rewrite the blocks.
				MaxBlobReferenceDepth: 100,
				RewriteMinimumAge:     5 * time.Minute,
				// Events are never deleted one by one: blob files
				// hold no garbage worth rewriting.
				TargetGarbageRatio: 1.0,
			}
		}
	}
	db, err := pebble.Open(dir, po)
	if err != nil {
		return nil, fmt.Errorf("eventstore: open %s: %w", dir, err)
	}
	s := &Store{db: db, opts: opts}
	if err := s.checkVersion(); err != nil {
		db.Close()
		return nil, err
	}
	if s.nextSeq, err = s.lastSeq(); err != nil {
		db.Close()
		return nil, err
	}
	s.nextSeq++
	s.enc, err = zstd.NewWriter(nil, zstd.WithEncoderLevel(opts.Level), zstd.WithEncoderConcurrency(runtime.GOMAXPROCS(0)),
		zstd.WithZeroFrames(true), zstd.WithEncoderCRC(false))
	if err == nil {
		s.dec, err = zstd.NewReader(nil, zstd.WithDecoderConcurrency(runtime.GOMAXPROCS(0)))
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("eventstore: zstd: %w", err)
	}
	return s, nil
}

func (s *Store) checkVersion() error {
	v, closer, err := s.db.Get([]byte{spaceVersion})
	if errors.Is(err, pebble.ErrNotFound) {
		b := binary.AppendUvarint([]byte(nil), layoutVersion)
		if err := s.db.Set([]byte{spaceVersion}, b, pebble.Sync); err != nil {
			return fmt.Errorf("eventstore: write layout version: %w", err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("eventstore: read layout version: %w", err)
	}
	defer closer.Close()
	if n, k := binary.Uvarint(v); k <= 0 || n != layoutVersion {
		return fmt.Errorf("eventstore: layout version %x, want %d", v, layoutVersion)
	}
	return nil
}

// lastSeq is the highest block seq stored, 0 when there is none.
func (s *Store) lastSeq() (uint64, error) {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{spaceBlock}, UpperBound: []byte{spaceBlock + 1}})
	if err != nil {
		return 0, fmt.Errorf("eventstore: %w", err)
	}
	defer it.Close()
	if !it.Last() {
		return 0, it.Error()
	}
	return binary.BigEndian.Uint64(it.Key()[1:]), nil
}

// Close flushes nothing that Insert has not made durable already and
// releases the database.
func (s *Store) Close() error {
	s.enc.Close()
	s.dec.Close()
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("eventstore: close: %w", err)
	}
	return nil
}

// Compact compacts the whole key space, as a store left alone for a while
// would be: the steady state that bytes per event are measured in.
func (s *Store) Compact(ctx context.Context) error {
	if err := s.db.Compact(ctx, []byte{0}, []byte{0xff}, true); err != nil {
		return fmt.Errorf("eventstore: compact: %w", err)
	}
	return nil
}

// Metrics is Pebble's report on the database (levels, compactions, cache).
func (s *Store) Metrics() string { return s.db.Metrics().String() }

// pendingBlock is one block of an Insert being built.
type pendingBlock struct {
	seq     uint64
	events  []*event.Event
	columns []store.EventColumns
	value   []byte // the block's value
}

// Insert stores events as one durable batch: their blocks and index keys
// are written with one fsync. Events whose hash is stored already (or
// that repeat within events) are skipped; inserted is how many were new.
func (s *Store) Insert(ctx context.Context, events []*event.Event) (inserted int, err error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := store.RecordTime()
	batch := s.db.NewBatch()
	defer batch.Close()

	// Keep the new events and note their hash keys: a hash prefix seen
	// before gets the new ref appended to its list. The lookups go in
	// hash order, which reads the hash index's blocks in order.
	all := make([]event.Hash, len(events))
	order := make([]int, len(events))
	for i, e := range events {
		all[i], order[i] = e.Hash(), i
	}
	slices.SortFunc(order, func(a, b int) int {
		if c := bytes.Compare(all[a][:], all[b][:]); c != 0 {
			return c
		}
		return a - b
	})
	keep := make([]bool, len(events))
	hashValues := make(map[[hashPrefixLen]byte][]byte)
	for n, i := range order {
		h := all[i]
		if n > 0 && all[order[n-1]] == h {
			continue // a repeat within events
		}
		keep[i] = true
		if s.opts.NoDuplicateCheck {
			continue
		}
		var hk [hashPrefixLen]byte
		copy(hk[:], h[:])
		refs, found, err := s.hashRefs(hk, hashValues)
		if err != nil {
			return 0, err
		}
		if found {
			dup, err := s.anyHas(refs, h)
			if err != nil {
				return 0, err
			}
			keep[i] = !dup
			hashValues[hk] = refs
		}
	}
	fresh := make([]*event.Event, 0, len(events))
	hashes := make([]event.Hash, 0, len(events))
	for i, e := range events {
		if keep[i] {
			fresh = append(fresh, e)
			hashes = append(hashes, all[i])
		}
	}
	if len(fresh) == 0 {
		return 0, nil
	}

	// Cut the events into blocks of equal size, at most BlockEvents each.
	nblocks := (len(fresh) + s.opts.BlockEvents - 1) / s.opts.BlockEvents
	per := (len(fresh) + nblocks - 1) / nblocks
	blocks := make([]pendingBlock, 0, nblocks)
	for i := 0; i < len(fresh); i += per {
		blocks = append(blocks, pendingBlock{seq: s.nextSeq + uint64(len(blocks)), events: fresh[i:min(i+per, len(fresh))]})
	}
	s.encodeBlocks(blocks, now)

	// The index keys go into the batch sorted: the memtable's skiplist
	// inserts a run of ascending keys faster than keys in random order.
	keys := newKeyList(len(fresh) * 6)
	for bi := range blocks {
		b := &blocks[bi]
		if err := batch.Set(blockKey(b.seq), b.value, nil); err != nil {
			return 0, fmt.Errorf("eventstore: insert: %w", err)
		}
		for slot := range b.events {
			r := makeRef(b.seq, slot)
			c := &b.columns[slot]
			h := hashes[bi*per+slot]
			var hk [hashPrefixLen]byte
			copy(hk[:], h[:])
			hashValues[hk] = binary.BigEndian.AppendUint64(hashValues[hk], uint64(r))

			keys.add(appendEntry(append(keys.start(), spaceTime), c.TimeSource, r))
			for i, ip := range []store.IPKey{c.SrcIP, c.DstIP} {
				if !ip.Valid() || (i == 1 && ip == c.SrcIP) {
					continue
				}
				keys.add(appendEntry(append(append(keys.start(), spaceIP), ip.Bytes()...), c.TimeSource, r))
			}
			for i, asn := range []int64{c.SrcASN, c.DstASN} {
				if asn <= 0 || asn > 1<<32-1 || (i == 1 && asn == c.SrcASN) {
					continue
				}
				k := binary.BigEndian.AppendUint32(append(keys.start(), spaceASN), uint32(asn))
				keys.add(appendEntry(k, c.TimeSource, r))
			}
			for _, suffix := range fqdnSuffixes(c.SrcFQDN, c.DstFQDN) {
				k := append(append(keys.start(), spaceFQDN), suffix...)
				keys.add(appendEntry(append(k, 0), c.TimeSource, r))
			}
		}
	}
	for _, k := range keys.sorted() {
		if err := batch.Set(k, nil, nil); err != nil {
			return 0, fmt.Errorf("eventstore: insert: %w", err)
		}
	}
	for hk, refs := range hashValues {
		if err := batch.Set(hashKey(hk[:]), refs, nil); err != nil {
			return 0, fmt.Errorf("eventstore: insert: %w", err)
		}
	}
	if err := batch.Commit(pebble.Sync); err != nil {
		return 0, fmt.Errorf("eventstore: insert: %w", err)
	}
	s.nextSeq += uint64(len(blocks))
	return len(fresh), nil
}

// keyList holds an insert's index keys in one buffer.
type keyList struct {
	buf  []byte
	ends []int
}

func newKeyList(n int) *keyList {
	return &keyList{buf: make([]byte, 0, n*40), ends: make([]int, 0, n)}
}

// start returns the buffer to append the next key to.
func (l *keyList) start() []byte { return l.buf }

// add records the key appended to start's buffer.
func (l *keyList) add(b []byte) {
	l.buf = b
	l.ends = append(l.ends, len(b))
}

func (l *keyList) sorted() [][]byte {
	out := make([][]byte, len(l.ends))
	begin := 0
	for i, end := range l.ends {
		out[i] = l.buf[begin:end:end]
		begin = end
	}
	slices.SortFunc(out, bytes.Compare)
	return out
}

// fqdnSuffixes lists the reversed names ("be.example.www.") of both sides
// and every domain above them ("be.example.", "be."), each once.
func fqdnSuffixes(names ...string) []string {
	var out []string
	for _, n := range names {
		for i := 0; i < len(n); i++ {
			if n[i] == '.' && !slices.Contains(out, n[:i+1]) {
				out = append(out, n[:i+1])
			}
		}
	}
	return out
}

// hashRefs returns the refs listed under a hash prefix, from this batch's
// pending values or the database.
func (s *Store) hashRefs(hk [hashPrefixLen]byte, pending map[[hashPrefixLen]byte][]byte) ([]byte, bool, error) {
	if v, ok := pending[hk]; ok {
		return v, true, nil
	}
	v, closer, err := s.db.Get(hashKey(hk[:]))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("eventstore: hash lookup: %w", err)
	}
	out := bytes.Clone(v)
	closer.Close()
	return out, true, nil
}

// anyHas reports whether one of the stored events refs lists has hash h.
// A ref of the current batch is not stored yet, so it is skipped: the
// batch's own repeats are caught before.
func (s *Store) anyHas(refs []byte, h event.Hash) (bool, error) {
	for i := 0; i+8 <= len(refs); i += 8 {
		r := ref(binary.BigEndian.Uint64(refs[i:]))
		if r.seq() >= s.nextSeq {
			continue
		}
		se, err := s.load(nil, r)
		if err != nil {
			return false, err
		}
		if se.Hash == h {
			return true, nil
		}
	}
	return false, nil
}

// encodeBlocks extracts the index columns of each block's events and
// compresses its records, on all cores.
func (s *Store) encodeBlocks(blocks []pendingBlock, now time.Time) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for i := range blocks {
		wg.Add(1)
		sem <- struct{}{}
		go func(b *pendingBlock) {
			defer func() { <-sem; wg.Done() }()
			b.columns = make([]store.EventColumns, len(b.events))
			raw := binary.AppendUvarint(make([]byte, 0, 2300*len(b.events)), uint64(now.UnixMicro()))
			raw = binary.AppendUvarint(raw, uint64(len(b.events)))
			var rec []byte
			for j, e := range b.events {
				b.columns[j] = store.ExtractColumns(e, now)
				rec = event.AppendRecord(rec[:0], e)
				raw = binary.AppendUvarint(raw, uint64(len(rec)))
				raw = append(raw, rec...)
			}
			b.value = s.enc.EncodeAll(raw, []byte{blockFormat})
		}(&blocks[i])
	}
	wg.Wait()
}

// decodedBlock is a block read back: when it was stored and its records.
type decodedBlock struct {
	stored  time.Time
	records [][]byte
}

// readBlock reads and decompresses block seq.
func (s *Store) readBlock(seq uint64) (*decodedBlock, error) {
	v, closer, err := s.db.Get(blockKey(seq))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, fmt.Errorf("eventstore: block %d: %w", seq, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("eventstore: block %d: %w", seq, err)
	}
	defer closer.Close()
	if len(v) == 0 || v[0] != blockFormat {
		return nil, fmt.Errorf("eventstore: block %d: unknown format", seq)
	}
	raw, err := s.dec.DecodeAll(v[1:], nil)
	if err != nil {
		return nil, fmt.Errorf("eventstore: block %d: %w", seq, err)
	}
	bad := fmt.Errorf("eventstore: block %d: %w", seq, event.ErrBadBatch)
	stored, k := binary.Uvarint(raw)
	if k <= 0 {
		return nil, bad
	}
	raw = raw[k:]
	n, k := binary.Uvarint(raw)
	if k <= 0 || n > maxBlockEvents {
		return nil, bad
	}
	raw = raw[k:]
	b := &decodedBlock{stored: time.UnixMicro(int64(stored)).UTC(), records: make([][]byte, n)}
	for i := range b.records {
		l, k := binary.Uvarint(raw)
		if k <= 0 || l > uint64(len(raw)-k) {
			return nil, bad
		}
		b.records[i] = raw[k : k+int(l)]
		raw = raw[k+int(l):]
	}
	return b, nil
}

// load returns the event r names; blocks caches the blocks read (nil:
// no cache).
func (s *Store) load(blocks map[uint64]*decodedBlock, r ref) (store.StoredEvent, error) {
	b := blocks[r.seq()]
	if b == nil {
		var err error
		if b, err = s.readBlock(r.seq()); err != nil {
			return store.StoredEvent{}, err
		}
		if blocks != nil {
			blocks[r.seq()] = b
		}
	}
	return b.event(r)
}

func (b *decodedBlock) event(r ref) (store.StoredEvent, error) {
	if r.slot() >= len(b.records) {
		return store.StoredEvent{}, fmt.Errorf("eventstore: event %d/%d: %w", r.seq(), r.slot(), store.ErrNotFound)
	}
	e, err := event.DecodeRecord(b.records[r.slot()])
	if err != nil {
		return store.StoredEvent{}, fmt.Errorf("eventstore: event %d/%d: %w", r.seq(), r.slot(), err)
	}
	return store.StoredEvent{Hash: e.Hash(), Stored: b.stored, Event: e}, nil
}

// Get returns the event stored under hash, store.ErrNotFound if none is.
func (s *Store) Get(ctx context.Context, hash event.Hash) (store.StoredEvent, error) {
	if err := ctx.Err(); err != nil {
		return store.StoredEvent{}, err
	}
	v, closer, err := s.db.Get(hashKey(hash[:]))
	if errors.Is(err, pebble.ErrNotFound) {
		return store.StoredEvent{}, fmt.Errorf("eventstore: get %s: %w", hash, store.ErrNotFound)
	}
	if err != nil {
		return store.StoredEvent{}, fmt.Errorf("eventstore: get %s: %w", hash, err)
	}
	refs := bytes.Clone(v)
	closer.Close()
	for i := 0; i+8 <= len(refs); i += 8 {
		se, err := s.load(nil, ref(binary.BigEndian.Uint64(refs[i:])))
		if err != nil {
			return store.StoredEvent{}, err
		}
		if se.Hash == hash {
			return se, nil
		}
	}
	return store.StoredEvent{}, fmt.Errorf("eventstore: get %s: %w", hash, store.ErrNotFound)
}
