package pgstore

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
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
	text, a := matchSQL(q, nil, shape{ids: true, limit: bound + 1})
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
	text, a := matchSQL(q, nil, shape{ids: true, limit: store.SearchWindow})
	if text == "" {
		return nil, nil
	}
	counts := make(map[string]int)
	var err error
	if by == store.GroupOrganisation {
		err = s.countOrganisations(ctx, counts, `SELECT data FROM events WHERE id IN (SELECT id FROM (`+text+`) AS m)`, a)
	} else {
		err = s.countColumn(ctx, counts, `SELECT `+groupColumns[by]+`, count(*) FROM events WHERE id IN (SELECT id FROM (`+text+`) AS m) GROUP BY 1`, a)
	}
	if err != nil {
		return nil, fmt.Errorf("pgstore: group events by %s: %w", by, err)
	}
	return store.TopGroups(by, counts, top), nil
}

func (s *Store) countOrganisations(ctx context.Context, counts map[string]int, text string, a args) error {
	rows, err := s.pool.Query(ctx, text, a...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var data []byte
		if err := rows.Scan(&data); err != nil {
			return err
		}
		e, err := decodeEvent(data)
		if err != nil {
			return err
		}
		store.CountOrganisations(counts, e)
	}
	return rows.Err()
}

func (s *Store) countColumn(ctx context.Context, counts map[string]int, text string, a args) error {
	rows, err := s.pool.Query(ctx, text, a...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			v *string
			n int
		)
		if err := rows.Scan(&v, &n); err != nil {
			return err
		}
		value := ""
		if v != nil {
			value = *v
			if ip, err := netip.ParseAddr(value); err == nil {
				value = ip.Unmap().String()
			}
		}
		counts[value] += n
	}
	return rows.Err()
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
	var wc store.WindowCursor
	if q.After != "" {
		c, err := store.ParseWindowCursor(q.After)
		if err != nil {
			return store.EventPage{}, err
		}
		wc = c
	} else {
		text, a := matchSQL(q, nil, shape{ids: true, limit: 1})
		if text == "" {
			return store.EventPage{}, nil
		}
		var ts time.Time
		err := s.pool.QueryRow(ctx, text, a...).Scan(&wc.Top.ID, &ts)
		if errors.Is(err, pgx.ErrNoRows) {
			return store.EventPage{}, nil
		}
		if err != nil {
			return store.EventPage{}, err
		}
		wc.Top.TimeSource = ts.UnixMicro()
	}
	through := wc.Top.Through()
	text, a := matchSQL(q, &through, shape{ids: true, limit: store.SearchWindow})
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
	page.Events, err = eventsql.ByID(ctx, s.DB(), ids)
	return page, err
}
