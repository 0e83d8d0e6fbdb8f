package eventstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"

	"github.com/cockroachdb/pebble/v2"

	"github.com/vigil-cert/vigil/internal/store"
)

// query is an EventQuery prepared for matching stored events.
type query struct {
	q           store.EventQuery
	from, to    int64 // time.source in [from, to), Unix µs
	ip          store.IPKey
	first, last [16]byte // q.Prefix
	fqdnFrom    string
	fqdnTo      string
	cursor      *store.Cursor
}

func prepare(q store.EventQuery) (*query, error) {
	if q.URL != "" || q.Hash != "" || q.Organisation != "" || (q.Sort != "" && q.Sort != store.SortTime) || q.Ascending {
		return nil, ErrUnsupported
	}
	p := &query{q: q, from: math.MinInt64, to: math.MaxInt64}
	if !q.From.IsZero() {
		p.from = q.From.UnixMicro()
	}
	if !q.To.IsZero() {
		p.to = q.To.UnixMicro()
	}
	if q.IP.IsValid() {
		p.ip = store.MakeIPKey(q.IP)
	}
	if q.Prefix.IsValid() {
		p.first, p.last = store.PrefixRange(q.Prefix)
	}
	if q.FQDN != "" {
		p.fqdnFrom, p.fqdnTo = store.FQDNRange(q.FQDN)
	}
	if q.After != "" {
		c, err := store.ParseCursor(q.After)
		if err != nil {
			return nil, err
		}
		p.cursor = &c
	}
	return p, nil
}

// after reports whether an entry comes after the cursor in page order.
func (p *query) after(micros int64, r ref) bool {
	if p.cursor == nil {
		return true
	}
	return micros < p.cursor.TimeSource || (micros == p.cursor.TimeSource && int64(r) < p.cursor.ID)
}

func (p *query) inPrefix(k store.IPKey) bool {
	b := k.Bytes()
	return b != nil && bytes.Compare(b, p.first[:]) >= 0 && bytes.Compare(b, p.last[:]) <= 0
}

func (p *query) inDomain(rname string) bool {
	return rname != "" && rname >= p.fqdnFrom && rname < p.fqdnTo
}

// matches is the query over an event's columns, the same test the SQL
// stores make; it checks what the index read did not.
func (p *query) matches(c *store.EventColumns) bool {
	q := &p.q
	switch {
	case c.TimeSource < p.from || c.TimeSource >= p.to:
		return false
	case q.IP.IsValid() && c.SrcIP != p.ip && c.DstIP != p.ip:
		return false
	case q.Prefix.IsValid() && !p.inPrefix(c.SrcIP) && !p.inPrefix(c.DstIP):
		return false
	case q.ASN != 0 && c.SrcASN != int64(q.ASN) && c.DstASN != int64(q.ASN):
		return false
	case q.FQDN != "" && !p.inDomain(c.SrcFQDN) && !p.inDomain(c.DstFQDN):
		return false
	case q.Feed != "" && c.Feed != q.Feed, q.Taxonomy != "" && c.Taxonomy != q.Taxonomy,
		q.Type != "" && c.Type != q.Type, q.TLP != "" && c.TLP != q.TLP:
		return false
	}
	return true
}

// candidates yields refs in page order, possibly more than match.
type candidates interface {
	next(n int) ([]ref, error)
	close()
}

// rangeCandidates reads one index's key range, which is in page order.
type rangeCandidates struct {
	it   *pebble.Iterator
	p    *query
	seen map[ref]bool
}

func (s *Store) indexRange(p *query, prefix []byte) (*rangeCandidates, error) {
	lower, upper := entryBounds(prefix, p.from, p.to)
	if c := p.cursor; c != nil {
		k := appendEntry(append([]byte(nil), prefix...), c.TimeSource, ref(c.ID))
		if k = append(k, 0); bytes.Compare(k, lower) > 0 {
			lower = k
		}
	}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return nil, fmt.Errorf("eventstore: search: %w", err)
	}
	it.First()
	return &rangeCandidates{it: it, p: p, seen: map[ref]bool{}}, nil
}

func (rc *rangeCandidates) next(n int) ([]ref, error) {
	var out []ref
	for ; len(out) < n && rc.it.Valid(); rc.it.Next() {
		_, r := entryOf(rc.it.Key())
		if !rc.seen[r] {
			rc.seen[r] = true
			out = append(out, r)
		}
	}
	return out, rc.it.Error()
}

func (rc *rangeCandidates) close() { rc.it.Close() }

// listCandidates is a list sorted beforehand: the entries of a network,
// which the address index holds in address order.
type listCandidates struct{ refs []ref }

