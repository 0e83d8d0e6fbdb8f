package sqlitestore

// Searching a sealed partition's compact rows: its list of host names,
// the ids its keys name, and its column chunks read a window at a time.

import (
	"context"
	"database/sql"
	"slices"
	"strings"
)

// searchNames offers a sealed partition's first matches to top, read
// through its list of host names: those within f's range, in the order
// of the search (offerMerged).
func (ps *parts) searchNames(ctx context.Context, p *partition, f *partFilter, top *topHits) error {
	ps.sealedAsked.Add(1)
	var list []posting
	err := ps.searchStmts.each(ctx, ps.s.read, `SELECT ts, id FROM `+p.table+`_names WHERE name >= ? AND name < ?`, []any{f.from, f.to},
		func(rows *sql.Rows) error {
			var e posting
			err := rows.Scan(&e.ts, &e.id)
			list = append(list, e)
			return err
		})
	if err != nil {
		return err
	}
	return ps.offerMerged(ctx, p, f, top, list, 2)
}

// chunkSearch is what offerChunks learns of a sealed partition once and
// keeps across the lists of postings of one search of it (the chunks by
// time of searchTimes): the ids of f's URL or malware hash, those of f's
// organisation, and the last chunk decoded.
type chunkSearch struct {
	keyed    map[int64]bool // nil before read or without URL or hash
	keyedSet bool
	org      map[int64]bool // nil before the first row to test
	rows     []sealedRow
	buf      []byte
	ids      []int64           // chunkHits's, reused
	hits     map[int64]partHit // chunkHits's, reused
}

// keyIDs returns the ids of sealed partition p whose _keys list value
// under one of kinds.
func (ps *parts) keyIDs(ctx context.Context, p *partition, value string, kinds ...any) (map[int64]bool, error) {
	ids := map[int64]bool{}
	text := `SELECT id FROM ` + p.table + `_keys WHERE value = ? AND kind IN (?` + strings.Repeat(", ?", len(kinds)-1) + `)`
	err := ps.searchStmts.each(ctx, ps.s.read, text, append([]any{value}, kinds...), func(rows *sql.Rows) error {
		var id int64
		err := rows.Scan(&id)
		ids[id] = true
		return err
	})
	return ids, err
}

// keyedIDs returns the events of p with f's URL and malware hash (both
// when f has both), read once a search of p; nil when f has neither.
func (ps *parts) keyedIDs(ctx context.Context, p *partition, f *partFilter, cs *chunkSearch) (map[int64]bool, error) {
	if cs.keyedSet || (f.url == "" && f.hash == "") {
		return cs.keyed, nil
	}
	var keyed map[int64]bool
	if f.url != "" {
		ids, err := ps.keyIDs(ctx, p, f.url, keySourceURL, keyDestinationURL)
		if err != nil {
			return nil, err
		}
		keyed = ids
	}
	if f.hash != "" && (keyed == nil || len(keyed) > 0) {
		ids, err := ps.keyIDs(ctx, p, f.hash, f.hashKind)
		if err != nil {
			return nil, err
		}
		if keyed != nil {
			for id := range keyed {
				if !ids[id] {
					delete(keyed, id)
				}
			}
		} else {
			keyed = ids
		}
	}
	cs.keyed, cs.keyedSet = keyed, true
	return keyed, nil
}

