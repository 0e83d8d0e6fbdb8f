package enricher

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/offheap"
	"github.com/vigil-cert/vigil/internal/pipeline"
	"github.com/vigil-cert/vigil/internal/store"
)

func init() {
	pipeline.RegisterEnricher("dedup",
		"drop events seen within a window (options: window, filter_keys, max_bytes)",
		func(env pipeline.Env, opts pipeline.Options) (pipeline.Enricher, error) {
			cfg := DedupConfig{Window: DefaultDedupWindow}
			if err := opts.Decode(&cfg); err != nil {
				return nil, fmt.Errorf("dedup: %w", err)
			}
			return NewDedup(context.Background(), cfg, env)
		})
}

// Defaults and limits of the dedup enricher.
const (
	DefaultDedupWindow = 24 * time.Hour
	// DefaultDedupMaxBytes holds about 13 million keys before the
	// memory starts to overflow (see Dedup).
	DefaultDedupMaxBytes = 64 << 20
	// MinDedupMaxBytes keeps a few buckets in each shard.
	MinDedupMaxBytes = 64 << 10
	// dedupBytesPerKey converts the deprecated max_keys into max_bytes:
	// a key takes 4 bytes of a 4-byte slot, and 8 leaves the table half
	// empty, where it never overflows.
	dedupBytesPerKey = 8

	// dedupStorePruneEvery is how often expired keys leave the store.
	dedupStorePruneEvery = time.Hour
)

// DedupConfig configures a Dedup; the opt tags name the enricher's options.
type DedupConfig struct {
	// Window is how long a key, once seen, makes later equal events
	// duplicates. It runs from the first sighting and is not extended by
	// the duplicates, as IntelMQ's deduplicator does.
	Window time.Duration `opt:"window"`
	// FilterKeys are fields left out of the key besides time.observation
	// and raw, e.g. time.source to treat the same address reported every
	// day as one observation.
	FilterKeys []string `opt:"filter_keys"`
	// MaxBytes is the memory that holds the window's keys; see Dedup.
	// 0 is DefaultDedupMaxBytes.
	MaxBytes int `opt:"max_bytes"`
	// MaxKeys is deprecated: it sets MaxBytes to 8 bytes a key (at
	// least MinDedupMaxBytes), and cannot be given together with it.
	MaxKeys int `opt:"max_keys"`

	// fingerprintBits narrows the fingerprints in tests, to make them
	// collide; 0 is fingerprintBits (24). bucketsPerShard, when set,
	// makes tables smaller than MinDedupMaxBytes, to make them overflow.
	fingerprintBits int
	bucketsPerShard int
}

// dedupShardCount spreads keys over independently locked shards so that
// concurrent batches rarely wait for each other.
const dedupShardCount = 64

// dedupID is the first half of the SHA-256 dedup key, which tells the
// claims of batches in flight apart. 128 bits keep the chance of two
// different events colliding below 1e-20 even for billions of keys.
type dedupID [16]byte

// flightClaim is a claim of a batch that the outputs have not yet
// settled: its key is not in the store yet, so only memory knows it.
type flightClaim struct {
	owner   *pipeline.Batch
	expires uint32 // Unix seconds
}

type dedupShard struct {
	mu    sync.Mutex
	table fingerprintTable
	// sweptAt is the time bucket of the table's last sweep.
	sweptAt uint64
	// flight holds the claims of batches between Enrich and their
	// settlement (Committed or Release): at most the batches the
	// workers hold at once.
	flight flightTable
	_      [40]byte // keep neighbouring shards' locks off one cache line
}

