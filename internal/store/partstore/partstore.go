package partstore

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
)

// Options tune the store; the zero value is the default.
type Options struct {
	// Synchronous is SQLite's synchronous setting of the partition being
	// written: "FULL" (default) makes each Insert durable before it
	// returns.
	Synchronous string
	// BlockEvents is how many events are compressed together (default
	// 128, at most 256). 1 is variant A1: one compressed record per row.
	BlockEvents int
	// PartitionEvents seals a partition once it holds this many events
	// (default 524,288): it bounds the memory of the hot partition's copy
	// and the work of one CREATE INDEX.
	PartitionEvents int
	// MaxHot is how many partitions (observation days) may be open for
	// writing at once (default 2); a new day beyond it seals the one
	// written least recently.
	MaxHot int
	// ZstdLevel is the compression level (default zstd.SpeedFastest).
	ZstdLevel zstd.EncoderLevel
	// DictionaryEvents, when above 0, makes the records of the first
	// DictionaryEvents events of each partition its zstd dictionary (a raw
	// one: the records themselves, kept in the partition's summary
	// table). What a block of 128 gains from repetition between its
	// records, a small block then gains from the dictionary, and a search
	// decompresses a small block per event it returns.
	DictionaryEvents int
}

func (o *Options) defaults() error {
	switch strings.ToUpper(o.Synchronous) {
	case "":
		o.Synchronous = "FULL"
	case "FULL", "NORMAL", "OFF":
		o.Synchronous = strings.ToUpper(o.Synchronous)
	default:
		return fmt.Errorf("partstore: synchronous %q: want FULL, NORMAL or OFF", o.Synchronous)
	}
	if o.BlockEvents <= 0 {
		o.BlockEvents = 128
	}
	if o.BlockEvents > 256 {
		return fmt.Errorf("partstore: %d events a block: at most 256 fit a block's slot", o.BlockEvents)
	}
	if o.PartitionEvents <= 0 {
		o.PartitionEvents = 1 << 19
	}
	if o.MaxHot <= 0 {
		o.MaxHot = 2
	}
	if o.ZstdLevel == 0 {
		o.ZstdLevel = zstd.SpeedFastest
	}
	return nil
}

// Store is a directory of partitions.
type Store struct {
	dir  string
	opts Options
	enc  *zstd.Encoder
	dec  *zstd.Decoder

	// insert serializes writers: each partition has one writing
	// connection, and a partition fills in the order batches arrive.
	insert sync.Mutex

	// mu guards parts, hot, the partitions' entries and summaries, seq
	// and sealErr.
	mu      sync.RWMutex
	parts   []*partition
	hot     map[string]*partition // observation day → partition written
	seq     int
	writes  int64 // counts writes, so the least recently written partition is known
	sealErr error
	sealing sync.WaitGroup
}

// Open opens (creating if needed) the store in dir. Unsealed partitions
// are loaded into memory; all but the newest of each day are sealed in
// the background.
func Open(ctx context.Context, dir string, opts Options) (*Store, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("partstore: open %s: %w", dir, err)
	}
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(opts.ZstdLevel),
		zstd.WithEncoderConcurrency(runtime.GOMAXPROCS(0)), zstd.WithLowerEncoderMem(true))
	if err != nil {
		return nil, fmt.Errorf("partstore: open %s: %w", dir, err)
	}
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(0))
	if err != nil {
		return nil, fmt.Errorf("partstore: open %s: %w", dir, err)
	}
	s := &Store{dir: dir, opts: opts, enc: enc, dec: dec, hot: map[string]*partition{}}
	names, err := filepath.Glob(filepath.Join(dir, "*.db"))
	if err != nil {
		return nil, fmt.Errorf("partstore: open %s: %w", dir, err)
	}
	for _, name := range names {
		day, seqText, ok := strings.Cut(strings.TrimSuffix(filepath.Base(name), ".db"), "-")
		seq, err := strconv.Atoi(seqText)
		if !ok || err != nil || len(day) != 8 {
			continue // not a partition of ours
		}
		p, err := s.openPartition(ctx, name, day, seq)
		if err != nil {
			s.Close()
			return nil, err
		}
		s.parts = append(s.parts, p)
		s.seq = max(s.seq, seq)
	}
	slices.SortFunc(s.parts, func(a, b *partition) int { return cmp.Compare(a.seq, b.seq) })
	for _, p := range s.parts {
		if p.sealed {
			continue
		}
		if old, ok := s.hot[p.day]; ok {
			s.sealLater(old)
		}
		s.hot[p.day] = p
	}
	for len(s.hot) > opts.MaxHot {
		s.sealLater(s.leastRecent())
	}
	return s, nil
}

// Close waits for sealing in progress and closes every partition. Hot
// partitions stay unsealed: sealing is work for a store that goes on.
func (s *Store) Close() error {
	s.insert.Lock()
	defer s.insert.Unlock()
	s.sealing.Wait()
	var errs []error
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.parts {
		errs = append(errs, p.close())
	}
	errs = append(errs, s.sealErr)
	s.enc.Close()
	s.dec.Close()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("partstore: close: %w", err)
	}
	return nil
}

// Wait waits for partitions being sealed, and returns the first error a
// sealing met.
func (s *Store) Wait() error {
	s.sealing.Wait()
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.sealErr
}

// SealAll seals every hot partition and waits (tests and bulk loads).
func (s *Store) SealAll() error {
	s.insert.Lock()
	for _, p := range s.hot {
		s.sealLater(p)
	}
	s.insert.Unlock()
	return s.Wait()
}