// offerChunks is offerPostings for a partition sealed as rowsVersion or
// later: the rows of the ids of keep read from their chunks a window of
// ids at a time (chunkHits) and tested in full by f, then offered in the
// order of the search, until the next id could not enter top (stopped).
// cs is the search's of p. Read one at a time in the search's order, ids
// of events not stored in time order would decode a chunk each.
func (ps *parts) offerChunks(ctx context.Context, p *partition, f *partFilter, top *topHits, keep []posting, cs *chunkSearch) (stopped bool, err error) {
	if !f.cols && f.listAnswers() {
		// The list answered all of f: no row read.
		for _, e := range keep {
			h := partHit{ts: e.ts + p.base, id: e.id}
			if top.full() && top.compare(h, top.worst()) >= 0 {
				return true, nil
			}
			top.offer(h, false)
		}
		return false, nil
	}
	keyed, err := ps.keyedIDs(ctx, p, f, cs)
	if err != nil {
		return false, err
	}
	if keyed != nil && len(keyed) == 0 {
		return false, nil
	}
	window := firstChunkWindow
	for start := 0; start < len(keep); {
		// The next postings that could enter top, at most window of
		// them: top only narrows, so the first that could not enter
		// ends the search of p.
		end, stop := min(start+window, len(keep)), false
		for i := start; i < end; i++ {
			if top.full() && top.compare(partHit{ts: keep[i].ts + p.base, id: keep[i].id}, top.worst()) >= 0 {
				end, stop = i, true
				break
			}
		}
		hits, err := ps.chunkHits(ctx, p, f, keep[start:end], keyed, cs)
		if err != nil {
			return false, err
		}
		for _, e := range keep[start:end] {
			if top.full() && top.compare(partHit{ts: e.ts + p.base, id: e.id}, top.worst()) >= 0 {
				return true, nil // this id and the rest could not enter
			}
			if h, ok := hits[e.id]; ok {
				top.offer(h, false)
			}
		}
		if stop {
			return true, nil
		}
		start, window = end, min(2*window, maxChunkWindow)
	}
	return false, nil
}

// A search reads the rows of its postings a window at a time (offerChunks):
// the first window small, so that a search that stops soon reads little,
// each next one twice the last, up to maxChunkWindow.
const (
	firstChunkWindow = 64
	maxChunkWindow   = 4096
)

// chunkHits returns the hits of the events of window (postings of sealed
// partition p, sealed as rowsVersion or later) that f matches in full,
// keyed (when not nil) holds and f's organisation owns, by id. The ids are
// read in order of id, so each chunk is decoded once a window, however
// the search's order (by time) lays them over the chunks; the last chunk
// decoded is kept in cs for the next window.
func (ps *parts) chunkHits(ctx context.Context, p *partition, f *partFilter, window []posting, keyed map[int64]bool, cs *chunkSearch) (map[int64]partHit, error) {
	ids := cs.ids[:0]
	for _, e := range window {
		if keyed == nil || keyed[e.id] {
			ids = append(ids, e.id)
		}
	}
	slices.Sort(ids)
	cs.ids = ids
	if cs.hits == nil {
		cs.hits = map[int64]partHit{}
	}
	hits := cs.hits
	clear(hits)
	for _, id := range ids {
		rows := cs.rows
		if len(rows) == 0 || id < rows[0].id || id > rows[len(rows)-1].id {
			var err error
			if cs.rows, cs.buf, _, err = ps.chunkAt(ctx, p, id, chunkAll, cs.rows, cs.buf); err != nil {
				return nil, err
			}
			rows = cs.rows
		}
		r := findRow(rows, id)
		if r == nil || !f.matchRow(&r.hotRow) || !f.matchNames(r.src, r.dst) {
			continue
		}
		if f.org != "" {
			if cs.org == nil {
				// The organisation's events of p, read at its first
				// row to test.
				ps.mu.RLock()
				tmin, tmax := p.sum.tmin, p.sum.tmax
				ps.mu.RUnlock()
				var err error
				if cs.org, err = ps.orgIDs(ctx, f.org, p.firstID, tmin, tmax); err != nil {
					return nil, err
				}
			}
			if !cs.org[r.id] {
				continue
			}
		}
		hits[id] = partHit{ts: r.ts, id: r.id, srcIP: r.srcKey(), srcASN: int64(r.srcASN), typ: int64(r.typ), fd: int64(r.feed)}
	}
	return hits, nil
}