// Dedup drops events whose key (event.HashExcept of the filter keys) was
// claimed within the window, by an earlier batch or earlier in the same
// batch, and counts them in Batch.Duplicates. The keys it claims go to
// Batch.Dedup, so the store output commits them with the events: the window
// survives a restart (keys are loaded back at construction), and a crash
// before the commit forgets the claim together with the events, so a
// redelivered batch is not dropped.
//
// Memory is set in bytes (MaxBytes), not by the number of keys: the
// window's claims are held as 24-bit fingerprints in a fingerprintTable,
// 4 bytes a key, tagged with the time bucket (a 64th of the window) in
// which they expire, so a whole bucket expires at once. The table
// answers "not claimed", which is definite (no store read), or "maybe":
// a fingerprint of the same value, which is the key's own claim or a
// false positive. A "maybe" is confirmed against the store
// (store.Dedup.DedupKeysExist, one query for the batch) before an event
// is dropped, so a false positive costs a read, never a new event.
//
// False positives: a lookup compares the key's fingerprint with the live
// slots of its two buckets, so the chance that a key never claimed is
// sent to the store is at most 32/2^24 ≈ 1.9e-6 per lookup, and on
// average about 2n/(m·2^24) for n keys in m = MaxBytes/66 buckets:
// 1.2e-6 for 10 million keys in the default 64 MiB. Until the table is
// about 85 % full (MaxBytes/5 keys, 13 million by default; measured by
// filling one) no bucket overflows; past that, a key that finds both its buckets full marks
// the first overflowed, and every key landing there is confirmed
// against the store until the mark expires: more reads, never a lost
// event or a duplicate passed. The first overflow is logged once.
//
// Claims of batches in flight (enriched, not yet stored) are kept exact
// beside the table, by their 128-bit ID, until the runner settles the
// batch (Committed) or gives it up (Release): two batches that claim the
// same new key at once keep it once, and a failed batch's keys are free
// again for its redelivery. That costs 64 to 128 bytes for each event the
// workers hold (a slot of 32 bytes in a table kept between a quarter and
// half full, flightTable), outside MaxBytes.
//
// Without a store (a process with no database) a "maybe" cannot be
// confirmed: the event is dropped, which loses a new event with the
// probability above, and a claim counts only until the start of the
// bucket in which it expires (up to a 64th of the window early), so
// that an event seen again after the window is not dropped.
type Dedup struct {
	window time.Duration
	// bucket is the length of a time bucket, a 64th of the window.
	bucket time.Duration
	skip   map[string]bool
	store  store.Dedup
	logger *slog.Logger
	now    func() time.Time

	shards [dedupShardCount]dedupShard
	// current is the time bucket of the latest Enrich: it only moves
	// forward, so a clock stepping back does not bring claims back.
	current    atomic.Uint64
	storePrune *periodic
	warnedFull atomic.Bool
	maxBytes   int

	// released holds the keys that batches gave back (Release), so
	// that their redelivery is not confirmed as a duplicate of itself
	// by a store that committed them before a later output failed.
	released releasedKeys

	// confirmed counts keys sent to the store, duplicates the ones it
	// held: confirmed-duplicates were false positives.
	confirmed, confirmedDuplicates atomic.Int64
}

