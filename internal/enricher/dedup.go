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
	"github.com/vigil-cert/vigil/internal/pipeline"
	"github.com/vigil-cert/vigil/internal/store"
)

func init() {
	pipeline.RegisterEnricher("dedup",
		"drop events seen within a window (options: window, filter_keys, max_keys)",
		func(env pipeline.Env, opts pipeline.Options) (pipeline.Enricher, error) {
			cfg := DedupConfig{Window: DefaultDedupWindow, MaxKeys: DefaultDedupMaxKeys}
			if err := opts.Decode(&cfg); err != nil {
				return nil, fmt.Errorf("dedup: %w", err)
			}
			return NewDedup(context.Background(), cfg, env)
		})
}

// Defaults of the dedup enricher.
const (
	DefaultDedupWindow  = 24 * time.Hour
	DefaultDedupMaxKeys = 10_000_000

	// dedupPruneEvery is how often expired keys leave memory, and
	// dedupStorePruneEvery how often they leave the store.
	dedupPruneEvery      = 5 * time.Minute
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
	// MaxKeys bounds memory; see Dedup.
	MaxKeys int `opt:"max_keys"`
}

// dedupShardCount spreads keys over independently locked maps so that
// concurrent batches rarely wait for each other.
const dedupShardCount = 64

// dedupID is the first half of the SHA-256 dedup key. 128 bits keep the
// chance of two different events colliding below 1e-20 even for billions of
// keys, and halve the memory of each key.
type dedupID [16]byte

type dedupShard struct {
	mu sync.Mutex
	// keys maps a key to its expiry in Unix seconds (uint32 lasts until
	// 2106), the smallest value that serves.
	keys map[dedupID]uint32
	_    [40]byte // keep neighbouring shards' locks off one cache line
}

// Dedup drops events whose key (event.HashExcept of the filter keys) was
// claimed within the window, by an earlier batch or earlier in the same
// batch, and counts them in Batch.Duplicates. The keys it claims go to
// Batch.Dedup, so the store output commits them with the events: the window
// survives a restart (keys are loaded back at construction), and a crash
// before the commit forgets the claim together with the events, so a
// redelivered batch is not dropped.
//
// Memory: each key costs a 16-byte ID and a 4-byte expiry in a Go map, 24
// to 48 bytes depending on how full the map's tables are (measured by
// BenchmarkDedupMemory: about 45 bytes). MaxKeys bounds the total: at the
// limit expired keys are pruned at once and, if that is not enough, a
// sixteenth of the keys of the full shard are forgotten early — letting
// some duplicates through rather than running out of memory.
type Dedup struct {
	window      time.Duration
	skip        map[string]bool
	maxPerShard int
	store       store.Dedup
	logger      *slog.Logger
	now         func() time.Time

	shards     [dedupShardCount]dedupShard
	prune      *periodic
	storePrune *periodic
	warnedFull atomic.Bool
}

