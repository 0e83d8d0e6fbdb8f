package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/eventsql"
)

// The table of events' counts, column sorts and groupings, as sqlitestore
// does them (see there): each reads the ids of at most a bounded number of
// matches, by the plans of a page of results (matchSQL), and works on
// those.

// CountMatches counts the events q matches, up to bound+1.
func (s *Store) CountMatches(ctx context.Context, q store.EventQuery, bound int) (int, error) {
	if bound < 0 {
		bound = 0
	}
	text, a := matchSQL(q, nil, shape{ids: true, limit: bound + 1, empty: s.emptyPartitions(ctx)})
	if text == "" {
		return 0, nil
	}
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM (`+text+`) AS m`, a...).Scan(&n); err != nil {
		return 0, fmt.Errorf("pgstore: count matches: %w", err)
	}
	return n, nil
}

// groupColumns are the columns of the groupings SQL counts, as text the
// way events show them (host() drops an address's /32 or /128).
var groupColumns = map[store.GroupKey]string{
	store.GroupSourceIP: "host(src_ip)", store.GroupSourceASN: "src_asn::text", store.GroupType: "type", store.GroupFeed: "feed",
}

// GroupEvents counts the newest store.SearchWindow matches of q by the
// column by. Organisations are counted from each event's tags
// (extra.constituency), which no index holds by event.
func (s *Store) GroupEvents(ctx context.Context, q store.EventQuery, by store.GroupKey, top int) ([]store.GroupCount, error) {
	if !store.ValidGroup(by) {
		return nil, store.ErrBadColumn
	}
	text, a := matchSQL(q, nil, shape{ids: true, limit: store.SearchWindow, empty: s.emptyPartitions(ctx)})
	if text == "" {
		return nil, nil
	}
	if by == store.GroupOrganisation {
		groups, err := s.groupOrganisations(ctx, top, `SELECT id FROM (`+text+`) AS m`, a)
		if err != nil {
			return nil, fmt.Errorf("pgstore: group events by %s: %w", by, err)
		}
		return groups, nil
	}
	query := `SELECT ` + groupColumns[by] + `, count(*) FROM events WHERE id IN (SELECT id FROM (` + text + `) AS m) GROUP BY 1`
	groups, err := eventsql.Group(ctx, s.DB(), by, top, query, a)
	if err != nil {
		return nil, fmt.Errorf("pgstore: group events by %s: %w", by, err)
	}
	return groups, nil
}

// sortOrders are the ORDER BY terms of a windowed sort, on the alias w,
// with %[1]s for the direction: events without a value last either way;
// inet orders IPv4 before IPv6, and text is compared byte by byte as in
// SQLite.
var sortOrders = map[store.SortKey]string{
	store.SortSourceIP:  `w.src_ip %[1]s NULLS LAST`,
	store.SortSourceASN: `w.src_asn %[1]s NULLS LAST`,
	store.SortType:      `w.type COLLATE "C" %[1]s NULLS LAST`,
	store.SortFeed:      `w.feed COLLATE "C" %[1]s NULLS LAST`,
}

// searchWindow returns a page of q sorted by a column other than time:
// the newest store.SearchWindow matches at or before the window's top
// event, ordered by the column and then newest first, from an offset.
func (s *Store) searchWindow(ctx context.Context, q store.EventQuery) (store.EventPage, error) {
	limit := store.PageLimit(q.Limit)
	wc, found, err := store.WindowStart(q.After, func() (store.Cursor, bool, error) {
		text, a := matchSQL(q, nil, shape{ids: true, limit: 1, empty: s.emptyPartitions(ctx)})
		if text == "" {
			return store.Cursor{}, false, nil
		}
		var (
			top store.Cursor
			ts  time.Time
		)
		err := s.pool.QueryRow(ctx, text, a...).Scan(&top.ID, &ts)
		if errors.Is(err, pgx.ErrNoRows) {
			return top, false, nil
		}
		top.TimeSource = ts.UnixMicro()
		return top, err == nil, err
	})
	if !found {
		return store.EventPage{}, err
	}
	through := wc.Top.Through()
	text, a := matchSQL(q, &through, shape{ids: true, limit: store.SearchWindow, empty: s.emptyPartitions(ctx)})
	if text == "" {
		return store.EventPage{}, nil
	}
	dir := "DESC"
	if q.Ascending {
		dir = "ASC"
	}
	order := fmt.Sprintf(sortOrders[q.Sort], dir) + ", w.time_source DESC, w.id DESC"
	text = `SELECT w.id FROM events AS w WHERE w.id IN (SELECT id FROM (` + text + `) AS m)
		ORDER BY ` + order + ` LIMIT ` + a.add(limit+1) + ` OFFSET ` + a.add(wc.Offset)
	rows, err := s.pool.Query(ctx, text, a...)
	if err != nil {
		return store.EventPage{}, err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return store.EventPage{}, err
	}
	var page store.EventPage
	ids, page.Next = wc.Page(ids, limit)
	page.Events, err = s.byID(ctx, ids)
	return page, err
}

// groupChunk is how many events groupOrganisations decodes at a time.
const groupChunk = 1000

// groupOrganisations counts the organisations of the events whose ids
// query selects, from each event's tags, as eventsql.Group does from
// records in data: groupChunk events at a time, so that a window of
// store.SearchWindow events is not held decoded at once.
func (s *Store) groupOrganisations(ctx context.Context, top int, query string, a args) ([]store.GroupCount, error) {
	rows, err := s.pool.Query(ctx, query, a...)
	if err != nil {
		return nil, err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, err
	}
	counts := make(map[string]int)
	for start := 0; start < len(ids); start += groupChunk {
		list, err := storedEvents(ctx, s.pool, `SELECT `+storedCols("")+` FROM events WHERE id = ANY($1)`, ids[start:min(start+groupChunk, len(ids))])
		if err != nil {
			return nil, err
		}
		for _, se := range list {
			store.CountOrganisations(counts, se.Event)
		}
	}
	return store.TopGroups(store.GroupOrganisation, counts, top), nil
}

// byID reads the events of ids in one statement and returns them in the
// order of ids; an id no event has is left out (eventsql.ByID, with
// records in blocks).
func (s *Store) byID(ctx context.Context, ids []int64) ([]store.StoredEvent, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	list, err := storedEvents(ctx, s.pool, `SELECT `+storedCols("")+` FROM events WHERE id = ANY($1)`, ids)
	if err != nil {
		return nil, err
	}
	byID := make(map[int64]store.StoredEvent, len(list))
	for _, se := range list {
		byID[se.Seq] = se.shown()
	}
	out := make([]store.StoredEvent, 0, len(ids))
	for _, id := range ids {
		if se, ok := byID[id]; ok {
			out = append(out, se)
		}
	}
	return out, nil
}