func (lc *listCandidates) next(n int) ([]ref, error) {
	n = min(n, len(lc.refs))
	out := lc.refs[:n]
	lc.refs = lc.refs[n:]
	return out, nil
}

func (lc *listCandidates) close() {}

// prefixCandidates collects every entry of the addresses in p.Prefix in
// the time range, sorted newest first.
func (s *Store) prefixCandidates(p *query) (*listCandidates, error) {
	lower := append([]byte{spaceIP}, p.first[:]...)
	upper := prefixEnd(append([]byte{spaceIP}, p.last[:]...))
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return nil, fmt.Errorf("eventstore: search: %w", err)
	}
	defer it.Close()
	type entry struct{ tail [16]byte }
	var entries []entry
	for it.First(); it.Valid(); it.Next() {
		micros, r := entryOf(it.Key())
		if micros < p.from || micros >= p.to || !p.after(micros, r) {
			continue
		}
		var e entry
		copy(e.tail[:], it.Key()[len(it.Key())-16:])
		entries = append(entries, e)
	}
	if err := it.Error(); err != nil {
		return nil, fmt.Errorf("eventstore: search: %w", err)
	}
	slices.SortFunc(entries, func(a, b entry) int { return bytes.Compare(a.tail[:], b.tail[:]) })
	lc := &listCandidates{refs: make([]ref, 0, len(entries))}
	for i, e := range entries {
		if i > 0 && e == entries[i-1] {
			continue // an event with both sides in the network
		}
		_, r := entryOf(e.tail[:])
		lc.refs = append(lc.refs, r)
	}
	return lc, nil
}

// Search returns the first page of events q selects, newest time.source
// first. It reads the index of the most selective criterion (address,
// domain, AS, network, else time) and checks the rest on the events.
func (s *Store) Search(ctx context.Context, q store.EventQuery) (store.EventPage, error) {
	p, err := prepare(q)
	if err != nil {
		return store.EventPage{}, err
	}
	limit := store.PageLimit(q.Limit)
	var src candidates
	switch {
	case q.IP.IsValid():
		src, err = s.indexRange(p, append([]byte{spaceIP}, p.ip.Bytes()...))
	case q.FQDN != "":
		src, err = s.indexRange(p, append(append([]byte{spaceFQDN}, p.fqdnFrom...), 0))
	case q.ASN != 0:
		src, err = s.indexRange(p, binary.BigEndian.AppendUint32([]byte{spaceASN}, q.ASN))
	case q.Prefix.IsValid():
		src, err = s.prefixCandidates(p)
	default:
		src, err = s.indexRange(p, []byte{spaceTime})
	}
	if err != nil {
		return store.EventPage{}, err
	}
	defer src.close()

	var page store.EventPage
	var last ref
	var lastTime int64
	blocks := map[uint64]*decodedBlock{}
	for want := limit + 1; len(page.Events) <= limit; want *= 2 {
		if err := ctx.Err(); err != nil {
			return store.EventPage{}, err
		}
		refs, err := src.next(want)
		if err != nil {
			return store.EventPage{}, err
		}
		if len(refs) == 0 {
			break
		}
		if err := s.readBlocks(blocks, refs); err != nil {
			return store.EventPage{}, err
		}
		for _, r := range refs {
			se, err := s.load(blocks, r)
			if err != nil {
				return store.EventPage{}, err
			}
			c := store.ExtractColumns(se.Event, se.Stored)
			if !p.matches(&c) {
				continue
			}
			if len(page.Events) == limit {
				page.Next = store.Cursor{TimeSource: lastTime, ID: int64(last)}.String()
				return page, nil
			}
			page.Events = append(page.Events, se)
			last, lastTime = r, c.TimeSource
		}
		want = min(want, 4096)
	}
	return page, nil
}

// readBlocks reads the blocks of refs not in blocks yet, on all cores:
// decompressing them is most of a search's time.
func (s *Store) readBlocks(blocks map[uint64]*decodedBlock, refs []ref) error {
	var seqs []uint64
	for _, r := range refs {
		if blocks[r.seq()] == nil && !slices.Contains(seqs, r.seq()) {
			seqs = append(seqs, r.seq())
		}
	}
	read := make([]*decodedBlock, len(seqs))
	errs := make([]error, len(seqs))
	var wg sync.WaitGroup
	workers := min(runtime.GOMAXPROCS(0), len(seqs))
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(seqs); i += workers {
				read[i], errs[i] = s.readBlock(seqs[i])
			}
		}()
	}
	wg.Wait()
	for i, seq := range seqs {
		if errs[i] != nil {
			return errs[i]
		}
		blocks[seq] = read[i]
	}
	return nil
}
