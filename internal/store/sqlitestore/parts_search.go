package sqlitestore

// Searching the parts layout. A search asks every partition whose
// summary can match (time range, Bloom filters) for its first matches in
// the order asked, from the newest partition down (the oldest up when
// ascending), and stops at a partition that can only hold events past the
// page found so far. An unsealed partition is scanned in memory, a sealed
// one asked through its indexes. Sorts by another column than time,
// counts and groupings work on the newest store.SearchWindow matches, in
// Go, as the contract says (internal/store/table.go).

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

// partHit is a match, with what the window sorts and groupings read.
type partHit struct {
	ts, id          int64
	srcIP           store.IPKey
	srcASN, typ, fd int64
}

// partView is a partition as one search saw it.
type partView struct {
	p        *partition
	sealed   bool
	sealedAs int // partition.sealedAs
	hot      hotSnap
	sum      partSummary
}

// match returns the first limit events q matches after the keyset cursor
// after, newest first (oldest first with asc). With cols, each hit has
// its columns (source address and AS number, type, feed) for a sort by
// them or a grouping; without, a hit from a sealed partition's list may
// have its time and id only.
func (ps *parts) match(ctx context.Context, q store.EventQuery, after *store.Cursor, asc bool, limit int, cols bool) ([]partHit, error) {
	f := ps.newFilter(q, after, asc)
	f.cols = cols
	if f.noMatch || limit <= 0 {
		return nil, nil
	}
	ps.mu.RLock()
	views := make([]partView, 0, len(ps.list))
	firstHot := int64(-1)
	for _, p := range ps.list {
		v := partView{p: p, sealed: p.sealed, sealedAs: p.sealedAs, hot: p.hot.snap(), sum: p.sum}
		if !v.sealed && firstHot < 0 {
			firstHot = p.firstID
		}
		if f.admits(&v.sum, v.sealed) {
			views = append(views, v)
		}
	}
	ps.mu.RUnlock()
	if asc {
		slices.SortFunc(views, func(a, b partView) int { return cmp.Compare(a.sum.tmin, b.sum.tmin) })
	} else {
		slices.SortFunc(views, func(a, b partView) int { return cmp.Compare(b.sum.tmax, a.sum.tmax) })
	}
	// The hot partitions' time range bounds the organisation's index
	// entries read for them.
	var hotMin, hotMax int64
	hotSeen := false
	for i := range views {
		if v := &views[i]; !v.sealed && v.sum.count > 0 {
			if !hotSeen || v.sum.tmin < hotMin {
				hotMin = v.sum.tmin
			}
			if !hotSeen || v.sum.tmax > hotMax {
				hotMax = v.sum.tmax
			}
			hotSeen = true
		}
	}
	top := topHits{k: limit, asc: asc}
	seek := orgSeek{org: f.org, asc: asc}
	for _, v := range views {
		if top.full() {
			worst := top.worst().ts
			if (!asc && v.sum.tmax < worst) || (asc && v.sum.tmin > worst) {
				break // this partition and the rest hold only events past the page
			}
		}
		if v.sealed {
			if f.org != "" {
				absent, err := seek.absent(ctx, ps.s.read, &v.sum)
				if err != nil {
					return nil, err
				}
				if absent {
					continue
				}
			}
			search := ps.searchSealed
			switch lead := f.lead(); {
			case v.sealedAs >= addrsVersion && (lead == byIP || lead == byPrefix):
				search = ps.searchAddrs
			case v.sealedAs >= postingsVersion && lead == byASN:
				search = ps.searchPostings
			case v.sealedAs >= postingsVersion && lead == byNone:
				search = ps.searchTimes
			case v.sealedAs >= rowsVersion && lead == byFQDN:
				search = ps.searchNames
			}
			if err := search(ctx, v.p, &f, &top); err != nil {
				return nil, fmt.Errorf("partition %d: %w", v.p.n, err)
			}
			continue
		}
		if f.org != "" && f.orgIDs == nil {
			ids, err := ps.orgIDs(ctx, f.org, firstHot, hotMin, hotMax)
			if err != nil {
				return nil, err
			}
			f.orgIDs = ids
		}
		// Entries are in id order, about time order: walked newest
		// first for a newest-first search, most are refused by one
		// comparison with the last hit kept.
		for j := range v.hot.n {
			i := j
			if !asc {
				i = v.hot.n - 1 - j
			}
			if r := v.hot.row(i); f.match(&v.hot, r) {
				top.offer(partHit{ts: r.ts, id: r.id, srcIP: r.srcKey(), srcASN: int64(r.srcASN), typ: int64(r.typ), fd: int64(r.feed)}, false)
			}
		}
		v.hot.done()
	}
	return top.sorted(), nil
}

