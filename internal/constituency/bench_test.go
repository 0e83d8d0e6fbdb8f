package constituency

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"
)

// generatedConstituency makes nOrgs organisations holding nPrefixes
// networks between them, deterministic across runs: nine in ten IPv4 (/16
// to /32, most of them /20 to /24 as allocations are), the rest IPv6 (/32
// to /64). Random networks rarely overlap; the few that repeat are
// dropped, so the result passes Check's duplicate rule.
func generatedConstituency(nOrgs, nPrefixes int) []Organisation {
	rng := rand.New(rand.NewPCG(1, 2))
	orgs := make([]Organisation, nOrgs)
	for i := range orgs {
		orgs[i] = Organisation{ID: int64(i + 1), Handle: fmt.Sprintf("org-%06d", i), Name: fmt.Sprintf("Organisation %d", i),
			ASNs: []uint32{uint32(64512 + i)}, Domains: []string{fmt.Sprintf("org%d.example", i)}}
	}
	seen := make(map[netip.Prefix]bool, nPrefixes)
	for len(seen) < nPrefixes {
		p := randomPrefix(rng)
		if seen[p] {
			continue
		}
		seen[p] = true
		o := &orgs[rng.IntN(nOrgs)]
		o.Networks = append(o.Networks, p)
	}
	return orgs
}

// ipv6Lengths are the usual allocations and assignments.
var ipv6Lengths = []int{29, 32, 32, 32, 40, 44, 48, 48, 48, 48, 56, 56, 64}

// ipv4Lengths are drawn from with the weights of the second list: mostly
// /24 and /19 to /23, as allocations and announcements are, with a few
// small assignments and single hosts.
var ipv4Lengths, ipv4Weights = []int{16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 32},
	[]int{1, 1, 2, 3, 6, 6, 10, 8, 50, 1, 1, 1, 1, 1, 1, 3}

func ipv4Length(rng *rand.Rand) int {
	total := 0
	for _, w := range ipv4Weights {
		total += w
	}
	n := rng.IntN(total)
	for i, w := range ipv4Weights {
		if n < w {
			return ipv4Lengths[i]
		}
		n -= w
	}
	panic("unreachable")
}

func randomPrefix(rng *rand.Rand) netip.Prefix {
	if rng.IntN(10) == 0 {
		var a [16]byte
		a[0] = 0x20 | byte(rng.IntN(0x20)) // 2000::/3, global unicast
		for i := 1; i < 8; i++ {
			a[i] = byte(rng.IntN(256))
		}
		p, _ := netip.AddrFrom16(a).Prefix(ipv6Lengths[rng.IntN(len(ipv6Lengths))])
		return p
	}
	p, _ := netip.AddrFrom4([4]byte{byte(1 + rng.IntN(222)), byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256))}).
		Prefix(ipv4Length(rng))
	return p
}

// lookupAddrs are random addresses, IPv4 and IPv6 in the proportions of
// the networks (9 to 1), from the unicast space the networks are drawn
// from: about 40% of the IPv4 ones fall into a network at a million
// networks; the IPv6 space is too large for random addresses to hit.
func lookupAddrs(n int) []netip.Addr {
	rng := rand.New(rand.NewPCG(5, 6))
	addrs := make([]netip.Addr, n)
	for i := range addrs {
		if rng.IntN(10) == 0 {
			var a [16]byte
			a[0] = 0x20 | byte(rng.IntN(0x20))
			for j := 1; j < 16; j++ {
				a[j] = byte(rng.IntN(256))
			}
			addrs[i] = netip.AddrFrom16(a)
			continue
		}
		addrs[i] = netip.AddrFrom4([4]byte{byte(1 + rng.IntN(222)), byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256))})
	}
	return addrs
}

// BenchmarkLookup measures the pipeline's question (OwnerOf with an
// address) against a million networks. The target is 10 million lookups
// a second on one core:
//
//	go test -run '^$' -bench Lookup -cpu 1 ./internal/constituency/
func BenchmarkLookup(b *testing.B) {
	t := NewTable(generatedConstituency(10_000, 1_000_000))
	addrs := lookupAddrs(1 << 16)
	hits := 0
	for _, a := range addrs {
		if _, ok := t.OwnerOf(a, 0, ""); ok {
			hits++
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		t.OwnerOf(addrs[i&(len(addrs)-1)], 0, "")
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
	b.ReportMetric(float64(hits)/float64(len(addrs))*100, "%owned")
}

// BenchmarkLookupOwned asks only for addresses inside the networks, as a
// feed about the constituency's own networks does (Shadowserver's reports
// are). IPv6 addresses then take the trie walk, which the IPv4 ones skip.
func BenchmarkLookupOwned(b *testing.B) {
	orgs := generatedConstituency(10_000, 1_000_000)
	t := NewTable(orgs)
	rng := rand.New(rand.NewPCG(7, 8))
	addrs := make([]netip.Addr, 1<<16)
	for i := range addrs {
		o := &orgs[rng.IntN(len(orgs))]
		addrs[i] = randomAddrIn(rng, o.Networks[rng.IntN(len(o.Networks))])
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, ok := t.OwnerOf(addrs[i&(len(addrs)-1)], 0, ""); !ok {
			b.Fatalf("%s: nobody's", addrs[i&(len(addrs)-1)])
		}
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
}

// randomAddrIn returns an address of p with random host bits.
func randomAddrIn(rng *rand.Rand, p netip.Prefix) netip.Addr {
	a := p.Addr().As16()
	start := 0
	if p.Addr().Is4() {
		start = 96
	}
	for bit := start + p.Bits(); bit < 128; bit++ {
		if rng.IntN(2) == 1 {
			a[bit/8] |= 0x80 >> (bit % 8)
		}
	}
	addr := netip.AddrFrom16(a)
	if p.Addr().Is4() {
		addr = addr.Unmap()
	}
	return addr
}

// BenchmarkLookupSide is one whole side of an event that no network holds:
// the address misses, the AS misses, the domain walk tries every suffix.
func BenchmarkLookupSide(b *testing.B) {
	t := NewTable(generatedConstituency(10_000, 1_000_000))
	addr := netip.MustParseAddr("2001:db8:ffff::1")
	b.ReportAllocs()
	for b.Loop() {
		t.OwnerOf(addr, 4200000000, "www.some.host.example.net")
	}
}

// BenchmarkNewTable builds the table of 10,000 organisations holding
// 100,000 networks, what a reload costs.
func BenchmarkNewTable(b *testing.B) {
	orgs := generatedConstituency(10_000, 100_000)
	b.ReportAllocs()
	for b.Loop() {
		NewTable(orgs)
	}
}

// BenchmarkCheck is the overlap check of the same constituency, which an
// import runs.
func BenchmarkCheck(b *testing.B) {
	orgs := generatedConstituency(10_000, 100_000)
	for i := range orgs {
		if err := Normalize(&orgs[i]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		Check(orgs)
	}
}