// NewDedup builds a deduplicator and loads the unexpired keys from
// env.Store when there is one.
func NewDedup(ctx context.Context, cfg DedupConfig, env pipeline.Env) (*Dedup, error) {
	if cfg.Window < time.Second {
		return nil, fmt.Errorf("dedup: window %v is shorter than a second", cfg.Window)
	}
	if cfg.MaxKeys <= 0 {
		cfg.MaxKeys = DefaultDedupMaxKeys
	}
	d := &Dedup{
		window:      cfg.Window,
		maxPerShard: max(cfg.MaxKeys/dedupShardCount, 1),
		logger:      env.Logger,
		now:         env.Now,
	}
	if d.logger == nil {
		d.logger = slog.New(slog.DiscardHandler)
	}
	if d.now == nil {
		d.now = time.Now
	}
	if len(cfg.FilterKeys) > 0 {
		d.skip = make(map[string]bool, len(cfg.FilterKeys))
		for _, k := range cfg.FilterKeys {
			if _, ok := event.KindOf(k); !ok {
				return nil, fmt.Errorf("dedup: filter_keys: %q is not a harmonized field name", k)
			}
			d.skip[k] = true
		}
	}
	for i := range d.shards {
		d.shards[i].keys = make(map[dedupID]uint32)
	}
	now := d.now()
	d.prune = newPeriodic(min(dedupPruneEvery, cfg.Window), now)
	if env.Store != nil {
		d.store = env.Store
		d.storePrune = newPeriodic(dedupStorePruneEvery, now)
		loaded := 0
		err := env.Store.LoadDedupKeys(ctx, now, func(k store.DedupKey) {
			id, sh := d.locate(k.Key)
			exp := unixSeconds(k.Expires)
			if exp > sh.keys[id] {
				sh.keys[id] = exp
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

func (d *Dedup) locate(h event.Hash) (dedupID, *dedupShard) {
	var id dedupID
	copy(id[:], h[:16])
	// The shard comes from the half not kept in the ID, so every bit of
	// the ID still tells keys apart within a shard.
	return id, &d.shards[h[31]%dedupShardCount]
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

// Enrich implements pipeline.Enricher.
func (d *Dedup) Enrich(_ context.Context, b *pipeline.Batch) error {
	now := d.now()
	nowSec := unixSeconds(now)
	expires := unixSeconds(now.Add(d.window))
	expiresAt := time.Unix(int64(expires), 0).UTC()
	b.Dedup = slices.Grow(b.Dedup, len(b.Events))
	kept := b.Events[:0]
	for _, e := range b.Events {
		h := d.Key(e)
		if !d.claim(h, nowSec, expires) {
			b.Duplicates++
			continue
		}
		kept = append(kept, e)
		b.Dedup = append(b.Dedup, store.DedupKey{Key: h, Expires: expiresAt})
	}
	clear(b.Events[len(kept):]) // let the garbage collector have the dropped events
	b.Events = kept
	d.housekeeping(now)
	return nil
}

// claim records h until expires unless an unexpired claim exists; it
// reports whether the caller now holds the claim.
func (d *Dedup) claim(h event.Hash, now, expires uint32) bool {
	id, sh := d.locate(h)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if exp, ok := sh.keys[id]; ok && exp > now {
		return false
	}
	if len(sh.keys) >= d.maxPerShard {
		d.makeRoom(sh, now)
	}
	sh.keys[id] = expires
	return true
}

// makeRoom frees space in a full shard; the caller holds its lock.
func (d *Dedup) makeRoom(sh *dedupShard, now uint32) {
	for id, exp := range sh.keys {
		if exp <= now {
			delete(sh.keys, id)
		}
	}
	if len(sh.keys) < d.maxPerShard*15/16 {
		return
	}
	if d.warnedFull.CompareAndSwap(false, true) {
		d.logger.Warn("dedup key limit reached: forgetting keys before they expire, some duplicates will pass; raise max_keys or shorten the window",
			"max_keys", d.maxPerShard*dedupShardCount)
	}
	drop := len(sh.keys) / 16
	for id := range sh.keys { // map order is unspecified: an arbitrary sixteenth
		if drop == 0 {
			break
		}
		delete(sh.keys, id)
		drop--
	}
}

// Release gives up the claims a batch made, for a runner whose outputs
// failed to store it: the batch will be delivered again and its events must
// not then count as duplicates of themselves. A claim renewed meanwhile by
// another batch (a different expiry) is kept.
func (d *Dedup) Release(b *pipeline.Batch) {
	for _, k := range b.Dedup {
		id, sh := d.locate(k.Key)
		exp := unixSeconds(k.Expires)
		sh.mu.Lock()
		if sh.keys[id] == exp {
			delete(sh.keys, id)
		}
		sh.mu.Unlock()
	}
}

// Len is the number of keys held in memory, expired ones not yet pruned
// included.
func (d *Dedup) Len() int {
	n := 0
	for i := range d.shards {
		sh := &d.shards[i]
		sh.mu.Lock()
		n += len(sh.keys)
		sh.mu.Unlock()
	}
	return n
}

func (d *Dedup) housekeeping(now time.Time) {
	if d.prune.start(now) {
		go func() {
			defer d.prune.done()
			d.pruneMemory(now)
		}()
	}
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

// pruneMemory drops expired keys one shard at a time, so a batch waits at
// most for one shard's scan.
func (d *Dedup) pruneMemory(now time.Time) int {
	nowSec := unixSeconds(now)
	pruned := 0
	for i := range d.shards {
		sh := &d.shards[i]
		sh.mu.Lock()
		for id, exp := range sh.keys {
			if exp <= nowSec {
				delete(sh.keys, id)
				pruned++
			}
		}
		sh.mu.Unlock()
	}
	return pruned
}

var _ pipeline.Enricher = (*Dedup)(nil)