// NewDedup builds a deduplicator and loads the unexpired keys from
// env.Store when there is one.
func NewDedup(ctx context.Context, cfg DedupConfig, env pipeline.Env) (*Dedup, error) {
	if cfg.Window < time.Second {
		return nil, fmt.Errorf("dedup: %w", pipeline.OptionProblem("enricher.dedup.window", cfg.Window.String()))
	}
	switch {
	case cfg.MaxKeys < 0 || cfg.MaxBytes < 0:
		return nil, fmt.Errorf("dedup: %w", pipeline.OptionProblem("enricher.dedup.negative"))
	case cfg.MaxKeys > 0 && cfg.MaxBytes > 0:
		return nil, fmt.Errorf("dedup: %w", pipeline.OptionProblem("enricher.dedup.both"))
	case cfg.MaxKeys > 0:
		cfg.MaxBytes = max(cfg.MaxKeys*dedupBytesPerKey, MinDedupMaxBytes)
	case cfg.MaxBytes == 0:
		cfg.MaxBytes = DefaultDedupMaxBytes
	}
	if cfg.MaxBytes < MinDedupMaxBytes {
		return nil, fmt.Errorf("dedup: %w", pipeline.OptionProblem("enricher.dedup.maxbytes", cfg.MaxBytes, MinDedupMaxBytes))
	}
	bits := cfg.fingerprintBits
	if bits <= 0 || bits > fingerprintBits {
		bits = fingerprintBits
	}
	d := &Dedup{
		window:   cfg.Window,
		bucket:   cfg.Window / epochsPerWindow,
		logger:   env.Logger,
		now:      env.Now,
		maxBytes: cfg.MaxBytes,
	}
	if d.logger == nil {
		d.logger = slog.New(slog.DiscardHandler)
	}
	if d.now == nil {
		d.now = time.Now
	}
	if cfg.MaxKeys > 0 {
		d.logger.Warn("dedup: max_keys is deprecated, use max_bytes", "max_keys", cfg.MaxKeys, "max_bytes", cfg.MaxBytes)
	}
	if len(cfg.FilterKeys) > 0 {
		d.skip = make(map[string]bool, len(cfg.FilterKeys))
		for _, k := range cfg.FilterKeys {
			if _, ok := event.KindOf(k); !ok {
				return nil, fmt.Errorf("dedup: %w", pipeline.OptionProblem("enricher.dedup.filterkey", k))
			}
			d.skip[k] = true
		}
	}
	d.released.limit = releasedLimit(cfg.MaxBytes)
	buckets := (cfg.MaxBytes - d.released.limit*releasedEntryBytes) / dedupShardCount / bucketBytes
	if cfg.bucketsPerShard > 0 {
		buckets = cfg.bucketsPerShard
	}
	buckets = max(buckets, 1)
	now := d.now()
	cur := d.bucketOf(now)
	// One block for every shard's slots, off the heap (package offheap):
	// long-lived and without pointers, it would otherwise let the heap
	// grow by GOGC percent of it. Every key lands at random in it and it
	// fills as a whole, so it is on huge pages where the system has them
	// (BenchmarkDedupFill: about 0.9 µs of CPU a new key less).
	slots := offheap.MakeScattered[uint32](dedupShardCount*buckets*slotsPerBucket, d)
	for i := range d.shards {
		sh := &d.shards[i]
		sh.table = newFingerprintTable(buckets, bits, slots[i*buckets*slotsPerBucket:])
		sh.sweptAt = cur
	}
	if env.Store != nil {
		d.store = env.Store
		d.storePrune = newPeriodic(dedupStorePruneEvery, now)
		loaded := 0
		err := env.Store.LoadDedupKeys(ctx, now, func(k store.DedupKey) {
			sh := d.shardOf(&k.Key)
			if !sh.table.add((*[32]byte)(&k.Key), d.epochOf(k.Expires, cur), uint8(cur)) {
				d.full()
			}
			loaded++
		})
		if err != nil {
			return nil, fmt.Errorf("dedup: load keys: %w", err)
		}
		d.logger.Info("dedup keys loaded", "keys", loaded)
	}
	return d, nil
}

// bucketOf returns the time bucket of t, and moves the current bucket
// forward to it.
func (d *Dedup) bucketOf(t time.Time) uint64 {
	b := uint64(max(t.UnixNano(), 0)) / uint64(d.bucket)
	for {
		cur := d.current.Load()
		if b <= cur {
			return cur
		}
		if d.current.CompareAndSwap(cur, b) {
			return b
		}
	}
}

// epochOf returns the bucket in which a claim expiring at t expires, kept
// within what the table can tell apart: a claim loaded from a store
// written with a window more than twice as long counts for at most
// twice this window.
func (d *Dedup) epochOf(t time.Time, cur uint64) uint8 {
	b := uint64(max(t.UnixNano(), 0)) / uint64(d.bucket)
	return uint8(min(max(b, cur), cur+maxAhead))
}

func unixSeconds(t time.Time) uint32 {
	s := t.Unix()
	if s < 0 {
		return 0
	}
	if s > 1<<32-1 {
		return 1<<32 - 1
	}
	return uint32(s)
}

