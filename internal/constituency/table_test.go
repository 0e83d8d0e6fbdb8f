package constituency

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"testing"

	"github.com/gaissmai/bart"
)

// belgium is a small constituency with the cases that matter: a network
// inside another organisation's, an AS, nested domains, IPv6.
func belgium() []Organisation {
	orgs := []Organisation{
		{ID: 1, Handle: "uliege", Name: "Université de Liège", Networks: prefixes("192.0.2.0/24", "2001:db8:10::/48"),
			ASNs: []uint32{64496}, Domains: []string{"uliege.be"}},
		{ID: 2, Handle: "chu-liege", Name: "CHU de Liège", Networks: prefixes("192.0.2.128/25", "192.0.2.200"),
			Domains: []string{"chu.uliege.be"}},
		{ID: 3, Handle: "kuleuven", Name: "KU Leuven", Networks: prefixes("198.51.100.0/24", "10.0.0.0/8"),
			ASNs: []uint32{64497}, Domains: []string{"kuleuven.be"}},
		{ID: 4, Handle: "fin", Name: "FPS Finance", Networks: prefixes("10.20.0.0/16", "2001:db8::/32"),
			Domains: []string{"example.be"}},
	}
	for i := range orgs {
		if err := Normalize(&orgs[i]); err != nil {
			panic(err)
		}
	}
	return orgs
}

func TestOwnerOf(t *testing.T) {
	tables := map[string]*Table{"arrays": NewTable(belgium()), "trie only": trieOnly(belgium())}
	tests := []struct {
		name string
		addr string
		asn  uint32
		fqdn string
		want string // "" for nobody
	}{
		{"address", "198.51.100.10", 0, "", "kuleuven"},
		{"longest network wins", "192.0.2.130", 0, "", "chu-liege"},
		{"a host inside it", "192.0.2.200", 0, "", "chu-liege"},
		{"the wider network elsewhere", "192.0.2.1", 0, "", "uliege"},
		{"a /16 inside a /8 of another", "10.20.3.4", 0, "", "fin"},
		{"the /8 around it", "10.21.0.1", 0, "", "kuleuven"},
		{"IPv6, longest", "2001:db8:10::1", 0, "", "uliege"},
		{"IPv6, shorter", "2001:db8:11::1", 0, "", "fin"},
		{"IPv4-mapped", "::ffff:198.51.100.1", 0, "", "kuleuven"},
		{"network wins over AS", "198.51.100.1", 64496, "", "kuleuven"},
		{"network wins over domain", "198.51.100.1", 0, "www.uliege.be", "kuleuven"},
		{"AS when no network holds the address", "203.0.113.1", 64496, "www.kuleuven.be", "uliege"},
		{"AS without an address", "", 64497, "", "kuleuven"},
		{"domain when neither", "203.0.113.1", 65000, "www.kuleuven.be", "kuleuven"},
		{"the domain itself", "", 0, "kuleuven.be", "kuleuven"},
		{"longest domain wins", "", 0, "mail.chu.uliege.be", "chu-liege"},
		{"a suffix is not a subdomain", "", 0, "badexample.be", ""},
		{"a parent is not covered", "", 0, "be", ""},
		{"nobody's", "203.0.113.1", 65000, "example.com", ""},
		{"nothing", "", 0, "", ""},
	}
	for name, table := range tables {
		for _, tt := range tests {
			t.Run(name+"/"+tt.name, func(t *testing.T) {
				var addr netip.Addr
				if tt.addr != "" {
					addr = netip.MustParseAddr(tt.addr)
				}
				got, ok := table.OwnerOf(addr, tt.asn, tt.fqdn)
				if got != tt.want || ok != (tt.want != "") {
					t.Errorf("OwnerOf(%s, %d, %q) = %q, %v, want %q", tt.addr, tt.asn, tt.fqdn, got, ok, tt.want)
				}
			})
		}
	}
}

// trieOnly builds the table the way a constituency of 65,535
// organisations or more is built: without the IPv4 arrays.
func trieOnly(orgs []Organisation) *Table {
	t := NewTable(orgs)
	t.level16, t.level24 = nil, nil
	return t
}