// orgIDsSQL reads the organisation's index entries of the hot
// partitions: by org and the time range, which the key (org, time_source,
// event_id) serves as a range, not every entry of the organisation.
const orgIDsSQL = `SELECT event_id FROM event_orgs WHERE org = ? AND time_source >= ? AND time_source <= ? AND event_id >= ?`

// orgIDs returns the ids from first on, of time.source within [tmin,
// tmax], that the index of events by organisation lists under org.
func (ps *parts) orgIDs(ctx context.Context, org string, first, tmin, tmax int64) (map[int64]bool, error) {
	ids := map[int64]bool{}
	err := sqlkit.Each(ctx, ps.s.read, orgIDsSQL, []any{org, tmin, tmax, first},
		func(rows *sql.Rows) error {
			var id int64
			err := rows.Scan(&id)
			ids[id] = true
			return err
		})
	return ids, err
}

// searchSealed offers a sealed partition's first matches to top.
func (ps *parts) searchSealed(ctx context.Context, p *partition, f *partFilter, top *topHits) error {
	ps.sealedAsked.Add(1)
	queries, args := f.sql(p.table, p.base, top.k)
	for i, text := range queries {
		err := ps.searchStmts.each(ctx, ps.s.read, text, args[i], func(rows *sql.Rows) error {
			h, err := scanHit(rows, p.base)
			if err != nil {
				return err
			}
			top.offer(h, len(queries) > 1)
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// scanHit reads a sealed partition's hit from a row of "id, ts, src_ip,
// src_asn, type, feed", its ts made absolute again with the partition's
// base.
func scanHit(rows *sql.Rows, base int64) (partHit, error) {
	var (
		h              partHit
		ip             []byte
		asn, typ, feed sql.NullInt64
	)
	if err := rows.Scan(&h.id, &h.ts, &ip, &asn, &typ, &feed); err != nil {
		return h, err
	}
	h.ts += base
	h.srcIP, h.srcASN, h.typ, h.fd = ipKeyOf(ip), asn.Int64, typ.Int64, feed.Int64
	return h, nil
}

// page reads the events of hits, in their order; a search's results
// carry no Seq (only EventsAfter sets it).
func (ps *parts) page(ctx context.Context, ids []int64) ([]store.StoredEvent, error) {
	out, err := ps.inOrder(ctx, ids)
	for i := range out {
		out[i].Seq = 0
	}
	return out, err
}

// search is SearchEvents.
func (ps *parts) search(ctx context.Context, q store.EventQuery) (store.EventPage, error) {
	if err := ps.refresh(ctx); err != nil {
		return store.EventPage{}, err
	}
	if q.Sort.Windowed() {
		return ps.searchWindow(ctx, q)
	}
	var after *store.Cursor
	if q.After != "" {
		c, err := store.ParseCursor(q.After)
		if err != nil {
			return store.EventPage{}, err
		}
		after = &c
	}
	limit := store.PageLimit(q.Limit)
	hits, err := ps.match(ctx, q, after, q.Ascending, limit+1, false)
	if err != nil {
		return store.EventPage{}, err
	}
	var page store.EventPage
	if len(hits) > limit {
		hits = hits[:limit]
		last := hits[limit-1]
		page.Next = store.Cursor{TimeSource: last.ts, ID: last.id}.String()
	}
	ids := make([]int64, len(hits))
	for i, h := range hits {
		ids[i] = h.id
	}
	page.Events, err = ps.page(ctx, ids)
	return page, err
}

// searchWindow is a sort by a column other than time: the newest
// store.SearchWindow matches at or before the window's top event, ordered
// by the column (events without a value last, IPv4 before IPv6 ascending)
// and then newest first, from an offset.
func (ps *parts) searchWindow(ctx context.Context, q store.EventQuery) (store.EventPage, error) {
	limit := store.PageLimit(q.Limit)
	wc, found, err := store.WindowStart(q.After, func() (store.Cursor, bool, error) {
		first, err := ps.match(ctx, q, nil, false, 1, false)
		if err != nil || len(first) == 0 {
			return store.Cursor{}, false, err
		}
		return store.Cursor{TimeSource: first[0].ts, ID: first[0].id}, true, nil
	})
	if !found {
		return store.EventPage{}, err
	}
	through := wc.Top.Through()
	hits, err := ps.match(ctx, q, &through, false, store.SearchWindow, true)
	if err != nil {
		return store.EventPage{}, err
	}
	ps.mu.RLock()
	names := ps.names
	column := func(h *partHit) (present bool, c func(a, b *partHit) int) {
		switch q.Sort {
		case store.SortSourceIP:
			return h.srcIP.Valid(), func(a, b *partHit) int {
				a6, b6 := !isV4Mapped(a.srcIP.Bytes()), !isV4Mapped(b.srcIP.Bytes())
				if a6 != b6 {
					if a6 {
						return 1
					}
					return -1
				}
				return bytes.Compare(a.srcIP.Bytes(), b.srcIP.Bytes())
			}
		case store.SortSourceASN:
			return h.srcASN != 0, func(a, b *partHit) int { return cmp.Compare(a.srcASN, b.srcASN) }
		case store.SortType:
			return h.typ != 0, func(a, b *partHit) int { return strings.Compare(names[a.typ], names[b.typ]) }
		default:
			return h.fd != 0, func(a, b *partHit) int { return strings.Compare(names[a.fd], names[b.fd]) }
		}
	}
	slices.SortStableFunc(hits, func(a, b partHit) int {
		pa, c := column(&a)
		pb, _ := column(&b)
		if pa != pb {
			if pa {
				return -1
			}
			return 1
		}
		if pa {
			v := c(&a, &b)
			if !q.Ascending {
				v = -v
			}
			if v != 0 {
				return v
			}
		}
		return cmp.Or(cmp.Compare(b.ts, a.ts), cmp.Compare(b.id, a.id))
	})
	ps.mu.RUnlock()
	var ids []int64
	for i := wc.Offset; i < len(hits) && len(ids) <= limit; i++ {
		ids = append(ids, hits[i].id)
	}
	var page store.EventPage
	ids, page.Next = wc.Page(ids, limit)
	page.Events, err = ps.page(ctx, ids)
	return page, err
}

// countMatches is CountMatches.
func (ps *parts) countMatches(ctx context.Context, q store.EventQuery, bound int) (int, error) {
	if err := ps.refresh(ctx); err != nil {
		return 0, err
	}
	hits, err := ps.match(ctx, q, nil, false, max(bound, 0)+1, false)
	return len(hits), err
}

// group is GroupEvents.
func (ps *parts) group(ctx context.Context, q store.EventQuery, by store.GroupKey, top int) ([]store.GroupCount, error) {
	if err := ps.refresh(ctx); err != nil {
		return nil, err
	}
	hits, err := ps.match(ctx, q, nil, false, store.SearchWindow, by != store.GroupOrganisation)
	if err != nil {
		return nil, err
	}
	counts := map[string]int{}
	if by == store.GroupOrganisation {
		ids := make([]int64, len(hits))
		for i, h := range hits {
			ids[i] = h.id
		}
		found, err := ps.eventsByID(ctx, ids)
		if err != nil {
			return nil, err
		}
		for _, se := range found {
			store.CountOrganisations(counts, se.Event)
		}
		return store.TopGroups(by, counts, top), nil
	}
	ps.mu.RLock()
	for _, h := range hits {
		var v string
		switch by {
		case store.GroupSourceIP:
			if h.srcIP.Valid() {
				v = h.srcIP.Addr().String()
			}
		case store.GroupSourceASN:
			if h.srcASN != 0 {
				v = strconv.FormatInt(h.srcASN, 10)
			}
		case store.GroupType:
			v = ps.names[h.typ]
		case store.GroupFeed:
			v = ps.names[h.fd]
		}
		counts[v]++
	}
	ps.mu.RUnlock()
	return store.TopGroups(by, counts, top), nil
}

// postingsChunk is how many ids of a list a query of offerPostings asks
// the rows of: one statement text, the last chunk padded with its last id.
const postingsChunk = 64

// searchPostings offers a sealed partition's first matches to top, read
// through its lists of events by AS number (parts_postings.go): both
// sides' lists of f's number merged in the order of the search, then
// offered (offerPostings).
func (ps *parts) searchPostings(ctx context.Context, p *partition, f *partFilter, top *topHits) error {
	ps.sealedAsked.Add(1)
	var (
		list  []posting
		sides int
		err   error
	)
	err = ps.searchStmts.each(ctx, ps.s.read, `SELECT data FROM `+p.table+`_asn WHERE asn = ?`, []any{f.asn},
		func(rows *sql.Rows) error {
			var data []byte
			if err := rows.Scan(&data); err != nil {
				return err
			}
			sides++
			list, err = ps.readPostings(data, list)
			return err
		})
	if err != nil {
		return err
	}
	return ps.offerMerged(ctx, p, f, top, list, sides)
}

// offerMerged offers the events of lists of postings, appended one after
// the other in list, to top (offerPostings): each list is in (ts, id)
// order, an event in a list once a side; they are merged in the order of
// f, an event of several kept once.
func (ps *parts) offerMerged(ctx context.Context, p *partition, f *partFilter, top *topHits, list []posting, lists int) error {
	if lists > 1 {
		slices.SortFunc(list, comparePostings)
	}
	// An event whose both sides are in one list is there twice, side
	// by side.
	list = slices.CompactFunc(list, func(a, b posting) bool { return a.id == b.id })
	if !f.asc {
		slices.Reverse(list)
	}
	_, err := ps.offerPostings(ctx, p, f, top, list, false, &chunkSearch{})
	return err
}

// searchTimes offers a sealed partition's first matches to top, read
// through its list by time: its chunks from the end the search starts
// at, each offered (offerPostings) until one could not enter top.
func (ps *parts) searchTimes(ctx context.Context, p *partition, f *partFilter, top *topHits) error {
	ps.sealedAsked.Add(1)
	type chunkKey struct{ ts, id int64 }
	var keys []chunkKey
	err := ps.searchStmts.each(ctx, ps.s.read, `SELECT ts, id FROM `+p.table+`_time ORDER BY ts, id`, nil,
		func(rows *sql.Rows) error {
			var k chunkKey
			err := rows.Scan(&k.ts, &k.id)
			keys = append(keys, k)
			return err
		})
	if err != nil {
		return err
	}
	var cs chunkSearch // kept across the chunks
	for j := range keys {
		i := j
		if !f.asc {
			i = len(keys) - 1 - j
		}
		// Chunk i holds the events from its key to the next one's: one
		// wholly before the time bounds or the cursor is skipped, one
		// wholly after them ends the search.
		first := keys[i].ts + p.base
		var last int64 = math.MaxInt64
		if i+1 < len(keys) {
			last = keys[i+1].ts + p.base
		}
		if f.asc {
			if (f.hasTo && first >= f.tTo) || (top.full() && top.worst().ts < first) {
				break
			}
			if (f.hasFrom && last < f.tFrom) || (f.after != nil && last < f.after.TimeSource) {
				continue
			}
		} else {
			if (f.hasFrom && last < f.tFrom) || (top.full() && top.worst().ts > last) {
				break
			}
			if (f.hasTo && first >= f.tTo) || (f.after != nil && first > f.after.TimeSource) {
				continue
			}
		}
		var data []byte
		err := ps.searchStmts.each(ctx, ps.s.read, `SELECT data FROM `+p.table+`_time WHERE ts = ? AND id = ?`, []any{keys[i].ts, keys[i].id},
			func(rows *sql.Rows) error { return rows.Scan(&data) })
		if err != nil {
			return err
		}
		list, err := ps.readPostings(data, nil)
		if err != nil {
			return err
		}
		if !f.asc {
			slices.Reverse(list)
		}
		stopped, err := ps.offerPostings(ctx, p, f, top, list, f.narrows(), &cs)
		if err != nil || stopped {
			return err
		}
	}
	return nil
}

// narrows reports whether f has conditions besides time (no indicator):
// a few of a chunk by time may match, and most of its rows are read.
func (f *partFilter) narrows() bool {
	return f.feed != 0 || f.taxonomy != 0 || f.typ != 0 || f.tlp != 0 || f.org != "" || f.url != "" || f.hash != ""
}

// offerPostings offers to top the events of list, in the order of the
// search, that match f: the time bounds and the cursor applied to the
// list, the rows of the ids asked a chunk at a time for the rest of the
// filter (all but f.lead's conditions, which the list answered), until the next id could not enter top (stopped). With byRange
// (a chunk by time, of a filter that narrows), ids close together (at
// least one in two of their range, as events written in time order
// are) are read as one range of rows instead, those of the list kept:
// a seek an id costs several times a step.
func (ps *parts) offerPostings(ctx context.Context, p *partition, f *partFilter, top *topHits, list []posting, byRange bool, cs *chunkSearch) (stopped bool, err error) {
	keep := list[:0]
	for _, e := range list {
		ts := e.ts + p.base
		switch {
		case f.hasFrom && ts < f.tFrom, f.hasTo && ts >= f.tTo:
			continue
		case f.after != nil && !f.asc && (ts > f.after.TimeSource || (ts == f.after.TimeSource && e.id >= f.after.ID)):
			continue
		case f.after != nil && f.asc && (ts < f.after.TimeSource || (ts == f.after.TimeSource && e.id <= f.after.ID)):
			continue
		}
		keep = append(keep, e)
	}
	if p.sealedAs >= rowsVersion {
		return ps.offerChunks(ctx, p, f, top, keep, cs)
	}
	_, where, wargs := f.conds(p.table, p.base)
	scan := func(text string, args []any, keep func(id int64) bool) error {
		return ps.searchStmts.each(ctx, ps.s.read, text, args, func(rows *sql.Rows) error {
			h, err := scanHit(rows, p.base)
			if err != nil {
				return err
			}
			if keep != nil && !keep(h.id) {
				return nil
			}
			top.offer(h, false)
			return nil
		})
	}
	if byRange && len(keep) > 0 {
		lo, hi := keep[0].id, keep[0].id
		for _, e := range keep {
			lo, hi = min(lo, e.id), max(hi, e.id)
		}
		if hi-lo < 2*int64(len(keep)) {
			ids := make(map[int64]bool, len(keep))
			for _, e := range keep {
				ids[e.id] = true
			}
			text := `SELECT id, ts, src_ip, src_asn, type, feed FROM ` + p.table + ` WHERE id BETWEEN ? AND ?`
			if len(where) > 0 {
				text += " AND " + strings.Join(where, " AND ")
			}
			return false, scan(text, append([]any{lo, hi}, wargs...), func(id int64) bool { return ids[id] })
		}
	}
	text := `SELECT id, ts, src_ip, src_asn, type, feed FROM ` + p.table + ` WHERE id IN (` + placeholders(postingsChunk) + `)`
	if len(where) > 0 {
		text += " AND " + strings.Join(where, " AND ")
	}
	args := make([]any, postingsChunk, postingsChunk+len(wargs))
	args = append(args, wargs...)
	for start := 0; start < len(keep); start += postingsChunk {
		if next := keep[start]; top.full() && top.compare(partHit{ts: next.ts + p.base, id: next.id}, top.worst()) >= 0 {
			return true, nil // this id and the rest could not enter
		}
		chunk := keep[start:min(start+postingsChunk, len(keep))]
		for i := range postingsChunk {
			args[i] = chunk[min(i, len(chunk)-1)].id
		}
		if err := scan(text, args, nil); err != nil {
			return false, err
		}
	}
	return false, nil
}