// shardOf picks the shard from the last byte of the key, which neither
// the ID nor the fingerprint table uses.
func (d *Dedup) shardOf(h *event.Hash) *dedupShard { return &d.shards[shardIndex(h)] }

// shardIndex is the number of shardOf's shard.
func shardIndex(h *event.Hash) int { return int(h[31] % dedupShardCount) }

func idOf(h *event.Hash) (id dedupID) {
	copy(id[:], h[:16])
	return id
}

// Key returns the dedup key of e under this deduplicator's filter. Without
// filter keys it is the event's own identity, computed once when the event
// left its parser.
func (d *Dedup) Key(e *event.Event) event.Hash {
	if len(d.skip) == 0 {
		return e.Hash()
	}
	return e.HashExcept(d.skip)
}

// verdict is what claimLocked decided for one event.
type verdict uint8

const (
	claimed   verdict = iota // new: the batch holds the claim
	duplicate                // claimed before, by a batch in flight or (no store) the table
	confirm                  // claimed for now; the store says whether it was before
)

// claimTime is the clock of one Enrich.
type claimTime struct {
	bucket       uint64
	now, expires uint32 // Unix seconds
	epoch        uint8
}

// dedupScratch is an Enrich's working space, reused through a pool: a
// batch's keys are 64 KB for 2,000 events.
type dedupScratch struct {
	keys     []event.Hash
	verdicts []verdict
	confirm  []event.Hash
	// byShard is the order of the keys claimAll and Committed take: their indexes, shard by
	// shard, and starts where each shard's begin.
	byShard []int32
	starts  [dedupShardCount + 1]int32
	// touched keeps what fingerprintTable.touch read, so that the reads
	// are not left out as unused.
	touched uint32
}

// sortByShard puts the indexes of keys in s.byShard shard by shard, each
// shard's in the keys' order, those of shard i from s.starts[i] to
// s.starts[i+1].
func (s *dedupScratch) sortByShard(keys []event.Hash) {
	s.starts = [dedupShardCount + 1]int32{}
	for i := range keys {
		s.starts[shardIndex(&keys[i])+1]++
	}
	for i := 1; i < len(s.starts); i++ {
		s.starts[i] += s.starts[i-1]
	}
	next := s.starts
	s.byShard = slices.Grow(s.byShard[:0], len(keys))[:len(keys)]
	for i := range keys {
		sh := shardIndex(&keys[i])
		s.byShard[next[sh]] = int32(i)
		next[sh]++
	}
}

// shard returns the indexes of the keys of shard i, after sortByShard.
func (s *dedupScratch) shard(i int) []int32 { return s.byShard[s.starts[i]:s.starts[i+1]] }

var dedupScratchPool = sync.Pool{New: func() any { return new(dedupScratch) }}

// MayAdd implements pipeline.FieldAdder: the deduplicator drops events
// and adds to none.
func (d *Dedup) MayAdd(func(key string) bool) []string { return nil }

// Enrich implements pipeline.Enricher.
func (d *Dedup) Enrich(ctx context.Context, b *pipeline.Batch) error {
	now := d.now()
	c := claimTime{bucket: d.bucketOf(now), now: unixSeconds(now), expires: unixSeconds(now.Add(d.window))}
	expiresAt := time.Unix(int64(c.expires), 0).UTC()
	c.epoch = d.epochOf(expiresAt, c.bucket)

	s := dedupScratchPool.Get().(*dedupScratch)
	defer dedupScratchPool.Put(s)
	s.keys = slices.Grow(s.keys[:0], len(b.Events))[:len(b.Events)]
	s.verdicts = slices.Grow(s.verdicts[:0], len(b.Events))[:len(b.Events)]
	s.confirm = s.confirm[:0]
	for i, e := range b.Events {
		s.keys[i] = d.Key(e)
	}
	d.claimAll(s, b, c)
	for i, v := range s.verdicts {
		if v == confirm {
			s.confirm = append(s.confirm, s.keys[i])
		}
	}
	if len(s.confirm) > 0 {
		if err := d.confirmWithStore(ctx, b, s, now); err != nil {
			// The batch fails and comes back: its claims go, and the
			// batch is left as it came.
			for i, v := range s.verdicts {
				if v != duplicate {
					d.settle(&s.keys[i], b, false, 0)
				}
			}
			return fmt.Errorf("dedup: %w", err)
		}
	}
	b.Dedup = slices.Grow(b.Dedup, len(b.Events))
	kept := b.Events[:0]
	for i, e := range b.Events {
		if s.verdicts[i] == duplicate {
			b.Duplicates++
			continue
		}
		kept = append(kept, e)
		b.Dedup = append(b.Dedup, store.DedupKey{Key: s.keys[i], Expires: expiresAt})
	}
	clear(b.Events[len(kept):]) // let the garbage collector have the dropped events
	b.Events = kept
	d.housekeeping(now)
	return nil
}

