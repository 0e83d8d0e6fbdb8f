package store

import (
	"cmp"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"net/netip"
	"slices"
	"strconv"
)

// What the console's table of events asks of a store beyond a page in
// time order: how many events a search matches, the events in the order
// of another column, and the matches grouped by a column. Each is bounded
// by SearchWindow, so that none of them costs more than reading that many
// index entries and rows, however many events a search matches.

// SearchWindow is the bound of counts, column sorts and groupings: a count
// is exact up to it and "more than SearchWindow" past it; a sort by a
// column other than time, and a grouping, cover the newest SearchWindow
// events a search matches.
const SearchWindow = 10000

// SortKey is a column events can be sorted by (EventQuery.Sort).
type SortKey string

// The sortable columns. SortTime (the default) is paged by a keyset cursor
// over the whole result; the others order the newest SearchWindow matches
// and are paged by an offset within them (a WindowCursor), because no
// index holds events in that order together with the filters of a search.
const (
	SortTime      SortKey = "time"
	SortSourceIP  SortKey = "source.ip"
	SortSourceASN SortKey = "source.asn"
	SortType      SortKey = "type"
	SortFeed      SortKey = "feed"
)

// SortKeys lists the sortable columns.
var SortKeys = []SortKey{SortTime, SortSourceIP, SortSourceASN, SortType, SortFeed}

// ValidSort reports whether k is a sortable column; "" is SortTime.
func ValidSort(k SortKey) bool { return k == "" || slices.Contains(SortKeys, k) }

// Windowed reports whether a sort by k orders the newest SearchWindow
// matches only (every column but time).
func (k SortKey) Windowed() bool { return k != "" && k != SortTime }

// GroupKey is a column events can be grouped by.
type GroupKey string

// The columns of a grouping. GroupOrganisation counts each event once for
// every organisation it is tagged with.
const (
	GroupSourceIP     GroupKey = "source.ip"
	GroupSourceASN    GroupKey = "source.asn"
	GroupType         GroupKey = "type"
	GroupFeed         GroupKey = "feed"
	GroupOrganisation GroupKey = "org"
)

// GroupKeys lists the columns of a grouping.
var GroupKeys = []GroupKey{GroupSourceIP, GroupSourceASN, GroupOrganisation, GroupType, GroupFeed}

// ValidGroup reports whether k is a column of a grouping.
func ValidGroup(k GroupKey) bool { return slices.Contains(GroupKeys, k) }

// GroupCount is one group: the column's value ("" for events without
// one) and how many of the grouped events have it.
type GroupCount struct {
	Value string
	Count int
}

// TopGroups orders counts (by value) largest first, equal counts by value
// in the order of the column (addresses and AS numbers numerically, IPv4
// before IPv6; "" last), and keeps the first top. Both stores finish a
// grouping with it, so that they answer ties alike.
func TopGroups(by GroupKey, counts map[string]int, top int) []GroupCount {
	out := make([]GroupCount, 0, len(counts))
	for v, n := range counts {
		out = append(out, GroupCount{Value: v, Count: n})
	}
	slices.SortFunc(out, func(a, b GroupCount) int {
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		return compareValues(by, a.Value, b.Value)
	})
	if top > 0 && len(out) > top {
		out = out[:top]
	}
	return out
}

// compareValues orders two values of a grouped column.
func compareValues(by GroupKey, a, b string) int {
	switch {
	case a == b:
		return 0
	case a == "":
		// The events without a value come last.
		return 1
	case b == "":
		return -1
	}
	switch by {
	case GroupSourceIP:
		x, errx := netip.ParseAddr(a)
		y, erry := netip.ParseAddr(b)
		if errx == nil && erry == nil {
			return x.Compare(y)
		}
	case GroupSourceASN:
		x, errx := strconv.ParseUint(a, 10, 32)
		y, erry := strconv.ParseUint(b, 10, 32)
		if errx == nil && erry == nil {
			return cmp.Compare(x, y)
		}
	}
	return cmp.Compare(a, b)
}

// WindowCursor continues a sort by a column other than time: Top is the
// newest match when the first page was read (so that events stored since
// do not shift the pages) and Offset the position of the next page within
// the ordered window.
type WindowCursor struct {
	Top    Cursor
	Offset int
}

// String encodes the cursor for EventPage.Next; 24 bytes, so it is never
// taken for a Cursor (16).
func (c WindowCursor) String() string {
	var b [24]byte
	binary.BigEndian.PutUint64(b[:8], uint64(c.Top.TimeSource))
	binary.BigEndian.PutUint64(b[8:16], uint64(c.Top.ID))
	binary.BigEndian.PutUint64(b[16:], uint64(c.Offset))
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// WindowStart is where a windowed sort's page starts: the cursor after
// names, or else a window topped by the newest match, which top finds
// (found false when nothing matches: the page is empty).
func WindowStart(after string, top func() (c Cursor, found bool, err error)) (wc WindowCursor, found bool, err error) {
	if after != "" {
		wc, err = ParseWindowCursor(after)
		return wc, err == nil, err
	}
	wc.Top, found, err = top()
	return wc, found, err
}

// ParseWindowCursor decodes EventQuery.After of a windowed sort.
func ParseWindowCursor(s string) (WindowCursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) != 24 {
		return WindowCursor{}, ErrBadCursor
	}
	off := binary.BigEndian.Uint64(b[16:])
	if off >= SearchWindow {
		return WindowCursor{}, ErrBadCursor
	}
	return WindowCursor{
		Top:    Cursor{TimeSource: int64(binary.BigEndian.Uint64(b[:8])), ID: int64(binary.BigEndian.Uint64(b[8:16]))},
		Offset: int(off),
	}, nil
}

// Page cuts ids, the window's rows read from c's offset with one more than
// limit asked for, to a page: the ids to show and the cursor of the next
// page, "" when the page is the last or the window ends with it.
func (c WindowCursor) Page(ids []int64, limit int) ([]int64, string) {
	if len(ids) <= limit {
		return ids, ""
	}
	next := c.Offset + limit
	if next >= SearchWindow {
		return ids[:limit], ""
	}
	return ids[:limit], WindowCursor{Top: c.Top, Offset: next}.String()
}

// Through returns the keyset cursor whose page starts with the event at c
// itself: ids are integers, so "before (time, id+1)" is "at or before
// (time, id)".
func (c Cursor) Through() Cursor { return Cursor{TimeSource: c.TimeSource, ID: c.ID + 1} }

// ErrBadColumn is returned for a sort or a grouping by a column that has
// none.
var ErrBadColumn = errors.New("no such column to sort or group by")
