package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/eventsql"
)

// The table of events' counts, column sorts and groupings (see
// store.SearchWindow): each reads the ids of at most a bounded number of
// matches, by the same plans as a page of results (matchSQL), and works on
// those. The ids drive the join to events (CROSS JOIN fixes that order):
// written as "events WHERE id IN (…)", SQLite scans the whole table and
// probes the list.

// matchIDs writes the statement of the ids and times of at most limit
// events q matches, newest first, at or before the cursor after; "" when
// nothing can match.
func (s *Store) matchIDs(ctx context.Context, q store.EventQuery, after *store.Cursor, limit int) (string, []any, error) {
	scan, err := s.preferTimeScan(ctx, q)
	if err != nil {
		return "", nil, err
	}
	text, args := matchSQL(q, after, scan, shape{ids: true, limit: limit})
	return text, args, nil
}

// CountMatches counts the events q matches, up to bound+1.
func (s *Store) CountMatches(ctx context.Context, q store.EventQuery, bound int) (int, error) {
	if bound < 0 {
		bound = 0
	}
	if s.parts != nil {
		n, err := s.parts.countMatches(ctx, q, bound)
		return n, wrapTable("count matches", err)
	}
	text, args, err := s.matchIDs(ctx, q, nil, bound+1)
	if err != nil || text == "" {
		return 0, wrapTable("count matches", err)
	}
	var n int
	if err := s.read.QueryRowContext(ctx, `SELECT count(*) FROM (`+text+`)`, args...).Scan(&n); err != nil {
		return 0, wrapTable("count matches", err)
	}
	return n, nil
}

// groupColumns are the columns of the groupings SQL counts.
var groupColumns = map[store.GroupKey]string{
	store.GroupSourceIP: "src_ip", store.GroupSourceASN: "src_asn", store.GroupType: "type", store.GroupFeed: "feed",
}

// GroupEvents counts the newest store.SearchWindow matches of q by the
// column by. Organisations are counted from each event's tags
// (extra.constituency), which no index holds by event.
func (s *Store) GroupEvents(ctx context.Context, q store.EventQuery, by store.GroupKey, top int) ([]store.GroupCount, error) {
	if !store.ValidGroup(by) {
		return nil, store.ErrBadColumn
	}
	if s.parts != nil {
		groups, err := s.parts.group(ctx, q, by, top)
		return groups, wrapTable("group events", err)
	}
	text, args, err := s.matchIDs(ctx, q, nil, store.SearchWindow)
	if err != nil || text == "" {
		return nil, wrapTable("group events", err)
	}
	query := `SELECT e.data FROM (` + text + `) AS k CROSS JOIN events AS e ON e.id = k.id`
	if by != store.GroupOrganisation {
		query = groupSQL(groupColumns[by], text)
	}
	groups, err := eventsql.Group(ctx, s.DB(), by, top, query, args)
	return groups, wrapTable("group events", err)
}

// sortOrders are the ORDER BY terms of a windowed sort, on the alias w,
// with %[1]s for the direction: events without a value last either way,
// and addresses IPv4 before IPv6 ascending (PostgreSQL's inet order, so
// that both stores agree).
var sortOrders = map[store.SortKey]string{
	store.SortSourceIP:  `w.src_ip IS NULL, (substr(w.src_ip, 1, 12) <> X'00000000000000000000FFFF') %[1]s, w.src_ip %[1]s`,
	store.SortSourceASN: `w.src_asn IS NULL, w.src_asn %[1]s`,
	store.SortType:      `w.type IS NULL, w.type %[1]s`,
	store.SortFeed:      `w.feed IS NULL, w.feed %[1]s`,
}

// searchWindow returns a page of q sorted by a column other than time:
// the newest store.SearchWindow matches at or before the window's top
// event, ordered by the column and then newest first, from an offset.
func (s *Store) searchWindow(ctx context.Context, q store.EventQuery) (store.EventPage, error) {
	limit := store.PageLimit(q.Limit)
	// The plan is chosen once for both statements: the choice may probe
	// the indexes.
	scan, err := s.preferTimeScan(ctx, q)
	if err != nil {
		return store.EventPage{}, err
	}
	wc, found, err := store.WindowStart(q.After, func() (store.Cursor, bool, error) {
		text, args := matchSQL(q, nil, scan, shape{ids: true, limit: 1})
		if text == "" {
			return store.Cursor{}, false, nil
		}
		var top store.Cursor
		err := s.read.QueryRowContext(ctx, text, args...).Scan(&top.ID, &top.TimeSource)
		if errors.Is(err, sql.ErrNoRows) {
			return top, false, nil
		}
		return top, err == nil, err
	})
	if !found {
		return store.EventPage{}, err
	}
	through := wc.Top.Through()
	text, args := matchSQL(q, &through, scan, shape{ids: true, limit: store.SearchWindow})
	if text == "" {
		return store.EventPage{}, nil
	}
	dir := "DESC"
	if q.Ascending {
		dir = "ASC"
	}
	order := fmt.Sprintf(sortOrders[q.Sort], dir) + ", w.time_source DESC, w.id DESC"
	rows, err := s.read.QueryContext(ctx, windowSQL(text, order), append(args, limit+1, wc.Offset)...)
	if err != nil {
		return store.EventPage{}, err
	}
	ids, err := collectIDs(rows)
	if err != nil {
		return store.EventPage{}, err
	}
	var page store.EventPage
	ids, page.Next = wc.Page(ids, limit)
	page.Events, err = eventsql.ByID(ctx, s.DB(), ids)
	return page, err
}

func wrapTable(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("sqlitestore: %s: %w", what, err)
}

// collectIDs reads a column of ids and closes rows.
func collectIDs(rows *sql.Rows) ([]int64, error) {
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// groupSQL counts the events of the ids statement text by the column col.
func groupSQL(col, text string) string {
	return `SELECT e.` + col + `, count(*) FROM (` + text + `) AS k CROSS JOIN events AS e ON e.id = k.id GROUP BY 1`
}

// windowSQL orders the events of the ids statement text by order and
// returns a page of their ids (LIMIT and OFFSET are parameters).
func windowSQL(text, order string) string {
	return `SELECT w.id FROM (` + text + `) AS k CROSS JOIN events AS w ON w.id = k.id
		ORDER BY ` + order + ` LIMIT ? OFFSET ?`
}