// confirmWithStore asks the store about the keys the memory may have seen and
// makes duplicates of those it holds, unless the store holds the batch
// itself: then it is delivered again (an output after the store failed)
// and those keys are its own. Such a delivery keeps what its first one
// kept and also what that one dropped as stored by other batches; the
// store recognises the batch and stores nothing, and the outputs after
// it get the events they missed.
func (d *Dedup) confirmWithStore(ctx context.Context, b *pipeline.Batch, s *dedupScratch, now time.Time) error {
	d.confirmed.Add(int64(len(s.confirm)))
	exists, err := d.store.DedupKeysExist(ctx, s.confirm, now)
	if err != nil {
		return err
	}
	if b.ID != (event.Hash{}) && slices.Contains(exists, true) {
		recorded, err := d.store.BatchRecorded(ctx, b.ID)
		if err != nil {
			return err
		}
		if recorded {
			return nil
		}
	}
	j := 0
	for i, v := range s.verdicts {
		if v != confirm {
			continue
		}
		if exists[j] {
			s.verdicts[i] = duplicate
			d.confirmedDuplicates.Add(1)
			d.settle(&s.keys[i], b, false, 0)
		}
		j++
	}
	return nil
}

// claimAll decides, for every key of s, in s.verdicts, whether batch
// owner may claim it (claimLocked), shard by shard:
// a shard's lock is taken once a batch rather than once a key, and the
// table's cache lines that its keys' lookups read are read first, all
// together (fingerprintTable.touch), so that their fetches from memory
// overlap instead of following one another. The table is 64 MiB read
// at random: nearly every key's two buckets are a cache miss. The
// home slots of the keys' claims in flight are read first too
// (flightTable.touch). A key
// claimed twice in the batch is in one shard, where the keys keep their
// order, so the later one is the duplicate.
func (d *Dedup) claimAll(s *dedupScratch, owner *pipeline.Batch, c claimTime) {
	d.byShard(s, func(sh *dedupShard, idx []int32) {
		d.catchUp(sh, c)
		s.touched += sh.table.touch(s.keys, idx) + sh.flight.touch(s.keys, idx)
		for _, k := range idx {
			s.verdicts[k] = d.claimLocked(sh, &s.keys[k], owner, c)
		}
	})
}

// byShard sorts s.keys by shard and calls f for each shard that has some,
// with the indexes of its keys in s.keys, under the shard's lock.
func (d *Dedup) byShard(s *dedupScratch, f func(sh *dedupShard, idx []int32)) {
	s.sortByShard(s.keys)
	for i := range d.shards {
		idx := s.shard(i)
		if len(idx) == 0 {
			continue
		}
		sh := &d.shards[i]
		sh.mu.Lock()
		f(sh, idx)
		sh.mu.Unlock()
	}
}

