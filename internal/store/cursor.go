package store

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
)

// The keyset cursor both stores write and read for pages of events, so
// that a page's Next from one store means the same in the other.

// ErrBadCursor is returned for an EventQuery.After that no store wrote.
var ErrBadCursor = errors.New("malformed page cursor")

// Cursor is the position after which the next page starts: the last event's
// time.source (Unix microseconds) and its row id, which breaks ties.
type Cursor struct {
	TimeSource int64
	ID         int64
}

// String encodes the cursor for EventPage.Next.
func (c Cursor) String() string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(c.TimeSource))
	binary.BigEndian.PutUint64(b[8:], uint64(c.ID))
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// ParseCursor decodes EventQuery.After.
func ParseCursor(s string) (Cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) != 16 {
		return Cursor{}, ErrBadCursor
	}
	return Cursor{
		TimeSource: int64(binary.BigEndian.Uint64(b[:8])),
		ID:         int64(binary.BigEndian.Uint64(b[8:])),
	}, nil
}

// PageLimit applies EventQuery.Limit's default and maximum.
func PageLimit(n int) int {
	switch {
	case n <= 0:
		return 50
	case n > 10000:
		return 10000
	}
	return n
}
