package store

import (
	"errors"
	"net/netip"
	"testing"
)

func TestSetFilter(t *testing.T) {
	good := []struct {
		name, value string
		check       func(EventQuery) bool
	}{
		{"ip", "::ffff:192.0.2.1", func(q EventQuery) bool { return q.IP == netip.MustParseAddr("192.0.2.1") }},
		{"cidr", "192.0.2.77/24", func(q EventQuery) bool { return q.Prefix.String() == "192.0.2.0/24" }},
		{"cidr", "192.0.2.7", func(q EventQuery) bool { return q.Prefix.String() == "192.0.2.7/32" }},
		{"asn", "AS64496", func(q EventQuery) bool { return q.ASN == 64496 }},
		{"fqdn", "Example.NET.", func(q EventQuery) bool { return q.FQDN == "example.net" }},
		{"url", "hxxp://evil[.]example.com/x", func(q EventQuery) bool { return q.URL == "http://evil.example.com/x" }},
		{"hash", "D41D8CD98F00B204E9800998ECF8427E", func(q EventQuery) bool { return q.Hash == "d41d8cd98f00b204e9800998ecf8427e" }},
		{"type", "Phishing", func(q EventQuery) bool { return q.Type == "phishing" }},
		{"tlp", "tlp:amber", func(q EventQuery) bool { return q.TLP == "AMBER" }},
		{"from", "2026-11-20T10:00", func(q EventQuery) bool { return q.From.Hour() == 10 }},
		{"to", "2026-11-21", func(q EventQuery) bool { return q.To.Day() == 21 }},
		{"feed", " shadowserver ", func(q EventQuery) bool { return q.Feed == "shadowserver" }},
		{"ip", "", func(q EventQuery) bool { return !q.IP.IsValid() }},
		{"org", " ULB-Brussels ", func(q EventQuery) bool { return q.Organisation == "ulb-brussels" }},
		{"org", "vub", func(q EventQuery) bool { return q.Organisation == "vub" }},
	}
	for _, tt := range good {
		t.Run(tt.name+"="+tt.value, func(t *testing.T) {
			var q EventQuery
			if err := q.SetFilter(tt.name, tt.value); err != nil || !tt.check(q) {
				t.Fatalf("SetFilter: %v, query %+v", err, q)
			}
		})
	}
	for _, tt := range [][2]string{{"ip", "192.0.2.256"}, {"cidr", "192.0.2.0/33"}, {"asn", "0"}, {"fqdn", "a b"},
		{"hash", "xyz"}, {"hash", "abcd"}, {"taxonomy", "nope"}, {"type", "nope"}, {"tlp", "purple"}, {"from", "soon"}, {"colour", "red"},
		{"org", "ulb brussels"}, {"org", "ulb_x"}, {"org", "%"}, {"org", "université"}} {
		t.Run("bad "+tt[0]+"="+tt[1], func(t *testing.T) {
			var q EventQuery
			var fe *FilterError
			if err := q.SetFilter(tt[0], tt[1]); !errors.As(err, &fe) || fe.Filter != tt[0] || fe.Reason == "" {
				t.Fatalf("SetFilter = %v, want a FilterError naming %s", err, tt[0])
			}
		})
	}
}