func TestOwnerOfDoesNotAllocate(t *testing.T) {
	table := NewTable(belgium())
	addrs := []netip.Addr{netip.MustParseAddr("192.0.2.130"), netip.MustParseAddr("2001:db8:10::1"), netip.MustParseAddr("203.0.113.1"), {}}
	allocs := testing.AllocsPerRun(100, func() {
		for _, a := range addrs {
			table.OwnerOf(a, 64496, "mail.chu.uliege.be")
			table.OwnerOf(a, 0, "nobody.example.com")
		}
	})
	if allocs != 0 {
		t.Errorf("OwnerOf allocates %v times", allocs)
	}
}

// TestArraysAgreeWithTrie compares the IPv4 arrays and the IPv6 filter
// with the plain trie over random networks of every length, nested and
// overlapping, and addresses chosen in and around them.
func TestArraysAgreeWithTrie(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for round := range 20 {
		orgs := make([]Organisation, 1+rng.IntN(50))
		var (
			reference bart.Table[string]
			networks  []netip.Prefix
		)
		for i := range orgs {
			orgs[i] = Organisation{Handle: fmt.Sprintf("o%d", i)}
			for range rng.IntN(40) {
				p := randomNestedPrefix(rng)
				if _, taken := reference.Get(p); taken {
					continue
				}
				reference.Insert(p, orgs[i].Handle)
				networks = append(networks, p)
				orgs[i].Networks = append(orgs[i].Networks, p)
			}
		}
		table := NewTable(orgs)
		for range 5000 {
			var addr netip.Addr
			if len(networks) > 0 && rng.IntN(2) == 0 {
				addr = randomAddrIn(rng, networks[rng.IntN(len(networks))])
			} else {
				addr = randomNestedPrefix(rng).Addr()
			}
			want, wantOK := reference.Lookup(addr)
			got, ok := table.OwnerOf(addr, 0, "")
			if got != want || ok != wantOK {
				t.Fatalf("round %d: OwnerOf(%s) = %q, %v; the trie says %q, %v", round, addr, got, ok, want, wantOK)
			}
		}
	}
}

// randomNestedPrefix draws from a small space, so that networks nest and
// repeat: IPv4 under 10.0.0.0/14 and IPv6 under 2001:db8::/30.
func randomNestedPrefix(rng *rand.Rand) netip.Prefix {
	if rng.IntN(3) == 0 {
		var a [16]byte
		a[0], a[1], a[2], a[3] = 0x20, 0x01, 0x0d, 0xb8|byte(rng.IntN(4))
		for i := 4; i < 16; i++ {
			a[i] = byte(rng.IntN(256))
		}
		p, _ := netip.AddrFrom16(a).Prefix(16 + rng.IntN(113))
		return p
	}
	a := [4]byte{10, byte(rng.IntN(4)), byte(rng.IntN(256)), byte(rng.IntN(256))}
	p, _ := netip.AddrFrom4(a).Prefix(8 + rng.IntN(25))
	return p
}

func TestDuplicatesFirstHandleWins(t *testing.T) {
	orgs := []Organisation{
		{Handle: "zeta", Networks: prefixes("192.0.2.0/24"), ASNs: []uint32{64496}, Domains: []string{"example.be"}},
		{Handle: "alpha", Networks: prefixes("192.0.2.0/24"), ASNs: []uint32{64496}, Domains: []string{"example.be"}},
	}
	table := NewTable(orgs)
	for _, q := range []struct {
		addr string
		asn  uint32
		fqdn string
	}{{"192.0.2.1", 0, ""}, {"", 64496, ""}, {"", 0, "example.be"}} {
		var addr netip.Addr
		if q.addr != "" {
			addr = netip.MustParseAddr(q.addr)
		}
		if got, _ := table.OwnerOf(addr, q.asn, q.fqdn); got != "alpha" {
			t.Errorf("OwnerOf(%+v) = %q, want alpha (the first handle)", q, got)
		}
	}
	if table.Organisations() != 2 || table.Networks() != 1 {
		t.Errorf("Organisations, Networks = %d, %d", table.Organisations(), table.Networks())
	}
}