// observationDay is the partition day of e: its time.observation, else
// the time it is stored.
func observationDay(e *event.Event, now time.Time) string {
	t, ok := e.Time("time.observation")
	if !ok {
		t = now
	}
	return t.UTC().Format("20060102")
}

// Insert stores events, one transaction per partition they fall in (one
// for a batch of one observation day), durable when it returns.
func (s *Store) Insert(ctx context.Context, events []*event.Event) error {
	if len(events) == 0 {
		return nil
	}
	s.insert.Lock()
	defer s.insert.Unlock()
	now := time.Now()
	var (
		days   []string
		byDay  = map[string][]*event.Event{}
		single = true
		first  = observationDay(events[0], now)
	)
	for _, e := range events[1:] {
		if observationDay(e, now) != first {
			single = false
			break
		}
	}
	if single {
		days, byDay[first] = []string{first}, events
	} else {
		for _, e := range events {
			d := observationDay(e, now)
			if _, ok := byDay[d]; !ok {
				days = append(days, d)
			}
			byDay[d] = append(byDay[d], e)
		}
	}
	for _, day := range days {
		rest := byDay[day]
		for len(rest) > 0 {
			p, err := s.hotPartition(ctx, day)
			if err != nil {
				return err
			}
			s.mu.RLock()
			room := s.opts.PartitionEvents - len(p.entries)
			s.mu.RUnlock()
			take := rest[:min(room, len(rest))]
			rest = rest[len(take):]
			if err := s.write(ctx, p, take, now); err != nil {
				return fmt.Errorf("partstore: insert into %s: %w", filepath.Base(p.file), err)
			}
			if room == len(take) {
				s.sealLater(p)
			}
		}
	}
	return nil
}

// hotPartition returns the partition day's events are written to,
// creating it (and sealing the least recently written one beyond MaxHot).
func (s *Store) hotPartition(ctx context.Context, day string) (*partition, error) {
	s.mu.RLock()
	p, ok := s.hot[day]
	s.mu.RUnlock()
	if ok {
		return p, nil
	}
	s.mu.Lock()
	s.seq++
	seq := s.seq
	s.mu.Unlock()
	file := filepath.Join(s.dir, fmt.Sprintf("%s-%06d.db", day, seq))
	p, err := s.openPartition(ctx, file, day, seq)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.parts = append(s.parts, p)
	s.hot[day] = p
	s.writes++
	p.lastWrite = s.writes // the newest: not the one to seal for room
	s.mu.Unlock()
	for len(s.hot) > s.opts.MaxHot {
		s.sealLater(s.leastRecent())
	}
	return p, nil
}

func (s *Store) leastRecent() *partition {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var old *partition
	for _, p := range s.hot {
		if old == nil || p.lastWrite < old.lastWrite {
			old = p
		}
	}
	return old
}

// sealLater takes p out of the hot set and seals it in the background.
// The caller holds s.insert (or is Open), so no write to p is under way.
func (s *Store) sealLater(p *partition) {
	s.mu.Lock()
	if s.hot[p.day] == p {
		delete(s.hot, p.day)
	}
	s.mu.Unlock()
	s.sealing.Add(1)
	go func() {
		defer s.sealing.Done()
		if err := s.seal(context.Background(), p); err != nil {
			s.mu.Lock()
			s.sealErr = cmp.Or(s.sealErr, fmt.Errorf("seal %s: %w", filepath.Base(p.file), err))
			s.mu.Unlock()
		}
	}()
}

// Get returns the event stored under hash.
func (s *Store) Get(ctx context.Context, hash event.Hash) (store.StoredEvent, error) {
	h := hashKey(hash)
	s.mu.RLock()
	type cand struct {
		p   *partition
		ids []int64
	}
	var cands []cand
	for i := len(s.parts) - 1; i >= 0; i-- {
		p := s.parts[i]
		if !p.sealed {
			var ids []int64
			for j := range p.entries {
				if p.entries[j].h == h {
					ids = append(ids, p.entries[j].id)
				}
			}
			if ids != nil {
				cands = append(cands, cand{p, ids})
			}
			continue
		}
		if p.sum.hashes.has(hash[:8]) {
			cands = append(cands, cand{p: p})
		}
	}
	s.mu.RUnlock()
	for _, c := range cands {
		ids := c.ids
		if ids == nil {
			db, err := c.p.reader()
			if err != nil {
				return store.StoredEvent{}, fmt.Errorf("partstore: get %s: %w", hash, err)
			}
			ids, err = queryIDs(ctx, db, `SELECT id FROM events WHERE h = ?`, int64(h))
			if err != nil {
				return store.StoredEvent{}, fmt.Errorf("partstore: get %s: %w", hash, err)
			}
		}
		if len(ids) == 0 {
			continue
		}
		found, err := s.fetch(ctx, c.p, ids)
		if err != nil {
			return store.StoredEvent{}, fmt.Errorf("partstore: get %s: %w", hash, err)
		}
		for _, id := range ids {
			if se, ok := found[id]; ok && se.Event.Hash() == hash {
				se.Hash = hash
				return se, nil
			}
		}
	}
	return store.StoredEvent{}, store.ErrNotFound
}

// hashKey is the part of a hash kept in each row: enough to find the one
// or two rows whose whole hash is then compared.
func hashKey(h event.Hash) uint64 { return binary.BigEndian.Uint64(h[:8]) }
