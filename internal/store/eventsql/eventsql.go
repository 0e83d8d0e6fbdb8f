// Package eventsql holds the event store's queries that read the same on
// both databases, written once on sqlkit.DB. The searches themselves stay
// with each store: their plans are different strategies.
package eventsql

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

// ByID reads the events of ids in one statement and returns them in the
// order of ids; an id no event has is left out.
func ByID(ctx context.Context, db sqlkit.DB, ids []int64) ([]store.StoredEvent, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	a := db.Dialect().Args()
	byID := make(map[int64]store.StoredEvent, len(ids))
	err := db.Each(ctx, `SELECT id, hash, stored, data FROM events WHERE `+sqlkit.In(a, "id", ids), a.List(), func(row sqlkit.Row) error {
		var (
			id         int64
			stored     time.Time
			hash, data []byte
		)
		if err := row.Scan(&id, &hash, sqlkit.Time(&stored), &data); err != nil {
			return err
		}
		e, err := event.DecodeRecord(data)
		if err != nil {
			return fmt.Errorf("event %d: %w", id, err)
		}
		se := store.StoredEvent{Stored: stored, Event: e}
		copy(se.Hash[:], hash)
		byID[id] = se
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]store.StoredEvent, 0, len(ids))
	for _, id := range ids {
		if se, ok := byID[id]; ok {
			out = append(out, se)
		}
	}
	return out, nil
}

// Group counts events by, for the stores' GroupEvents, from query, the
// store's statement over the events a search matches (with args): for
// organisations it selects each event's data, whose tags are counted,
// since no index holds them by event; for a column it selects the
// column's value and a count, GROUP BY 1.
func Group(ctx context.Context, db sqlkit.DB, by store.GroupKey, top int, query string, args []any) ([]store.GroupCount, error) {
	counts := make(map[string]int)
	var err error
	if by == store.GroupOrganisation {
		err = db.Each(ctx, query, args, func(row sqlkit.Row) error {
			var data []byte
			if err := row.Scan(&data); err != nil {
				return err
			}
			e, err := event.DecodeRecord(data)
			if err != nil {
				return err
			}
			store.CountOrganisations(counts, e)
			return nil
		})
	} else {
		err = db.Each(ctx, query, args, func(row sqlkit.Row) error {
			var (
				v any
				n int
			)
			if err := row.Scan(&v, &n); err != nil {
				return err
			}
			counts[groupValue(v)] += n
			return nil
		})
	}
	if err != nil {
		return nil, err
	}
	return store.TopGroups(by, counts, top), nil
}

// groupValue writes a column's value as the event shows it: an address
// (SQLite's 16 bytes, PostgreSQL's text) without its IPv4 mapping, a
// number in decimal, nothing for NULL.
func groupValue(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case []byte:
		if len(v) == 16 {
			return store.IPKeyFromBytes(v).Addr().String()
		}
		return string(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case string:
		if ip, err := netip.ParseAddr(v); err == nil {
			return ip.Unmap().String()
		}
		return v
	}
	return fmt.Sprint(v)
}