// claimLocked decides whether batch owner may claim h: not if a batch in
// flight holds it, yes if the table has no trace of it; otherwise the
// claim is taken for now and the store must say whether it was committed
// before (or, without a store, the table's word is final). The caller
// holds the lock of h's shard, sh, and caught it up: checking and taking
// the claim under the lock is what keeps two batches from claiming one
// key.
func (d *Dedup) claimLocked(sh *dedupShard, h *event.Hash, owner *pipeline.Batch, c claimTime) verdict {
	id := idOf(h)
	if f, ok := sh.flight.get(&id); ok {
		// A claim in flight of another delivery of the same batch (one
		// redelivered while the first was still at work) is not a
		// duplicate: both go on and the store keeps one.
		if f.expires > c.now && !sameBatch(f.owner, owner) {
			return duplicate
		}
		sh.flight.remove(&id)
	}
	live, edge := sh.table.lookup((*[32]byte)(h), uint8(c.bucket))
	maybe := live || (edge && d.store != nil)
	if maybe && d.released.take(releasedID(owner, id), c.now) {
		maybe = false
	}
	if maybe && d.store == nil {
		return duplicate
	}
	if !sh.table.add((*[32]byte)(h), c.epoch, uint8(c.bucket)) {
		d.full()
	}
	sh.flight.put(&id, flightClaim{owner: owner, expires: c.expires})
	if maybe {
		return confirm
	}
	return claimed
}

// sameBatch reports whether a and b are two deliveries of one batch: the
// same identity, fixed before enrichment. (A key twice in one delivery
// is a duplicate like any other.)
func sameBatch(a, b *pipeline.Batch) bool {
	return a != b && a.ID != (event.Hash{}) && a.ID == b.ID
}

// catchUp sweeps the shard when it is due: before an epoch could alias
// (see fingerprintTable), so it must run before the shard's table is
// read in a new bucket. The caller holds the shard's lock.
func (d *Dedup) catchUp(sh *dedupShard, c claimTime) {
	if c.bucket > sh.sweptAt && c.bucket-sh.sweptAt >= sweepEvery {
		d.sweep(sh, c)
	}
}

// sweep empties the table's dead slots and forgets claims in flight that
// expired (a batch never settled); the caller holds the shard's lock.
func (d *Dedup) sweep(sh *dedupShard, c claimTime) int {
	n := sh.table.sweep(sh.sweptAt, c.bucket)
	sh.sweptAt = c.bucket
	sh.flight.removeExpired(c.now)
	return n
}

func (d *Dedup) full() {
	if d.warnedFull.CompareAndSwap(false, true) {
		d.logger.Warn("dedup memory full: keys that do not fit are confirmed against the store, which is slower; raise max_bytes or shorten the window",
			"max_bytes", d.maxBytes)
	}
}

// settle ends a claim of owner's in flight, if it still holds it; a
// released claim is remembered until it expires.
func (d *Dedup) settle(h *event.Hash, owner *pipeline.Batch, release bool, expires uint32) {
	id, sh := idOf(h), d.shardOf(h)
	sh.mu.Lock()
	held := sh.endFlight(id, owner)
	sh.mu.Unlock()
	if held && release {
		d.released.add(releasedID(owner, id), expires)
	}
}

// endFlight ends owner's claim in flight of id, if owner holds it, and
// reports whether it did. The shard's lock is held.
func (sh *dedupShard) endFlight(id dedupID, owner *pipeline.Batch) bool {
	i, ok := sh.flight.find(&id)
	if ok && sh.flight.slots[i].owner == owner {
		sh.flight.removeAt(i)
		return true
	}
	return false
}

// releasedID names a released claim by the batch that gave it back as
// well as by its key, so that only a delivery of that same batch takes
// it again: another batch holding the key is a duplicate.
func releasedID(owner *pipeline.Batch, id dedupID) dedupID {
	for i := range id {
		id[i] ^= owner.ID[i]
	}
	return id
}

