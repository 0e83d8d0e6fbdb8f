package store

import (
	"net/netip"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
)

func TestReverseFQDN(t *testing.T) {
	for in, want := range map[string]string{
		"www.example.be":   "be.example.www.",
		"example.be":       "be.example.",
		"Example.BE.":      "be.example.",
		"be":               "be.",
		"":                 "",
		"a.b.c.example.be": "be.example.c.b.a.",
	} {
		if got := ReverseFQDN(in); got != want {
			t.Errorf("ReverseFQDN(%q) = %q, want %q", in, got, want)
		}
	}
	from, to := FQDNRange("example.be")
	for name, inside := range map[string]bool{
		"example.be": true, "www.example.be": true, "a.b.example.be": true,
		"notexample.be": false, "example.be.evil.com": false, "example-x.be": false, "xexample.be": false,
	} {
		r := ReverseFQDN(name)
		if got := r >= from && r < to; got != inside {
			t.Errorf("%s (%s) in [%s, %s) = %v, want %v", name, r, from, to, got, inside)
		}
	}
}

func TestPrefixRange(t *testing.T) {
	tests := []struct {
		prefix, first, last string
	}{
		{"192.0.2.0/24", "192.0.2.0", "192.0.2.255"},
		{"192.0.2.77/24", "192.0.2.0", "192.0.2.255"},
		{"10.0.0.0/8", "10.0.0.0", "10.255.255.255"},
		{"0.0.0.0/0", "0.0.0.0", "255.255.255.255"},
		{"198.51.100.7/32", "198.51.100.7", "198.51.100.7"},
		{"2001:db8::/32", "2001:db8::", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"},
		{"2001:db8::1/128", "2001:db8::1", "2001:db8::1"},
	}
	for _, tt := range tests {
		first, last := PrefixRange(netip.MustParsePrefix(tt.prefix))
		f, l := netip.AddrFrom16(first).Unmap(), netip.AddrFrom16(last).Unmap()
		if f.String() != tt.first || l.String() != tt.last {
			t.Errorf("PrefixRange(%s) = %s - %s, want %s - %s", tt.prefix, f, l, tt.first, tt.last)
		}
		// Keys of the first and last address match the range bounds.
		fk := MakeIPKey(netip.MustParseAddr(tt.first))
		if string(fk.Bytes()) != string(first[:]) {
			t.Errorf("%s: key of first address differs from the range start", tt.prefix)
		}
	}
}

// TestIPKeyAddr: a key gives back its address, an IPv4-mapped one
// unmapped as MakeIPKey stores it, and its bytes make the same key again;
// no address gives none.
func TestIPKeyAddr(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"192.0.2.1", "192.0.2.1"},
		{"::ffff:192.0.2.1", "192.0.2.1"},
		{"2001:db8::1", "2001:db8::1"},
		{"::", "::"},
		{"", "invalid IP"},
	} {
		t.Run(tt.in, func(t *testing.T) {
			var a netip.Addr
			if tt.in != "" {
				a = netip.MustParseAddr(tt.in)
			}
			k := MakeIPKey(a)
			if got := k.Addr().String(); got != tt.want {
				t.Errorf("MakeIPKey(%s).Addr() = %s, want %s", tt.in, got, tt.want)
			}
			if again := IPKeyFromBytes(k.Bytes()); again != k {
				t.Errorf("IPKeyFromBytes(%x) = %v, want %v", k.Bytes(), again, k)
			}
		})
	}
	if k := IPKeyFromBytes([]byte{192, 0, 2, 1}); k.Valid() || k.Addr().IsValid() {
		t.Errorf("IPKeyFromBytes of 4 bytes = %v, want no address", k.Addr())
	}
}

func TestExtractColumns(t *testing.T) {
	e := event.New(8)
	for k, v := range map[string]string{
		"time.source": "2024-05-01T10:00:00.5+02:00", "source.ip": "192.0.2.1", "destination.ip": "2001:db8::1",
		"source.asn": "AS64500", "destination.fqdn": "WWW.Example.be", "feed.name": "F", "tlp": "amber",
		"malware.hash.md5": "0123456789abcdef0123456789abcdef",
	} {
		if err := e.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	c := ExtractColumns(e, time.Now())
	if want := time.Date(2024, 5, 1, 8, 0, 0, 5e8, time.UTC).UnixMicro(); c.TimeSource != want {
		t.Errorf("TimeSource = %d, want %d", c.TimeSource, want)
	}
	if c.SrcASN != 64500 || c.DstFQDN != "be.example.www." || c.Feed != "F" || c.TLP != "AMBER" || c.MD5 == "" {
		t.Errorf("columns = %+v", c)
	}
	if !c.SrcIP.Valid() || !c.DstIP.Valid() || c.SrcURL != "" {
		t.Errorf("addresses = %+v", c)
	}
	stored := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	if got := ExtractColumns(event.New(0), stored).TimeSource; got != stored.UnixMicro() {
		t.Errorf("event without times: TimeSource = %d, want the stored time", got)
	}
	// time.source first, time.observation when it gives none.
	observed := time.Date(2024, 6, 2, 3, 4, 5, 0, time.UTC)
	source := time.Date(2024, 6, 1, 0, 0, 1, 0, time.UTC)
	for _, tc := range []struct {
		name   string
		fields map[string]string
		want   time.Time
	}{
		{"both", map[string]string{"time.observation": "2024-06-02T03:04:05+00:00", "time.source": "2024-06-01T00:00:01+00:00"}, source},
		{"observation only", map[string]string{"time.observation": "2024-06-02T03:04:05+00:00"}, observed},
		{"source only", map[string]string{"time.source": "2024-06-01T00:00:01+00:00"}, source},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := event.New(2)
			for k, v := range tc.fields {
				if err := e.Set(k, v); err != nil {
					t.Fatal(err)
				}
			}
			if got := ExtractColumns(e, stored).TimeSource; got != tc.want.UnixMicro() {
				t.Errorf("TimeSource = %d, want %d", got, tc.want.UnixMicro())
			}
		})
	}
}

// TestParseMicrosAsTimeParse checks that parseMicros's quick path reads
// every date-time as the slow one (time.Parse of the canonical layout,
// then event.ParseTime) did.
func TestParseMicrosAsTimeParse(t *testing.T) {
	slow := func(s string) int64 {
		t, err := time.Parse(event.TimeLayout+"Z07:00", s)
		if err != nil {
			if t, err = event.ParseTime(s); err != nil {
				return 0
			}
		}
		return t.UnixMicro()
	}
	values := []string{"2026-11-20T12:00:00+00:00", "2026-11-20T12:00:00Z", "2026-11-20 12:00:00",
		"2026-11-20T12:00:00", "2026-11-20T12:00:00.5+00:00", "2026-11-20T12:00:00+01:00",
		"2024-02-29T23:59:59+00:00", "2026-02-30T00:00:00+00:00", "2026-13-01T00:00:00+00:00",
		"1969-12-31T23:59:59+00:00", "1970-01-01T00:00:00+00:00", "2026-11-20T24:00:00+00:00",
		"2026-11-20T12:60:00+00:00", "2026-11-20T12:00:60+00:00", "2026-11-20X12:00:00+00:00",
		"9999-12-31T23:59:59+00:00", "1700000000", "", "not a time"}
	for i := range 2000 {
		values = append(values, event.FormatTime(time.Unix(int64(i)*987654321, 0)))
	}
	for _, v := range values {
		if got, want := parseMicros(v), slow(v); got != want {
			t.Errorf("parseMicros(%q) = %d, want %d", v, got, want)
		}
	}
}
