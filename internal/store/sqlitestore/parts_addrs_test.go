package sqlitestore

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
)

// TestAddrsRoundTrip: a list by address reads back as written, for
// either family's width and unit of time, and a cut or padded one is refused; an address
// split into its list's key and the rest joins back, and its key lies
// within the key ranges of a prefix holding it, not of one that does
// not.
func TestAddrsRoundTrip(t *testing.T) {
	for _, width := range []int{2, 8} {
		// Times in seconds, written in that unit, and one in µs, which
		// makes the unit 1.
		list := []addrPosting{{-3_000_000_000_000, 900, 0}, {0, 5, 1}, {1_000_000, 4, 0xfffe}, {86_400_000_000, 1 << 40, 0xffff}}
		if width == 8 {
			list = append(list, addrPosting{86_400_000_001, 7, 1<<64 - 1})
		}
		b := encodeAddrs(list, width)
		if unit := b[1:4]; width == 2 && !bytes.Equal(unit, binary.AppendUvarint(nil, 1_000_000)) {
			t.Errorf("times in seconds: unit %x, want 10^6", unit)
		}
		var got []addrPosting
		if err := decodeAddrs(b, width, func(e addrPosting) { got = append(got, e) }); err != nil || !slices.Equal(got, list) {
			t.Fatalf("width %d: decoded %v (%v), want %v", width, got, err, list)
		}
		for _, bad := range [][]byte{nil, b[:len(b)-1], append(slices.Clone(b), 0), {0xff, 0xff, 0xff, 0xff, 0x0f}} {
			if err := decodeAddrs(bad, width, func(addrPosting) {}); !errors.Is(err, errBadPostings) {
				t.Errorf("width %d: decode %x: %v, want errBadPostings", width, bad, err)
			}
		}
	}
	for _, c := range []struct {
		addr, in, out string
	}{
		{"10.1.2.3", "10.1.0.0/16", "10.2.0.0/16"},
		{"10.1.255.255", "10.0.0.0/8", "10.2.0.0/24"},
		{"2001:db8:1::5", "2001:db8::/32", "2001:db8:2::/48"},
		{"::1", "::/64", "10.0.0.0/8"},
	} {
		ip := store.MakeIPKey(netip.MustParseAddr(c.addr))
		b := [16]byte(ip.Bytes())
		key, low := addrSplit(&b)
		if got, ok := addrJoin([]byte(key), low); !ok || got != b {
			t.Errorf("%s: split into %x and %x, joined %x (%v)", c.addr, key, low, got, ok)
		}
		spans := func(p string) bool {
			first, last := store.PrefixRange(netip.MustParsePrefix(p))
			for _, r := range addrKeyRanges(first[:], last[:]) {
				if bytes.Compare([]byte(key), r[0]) >= 0 && bytes.Compare([]byte(key), r[1]) <= 0 {
					return true
				}
			}
			return false
		}
		if !spans(c.in) {
			t.Errorf("%s: key %x not within the ranges of %s", c.addr, key, c.in)
		}
		if c.out != "" && spans(c.out) {
			t.Errorf("%s: key %x within the ranges of %s", c.addr, key, c.out)
		}
	}
	if _, ok := addrJoin([]byte{addrKeyV4, 1, 2}, 1<<16); ok {
		t.Error("an IPv4 entry of more than 2 bytes joined")
	}
}

// TestAddrsRawLists seals a partition of 40 addresses alone in their /16
// or /64, and 200 of 4 addresses in one /16: a list of one entry, which zstd does not
// shrink, is stored as it is, the list of 200 compressed, and a search
// finds each.
func TestAddrsRawLists(t *testing.T) {
	withSealInline(t)
	s := openLayout(t, filepath.Join(t.TempDir(), "parts.db"), Options{EventLayout: LayoutParts, PartitionEvents: 240})
	defer s.Close()
	var batch []*event.Event
	for i := range 240 {
		var ip string
		switch {
		case i < 20:
			ip = fmt.Sprintf("192.%d.0.1", i)
		case i < 40:
			ip = fmt.Sprintf("2001:db8:%x::1", i)
		default:
			ip = fmt.Sprintf("10.1.0.%d", i%4+1)
		}
		e := event.New(2)
		for k, v := range map[string]string{"time.source": event.FormatTime(time.Date(2024, 5, 1, 0, 0, i, 0, time.UTC)), "source.ip": ip} {
			if err := e.Set(k, v); err != nil {
				t.Fatal(err)
			}
		}
		batch = append(batch, e)
	}
	if _, err := s.InsertEvents(t.Context(), batch, nil); err != nil {
		t.Fatal(err)
	}
	var raw, compressed int
	if err := s.write.QueryRowContext(t.Context(), `SELECT count(*) FILTER (WHERE len < 0), count(*) FILTER (WHERE len > 0) FROM ev_1_ipkeys`).Scan(&raw, &compressed); err != nil {
		t.Fatal(err)
	}
	if raw != 40 || compressed != 1 {
		t.Errorf("%d lists stored as they are, %d compressed; want 40 and 1", raw, compressed)
	}
	for q, want := range map[store.EventQuery]int{
		{IP: netip.MustParseAddr("192.7.0.1")}:           1,
		{IP: netip.MustParseAddr("2001:db8:21::1")}:      1,
		{Prefix: netip.MustParsePrefix("192.0.0.0/8")}:   20,
		{Prefix: netip.MustParsePrefix("2001:db8::/32")}: 20,
		{Prefix: netip.MustParsePrefix("10.1.0.0/16")}:   200,
		{Prefix: netip.MustParsePrefix("0.0.0.0/0")}:     220,
	} {
		q.Limit = 400
		page, err := s.SearchEvents(t.Context(), q)
		if err != nil || len(page.Events) != want {
			t.Errorf("%+v: %d events (%v), want %d", q, len(page.Events), err, want)
		}
	}
}
