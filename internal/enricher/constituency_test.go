package enricher

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/pipeline"
)

// testConstituency is a small constituency table: networks, ASNs and
// domains (with their subdomains) per organisation.
type testConstituency struct {
	networks map[netip.Prefix][]string
	asns     map[uint32][]string
	domains  map[string][]string
}

func (c testConstituency) Lookup(addr netip.Addr) []string {
	var orgs []string
	for p, o := range c.networks {
		if p.Contains(addr) {
			orgs = append(orgs, o...)
		}
	}
	return orgs
}

func (c testConstituency) LookupASN(asn uint32) []string { return c.asns[asn] }

func (c testConstituency) LookupDomain(fqdn string) []string {
	var orgs []string
	for d, o := range c.domains {
		if fqdn == d || strings.HasSuffix(fqdn, "."+d) {
			orgs = append(orgs, o...)
		}
	}
	return orgs
}

var belnetLike = testConstituency{
	networks: map[netip.Prefix][]string{
		netip.MustParsePrefix("192.0.2.0/24"):    {"Université de Liège"},
		netip.MustParsePrefix("192.0.2.128/25"):  {"ULiège hospital"},
		netip.MustParsePrefix("198.51.100.0/24"): {"FPS Finance"},
	},
	asns:    map[uint32][]string{64496: {"Université de Liège"}, 64500: {"AT&T Research <lab>"}},
	domains: map[string][]string{"kuleuven.be": {"KU Leuven"}, "uliege.be": {"Université de Liège"}},
}

func TestConstituency(t *testing.T) {
	tests := []struct {
		name string
		in   map[string]string
		want string // extra.constituency, "" for none
	}{
		{"by source address", map[string]string{"source.ip": "198.51.100.10"}, `["FPS Finance"]`},
		{"nested networks, sorted", map[string]string{"source.ip": "192.0.2.200"}, `["ULiège hospital","Université de Liège"]`},
		{"address and ASN of the same organisation once", map[string]string{"source.ip": "192.0.2.1", "source.asn": "64496"}, `["Université de Liège"]`},
		{"destination and source", map[string]string{"source.ip": "198.51.100.1", "destination.fqdn": "www.kuleuven.be"}, `["FPS Finance","KU Leuven"]`},
		{"subdomain", map[string]string{"source.fqdn": "mail.student.uliege.be"}, `["Université de Liège"]`},
		{"no HTML escaping", map[string]string{"source.asn": "64500"}, `["AT&T Research <lab>"]`},
		{"nobody's", map[string]string{"source.ip": "8.8.8.8", "source.fqdn": "example.com"}, ""},
		{"an earlier tag survives a miss", map[string]string{"source.ip": "8.8.8.8", "extra.constituency": `["Old Org"]`}, `["Old Org"]`},
	}
	en := NewConstituency(belnetLike)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEvent(t, tt.in)
			enrichOne(t, en, e)
			if got := e.Value("extra.constituency"); got != tt.want {
				t.Errorf("extra.constituency = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestConstituencyGolden(t *testing.T) { runGolden(t, "constituency", NewConstituency(belnetLike)) }

func TestConstituencyRegistered(t *testing.T) {
	en, err := pipeline.NewEnricher("constituency", pipeline.Env{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	e := newEvent(t, map[string]string{"source.ip": "192.0.2.1"})
	before := string(e.AppendJSON(nil))
	enrichOne(t, en, e)
	if after := string(e.AppendJSON(nil)); after != before {
		t.Errorf("the registered enricher without a table changed the event: %s", after)
	}
}