func TestLookup(t *testing.T) {
	table := NewTable(belgium())
	tests := []struct {
		query string
		want  []Match
	}{
		// Every owner, the most specific first: the parent network that
		// also holds the address is named too.
		{"192.0.2.130", []Match{{"chu-liege", 2, RuleNetwork, "192.0.2.128/25"}, {"uliege", 1, RuleNetwork, "192.0.2.0/24"}}},
		{"192.0.2.200", []Match{
			{"chu-liege", 2, RuleNetwork, "192.0.2.200/32"},
			{"chu-liege", 2, RuleNetwork, "192.0.2.128/25"},
			{"uliege", 1, RuleNetwork, "192.0.2.0/24"},
		}},
		{" 192.0.2.1 ", []Match{{"uliege", 1, RuleNetwork, "192.0.2.0/24"}}},
		{"10.20.3.4", []Match{{"fin", 4, RuleNetwork, "10.20.0.0/16"}, {"kuleuven", 3, RuleNetwork, "10.0.0.0/8"}}},
		{"2001:db8:10::5", []Match{{"uliege", 1, RuleNetwork, "2001:db8:10::/48"}, {"fin", 4, RuleNetwork, "2001:db8::/32"}}},
		{"::ffff:10.20.3.4", []Match{{"fin", 4, RuleNetwork, "10.20.0.0/16"}, {"kuleuven", 3, RuleNetwork, "10.0.0.0/8"}}},
		{"203.0.113.9", []Match{}},
		{"192.0.2.0/24", []Match{
			{"chu-liege", 2, RuleNetwork, "192.0.2.200/32"},
			{"chu-liege", 2, RuleNetwork, "192.0.2.128/25"},
			{"uliege", 1, RuleNetwork, "192.0.2.0/24"},
		}},
		{"192.0.2.192/26", []Match{
			{"chu-liege", 2, RuleNetwork, "192.0.2.200/32"},
			{"chu-liege", 2, RuleNetwork, "192.0.2.128/25"},
			{"uliege", 1, RuleNetwork, "192.0.2.0/24"},
		}},
		{"192.0.2.7/24", []Match{ // a query may have host bits
			{"chu-liege", 2, RuleNetwork, "192.0.2.200/32"},
			{"chu-liege", 2, RuleNetwork, "192.0.2.128/25"},
			{"uliege", 1, RuleNetwork, "192.0.2.0/24"},
		}},
		{"10.0.0.0/7", []Match{
			{"fin", 4, RuleNetwork, "10.20.0.0/16"},
			{"kuleuven", 3, RuleNetwork, "10.0.0.0/8"},
		}},
		{"2001:db8::/29", []Match{
			{"uliege", 1, RuleNetwork, "2001:db8:10::/48"},
			{"fin", 4, RuleNetwork, "2001:db8::/32"},
		}},
		{"AS64496", []Match{{"uliege", 1, RuleASN, "AS64496"}}},
		{"64497", []Match{{"kuleuven", 3, RuleASN, "AS64497"}}},
		{"as65000", []Match{}},
		{"WWW.CHU.ULiege.be.", []Match{{"chu-liege", 2, RuleDomain, "chu.uliege.be"}, {"uliege", 1, RuleDomain, "uliege.be"}}},
		{"student.uliege.be", []Match{{"uliege", 1, RuleDomain, "uliege.be"}}},
		{"www.chu.uliege.be", []Match{{"chu-liege", 2, RuleDomain, "chu.uliege.be"}, {"uliege", 1, RuleDomain, "uliege.be"}}},
		{"example.com", []Match{}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			got, err := table.Lookup(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Lookup(%q) =\n%v\nwant\n%v", tt.query, got, tt.want)
			}
		})
	}
	for _, bad := range []string{"", "192.0.2.0/33", "AS4294967296", "not a domain!", "a..b"} {
		if got, err := table.Lookup(bad); err == nil {
			t.Errorf("Lookup(%q) = %v, want an error", bad, got)
		}
	}
}

func TestEmptyTable(t *testing.T) {
	table := NewTable(nil)
	if h, ok := table.OwnerOf(netip.MustParseAddr("192.0.2.1"), 64496, "example.be"); ok {
		t.Errorf("the empty table says %q", h)
	}
	if m, err := table.Lookup("192.0.2.0/24"); err != nil || len(m) != 0 {
		t.Errorf("Lookup = %v, %v", m, err)
	}
}