// Committed ends the batch's claims in flight once the outputs took it:
// its keys are in the store now, and the table answers for them.
func (d *Dedup) Committed(b *pipeline.Batch) {
	s := dedupScratchPool.Get().(*dedupScratch)
	defer dedupScratchPool.Put(s)
	s.keys = slices.Grow(s.keys[:0], len(b.Dedup))[:len(b.Dedup)]
	for i := range b.Dedup {
		s.keys[i] = b.Dedup[i].Key
	}
	// Shard by shard, as claimAll: a lock a shard, not one a key.
	d.byShard(s, func(sh *dedupShard, idx []int32) {
		s.touched += sh.flight.touch(s.keys, idx)
		for _, k := range idx {
			sh.endFlight(idOf(&s.keys[k]), b)
		}
	})
}

// Release gives up the claims a batch made, for a runner whose outputs
// failed to store it: the batch will be delivered again and its events must
// not then count as duplicates of themselves. A claim taken meanwhile by
// another batch is kept.
func (d *Dedup) Release(b *pipeline.Batch) {
	for i := range b.Dedup {
		d.settle(&b.Dedup[i].Key, b, true, unixSeconds(b.Dedup[i].Expires))
	}
}

// Len is the number of fingerprints held that have not expired: about
// the number of keys claimed within the window (a few more, the bucket
// that expires next; a few less, keys sharing a fingerprint).
func (d *Dedup) Len() int {
	c := claimTime{bucket: d.current.Load(), now: unixSeconds(d.now())}
	n := 0
	for i := range d.shards {
		sh := &d.shards[i]
		sh.mu.Lock()
		d.catchUp(sh, c)
		n += sh.table.live(uint8(c.bucket))
		sh.mu.Unlock()
	}
	return n
}

// Bytes is the memory that MaxBytes bounds: the tables and the released
// keys, not the claims of batches in flight.
func (d *Dedup) Bytes() int {
	n := 0
	for i := range d.shards {
		n += d.shards[i].table.bytes()
	}
	return n + d.released.bytes()
}

// Confirmations returns how many keys were sent to the store to be
// confirmed, and how many of them the store held (duplicates); the rest
// were false positives.
func (d *Dedup) Confirmations() (keys, duplicates int64) {
	return d.confirmed.Load(), d.confirmedDuplicates.Load()
}

func (d *Dedup) housekeeping(now time.Time) {
	if d.store != nil && d.storePrune.start(now) {
		go func() {
			defer d.storePrune.done()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := d.store.PruneDedupKeys(ctx, now); err != nil {
				d.logger.Warn("dedup: prune stored keys", "err", err)
			}
		}()
	}
}

// releasedKeys remembers the keys of released batches until they expire
// or are claimed again, in a bounded number of entries: two generations,
// the older dropped whole when the newer is full. A key forgotten early
// is then confirmed against the store like any other.
type releasedKeys struct {
	mu         sync.Mutex
	limit      int // entries in both generations
	cur, older map[dedupID]uint32
}

// releasedEntryBytes is what a released key costs in a Go map (16-byte
// ID, 4-byte expiry, the map's control bytes and slack).
const releasedEntryBytes = 48

// releasedLimit gives the released keys a 32nd of the memory, and at
// least room for a few batches.
func releasedLimit(maxBytes int) int { return max(maxBytes/32/releasedEntryBytes, 256) }

func (r *releasedKeys) add(id dedupID, expires uint32) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cur == nil {
		r.cur = make(map[dedupID]uint32)
	}
	if len(r.cur) >= r.limit/2 {
		r.older, r.cur = r.cur, make(map[dedupID]uint32)
	}
	r.cur[id] = expires
}

// take reports whether id was released and not yet expired, and forgets
// it: the caller claims it again.
func (r *releasedKeys) take(id dedupID, now uint32) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range []map[dedupID]uint32{r.cur, r.older} {
		if exp, ok := m[id]; ok {
			delete(m, id)
			return exp > now
		}
	}
	return false
}

func (r *releasedKeys) bytes() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return (len(r.cur) + len(r.older)) * releasedEntryBytes
}

var (
	_ pipeline.Enricher   = (*Dedup)(nil)
	_ pipeline.Releaser   = (*Dedup)(nil)
	_ pipeline.Committer  = (*Dedup)(nil)
	_ pipeline.FieldAdder = (*Dedup)(nil)
)
