package shadowserver

import (
	"testing"

	"github.com/vigil-cert/vigil/internal/event"
)

// fieldOfKind names a harmonized field of each kind canonical knows.
var fieldOfKind = map[event.Kind]string{
	event.KindString:    "event_description.text",
	event.KindLowercase: "protocol.transport",
	event.KindIP:        "source.ip",
	event.KindPort:      "source.port",
	event.KindASN:       "source.asn",
	event.KindInteger:   "rtir_id",
	event.KindCountry:   "source.geolocation.cc",
	event.KindFQDN:      "source.fqdn",
}

var canonicalSamples = []string{
	"", " ", "0", "00", "1", "01", "-1", "-0", "+1", "3389", "65535", "65536", "4294967295", "4294967296",
	"9223372036854775807", "-9223372036854775808", "123456789012345678", "1 ", " 1",
	"192.0.2.1", "192.0.2.01", "192.0.2.256", "::1", "::ffff:192.0.2.1", "2001:DB8::1", "fe80::1%eth0", "1.2.3",
	"BE", "be", "B", "BEL", "B1",
	"tcp", "TCP", "tcp ", "ümlaut", "\xff", "\x00", "tc\x00p", "\xed\xa0\x80",
	"host.example.net", "Host.example.net", "host.example.net.", ".example", "a..b", "1.2.3.4", "1.2.3.4.5", "123",
	"xn--bcher-kva.example", "_dmarc.example.org", "*.example.org", "a b.example", "-lead.example",
	"a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v.w.x.y.z.example.org",
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example",
}

func checkCanonical(t *testing.T, kind event.Kind, v string) {
	if !canonical(kind, v) {
		return
	}
	got, err := event.Normalize(fieldOfKind[kind], v)
	if err != nil || got != v {
		t.Errorf("canonical(%v, %q) but Normalize gives %q, %v", kind, v, got, err)
	}
}

func TestCanonicalAgreesWithNormalize(t *testing.T) {
	for kind := range fieldOfKind {
		for _, v := range canonicalSamples {
			checkCanonical(t, kind, v)
		}
	}
	// and it does say yes to the common cases, or it would be useless
	for _, c := range []struct {
		kind event.Kind
		v    string
	}{{event.KindIP, "192.0.2.1"}, {event.KindPort, "3389"}, {event.KindASN, "64500"}, {event.KindCountry, "BE"},
		{event.KindLowercase, "tcp"}, {event.KindFQDN, "host-1.example.net"}} {
		if !canonical(c.kind, c.v) {
			t.Errorf("canonical(%v, %q) = false", c.kind, c.v)
		}
	}
}

func FuzzCanonical(f *testing.F) {
	for _, v := range canonicalSamples {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v string) {
		for kind := range fieldOfKind {
			checkCanonical(t, kind, v)
		}
	})
}
