package constituency

import (
	"cmp"
	"fmt"
	"math/bits"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/gaissmai/bart"

	"github.com/vigil-cert/vigil/internal/i18n"
)

// RuleKind says which of an organisation's resources matched.
type RuleKind string

// The rules, in the order they are tried for one side of an event. Their
// values are the words the API and the CLI use; the console shows the same
// words from its catalogue.
const (
	RuleNetwork RuleKind = "network"
	RuleASN     RuleKind = "asn"
	RuleDomain  RuleKind = "domain"
)

// Match is one answer to "who owns this?": the organisation and the
// network, AS or domain of it that matched.
type Match struct {
	Handle string
	OrgID  int64
	Rule   RuleKind
	// Value is the matching network (192.0.2.0/24), AS (AS64496) or
	// domain (example.be).
	Value string
}

// Table answers which organisation owns an address, an AS or a domain. It
// is immutable once built, so any number of goroutines may look up at
// once, and a change is a new Table (see Directory).
//
// One side of an event (its source or its destination) belongs to the
// organisation with the longest network holding its address; when no
// network holds it, to the organisation of its AS; when neither, to the
// organisation with the longest domain its host name is, or is under
// ("example.be" covers "www.example.be", not "badexample.be").
type Table struct {
	// owners are the organisations, sorted by handle, after owners[0],
	// which is nobody. Every lookup structure holds owner numbers (an
	// index into owners, 0 for nobody) rather than pointers: the
	// million-entry structures stay free of pointers for the garbage
	// collector to scan, and a miss is the number 0 like any other, so
	// the lookup path does not branch on what it read (a mispredicted
	// branch after a cache miss throws away the work on the next
	// lookups, and halves the throughput).
	owners []owner
	// prefixes holds every network and answers IPv6, the console's
	// questions, and the IPv4 addresses the arrays below leave to it.
	prefixes bart.Table[uint32]
	// level16 and level24 answer most IPv4 lookups with two array reads
	// (the DIR-16-8 layout of routers' forwarding tables): a trie walk
	// over a million networks misses the cache at every level, while the
	// first read here stays in the cache. level16, indexed by the first
	// two bytes of the address, names a chunk of level24, which the third
	// byte indexes: the owner of the longest network of 24 bits or fewer
	// holding the /24, or askTrie for the /24s that hold longer networks.
	// A /16 without networks longer than 16 bits shares the chunk of its
	// owner (or nobody's chunk), so memory follows the networks, not the
	// address space. The entries of level24 are 16 bits wide, halving the
	// memory the lookups touch; a constituency of 65,535 organisations or
	// more (none is that large) is left to the trie.
	level16 *[1 << 16]uint32
	level24 []uint16
	// deep6 is a Bloom filter of the /32s (the first 32 bits) that hold
	// or lie in IPv6 networks of 24 bits or more, and short6 holds the
	// IPv6 networks shorter than that: an address outside every /32 of
	// deep6 can only be in a short6 network, a small trie (usually empty)
	// that stays in the cache. Most IPv6
	// addresses in feeds are nobody's, and this answers them without the
	// walk of the big trie; a false positive (about 2%) only takes the
	// walk.
	deep6   bloom
	short6  bart.Table[uint32]
	asns    map[uint32]uint32
	domains map[string]uint32
}

// askTrie is never an owner number: with that many organisations the
// arrays are not built.
const askTrie = 1<<16 - 1

type owner struct {
	handle string
	id     int64
}

// NewTable builds the table of orgs, which should be normalized. It never
// fails, because the pipeline must go on tagging whatever the database
// holds: where two organisations claim the same network, AS or domain
// (which Check reports), the one whose handle sorts first wins.
func NewTable(orgs []Organisation) *Table {
	sorted := make([]*Organisation, len(orgs))
	asns, domains := 0, 0
	for i := range orgs {
		sorted[i] = &orgs[i]
		asns += len(orgs[i].ASNs)
		domains += len(orgs[i].Domains)
	}
	slices.SortStableFunc(sorted, func(a, b *Organisation) int { return strings.Compare(a.Handle, b.Handle) })
	t := &Table{
		owners:  make([]owner, 1, len(sorted)+1),
		asns:    make(map[uint32]uint32, asns),
		domains: make(map[string]uint32, domains),
	}
	for _, o := range sorted {
		if n := len(t.owners); n > 1 && t.owners[n-1].handle == o.Handle {
			continue
		}
		e := uint32(len(t.owners))
		t.owners = append(t.owners, owner{handle: o.Handle, id: o.ID})
		for _, p := range o.Networks {
			p = unmapPrefix(p).Masked()
			if _, taken := t.prefixes.Get(p); !taken {
				t.prefixes.Insert(p, e)
			}
		}
		for _, asn := range o.ASNs {
			if _, taken := t.asns[asn]; !taken {
				t.asns[asn] = e
			}
		}
		for _, d := range o.Domains {
			if _, taken := t.domains[d]; !taken {
				t.domains[d] = e
			}
		}
	}
	t.buildIPv4Arrays()
	t.buildIPv6Filter()
	return t
}

// buildIPv6Filter fills deep6 and short6. A network of 24 to 31 bits puts
// each of its (at most 256) /32s into the filter, so that only the rare
// networks shorter than that live in short6.
func (t *Table) buildIPv6Filter() {
	keys := 0
	for p := range t.prefixes.All6() {
		if p.Bits() >= 24 {
			keys += 1 << max(0, 32-p.Bits())
		}
	}
	t.deep6 = newBloom(keys)
	for p, e := range t.prefixes.All6() {
		if p.Bits() < 24 {
			t.short6.Insert(p, e)
			continue
		}
		first := top32(p.Addr())
		for k := range uint32(1) << max(0, 32-p.Bits()) {
			t.deep6.add(first + k)
		}
	}
}

// buildIPv4Arrays paints the IPv4 networks into level16 and level24,
// shorter networks first so that longer ones overwrite what they cover:
// the cost follows the entries painted, not the address space.
func (t *Table) buildIPv4Arrays() {
	if t.prefixes.Size4() == 0 || len(t.owners) >= askTrie {
		return
	}
	type network struct {
		p netip.Prefix
		e uint16
	}
	var byLength [33][]network
	private := make([]bool, 1<<16) // the /16s that need a chunk of their own
	shared := map[uint16]uint32{}  // owner → the chunk of its whole /16s
	chunks := 1                    // nobody's
	// Count the chunks first: growing level24 chunk by chunk would copy
	// it over and over.
	for p, e := range t.prefixes.All4() {
		byLength[p.Bits()] = append(byLength[p.Bits()], network{p, uint16(e)})
		if p.Bits() > 16 {
			k := addr4(p.Addr()) >> 16
			if !private[k] {
				private[k] = true
				chunks++
			}
		} else if _, ok := shared[uint16(e)]; !ok {
			shared[uint16(e)] = 0 // no chunk yet
			chunks++
		}
	}
	clear(private)
	t.level16 = new([1 << 16]uint32)
	t.level24 = make([]uint16, 256, chunks<<8)
	newChunk := func(fill uint16) uint32 {
		n := len(t.level24)
		t.level24 = t.level24[:n+256]
		for j := range t.level24[n:] {
			t.level24[n+j] = fill
		}
		return uint32(n >> 8)
	}
	// chunk returns the chunk of a /16 to paint longer networks into,
	// copying the shared chunk it had.
	chunk := func(k uint32) []uint16 {
		if !private[k] {
			t.level16[k] = newChunk(t.level24[t.level16[k]<<8])
			private[k] = true
		}
		c := t.level16[k]
		return t.level24[c<<8 : (c+1)<<8]
	}
	for bits, networks := range byLength {
		for _, n := range networks {
			first := addr4(n.p.Addr())
			switch {
			case bits <= 16:
				c := shared[n.e]
				if c == 0 {
					c = newChunk(n.e)
					shared[n.e] = c
				}
				for k := first >> 16; k < first>>16+1<<(16-bits); k++ {
					t.level16[k] = c
				}
			case bits <= 24:
				c := chunk(first >> 16)
				for j := first >> 8 & 0xff; j < first>>8&0xff+1<<(24-bits); j++ {
					c[j] = n.e
				}
			default:
				chunk(first >> 16)[first>>8&0xff] = askTrie
			}
		}
	}
}

func addr4(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func top32(a netip.Addr) uint32 {
	b := a.As16()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// addrOwner returns the owner number of the longest network holding
// addr, 0 for nobody. The IPv4 path is written out here, small enough for
// the processor to overlap the cache misses of several lookups; the rest
// is out of line.
func (t *Table) addrOwner(addr netip.Addr) uint32 {
	if !addr.Is4() || t.level16 == nil {
		return t.otherAddrOwner(addr)
	}
	b := addr.As4()
	e := uint32(t.level24[t.level16[uint16(b[0])<<8|uint16(b[1])]<<8|uint32(b[2])])
	if e == askTrie {
		return t.trieOwner(&t.prefixes, addr)
	}
	return e
}

//go:noinline
func (t *Table) otherAddrOwner(addr netip.Addr) uint32 {
	if !addr.IsValid() {
		return 0
	}
	if addr.Is4In6() {
		return t.addrOwner(addr.Unmap())
	}
	if addr.Is4() { // a table without IPv4 arrays
		return t.trieOwner(&t.prefixes, addr)
	}
	if t.deep6.has(top32(addr)) {
		return t.trieOwner(&t.prefixes, addr)
	}
	if t.short6.Size() == 0 {
		return 0
	}
	return t.trieOwner(&t.short6, addr)
}

// trieOwner is kept out of line: inlined, the trie walk's locals would
// make every lookup set up a large stack frame, tripling the cost of the
// array path.
//
//go:noinline
func (t *Table) trieOwner(trie *bart.Table[uint32], addr netip.Addr) uint32 {
	e, _ := trie.Lookup(addr) // 0 when nobody's
	return e
}

// Organisations is how many organisations the table holds.
func (t *Table) Organisations() int { return len(t.owners) - 1 }

// Networks is how many networks the table holds.
func (t *Table) Networks() int { return t.prefixes.Size() }

// OwnerOf returns the handle of the organisation owning one side of an
// event: the address (invalid when absent), the AS number (0 when absent)
// and the normalized host name ("" when absent), in that order of
// precedence. It does not allocate.
func (t *Table) OwnerOf(addr netip.Addr, asn uint32, fqdn string) (string, bool) {
	var e uint32
	// addrOwner, written out: the call costs about a quarter of a lookup
	// (BenchmarkLookup).
	if addr.Is4() && t.level16 != nil {
		b := addr.As4()
		e = uint32(t.level24[t.level16[uint16(b[0])<<8|uint16(b[1])]<<8|uint32(b[2])])
		if e == askTrie {
			e = t.trieOwner(&t.prefixes, addr)
		}
	} else {
		e = t.otherAddrOwner(addr)
	}
	// The absent ASN and host name are tested first, so that a lookup
	// by address alone does not branch on its answer.
	if asn != 0 && e == 0 {
		e = t.asns[asn]
	}
	if fqdn != "" && e == 0 {
		e, _ = t.domainOwner(fqdn)
	}
	return t.owners[e].handle, e != 0
}

// domainOwner walks fqdn label by label from the full name towards its
// parent domains, so the longest registered domain wins; the suffixes are
// substrings of fqdn, so the walk does not allocate.
func (t *Table) domainOwner(fqdn string) (uint32, string) {
	for s := fqdn; ; {
		if e, ok := t.domains[s]; ok {
			return e, s
		}
		dot := strings.IndexByte(s, '.')
		if dot < 0 {
			return 0, ""
		}
		s = s[dot+1:]
	}
}

func (t *Table) match(e uint32, rule RuleKind, value string) Match {
	return Match{Handle: t.owners[e].handle, OrgID: t.owners[e].id, Rule: rule, Value: value}
}

// MatchAddr returns the organisation whose network is the longest to hold
// addr, and that network.
func (t *Table) MatchAddr(addr netip.Addr) (Match, bool) {
	if !addr.IsValid() {
		return Match{}, false
	}
	addr = addr.Unmap().WithZone("")
	p, e, ok := t.prefixes.LookupPrefixLPM(netip.PrefixFrom(addr, addr.BitLen()))
	if !ok {
		return Match{}, false
	}
	return t.match(e, RuleNetwork, p.String()), true
}

// MatchASN returns the organisation of an AS.
func (t *Table) MatchASN(asn uint32) (Match, bool) {
	e, ok := t.asns[asn]
	if !ok {
		return Match{}, false
	}
	return t.match(e, RuleASN, "AS"+strconv.FormatUint(uint64(asn), 10)), true
}

// MatchDomain returns the organisation with the longest domain that fqdn
// (normalized) is or is under, and that domain.
func (t *Table) MatchDomain(fqdn string) (Match, bool) {
	e, d := t.domainOwner(fqdn)
	if e == 0 {
		return Match{}, false
	}
	return t.match(e, RuleDomain, d), true
}

// MatchNetwork returns every network of the table that contains p or lies
// inside it, with its organisation, from the most specific (the longest)
// to the least: who owns all or part of p.
func (t *Table) MatchNetwork(p netip.Prefix) []Match {
	if !p.IsValid() {
		return nil
	}
	p = unmapPrefix(p).Masked()
	type hit struct {
		p netip.Prefix
		e uint32
	}
	var hits []hit
	for outer, e := range t.prefixes.Supernets(p) {
		hits = append(hits, hit{outer, e})
	}
	for inner, e := range t.prefixes.Subnets(p) {
		if inner != p { // Supernets gave the exact match already
			hits = append(hits, hit{inner, e})
		}
	}
	slices.SortFunc(hits, func(a, b hit) int {
		if c := cmp.Compare(b.p.Bits(), a.p.Bits()); c != 0 {
			return c
		}
		return a.p.Compare(b.p)
	})
	matches := make([]Match, len(hits))
	for j, h := range hits {
		matches[j] = t.match(h.e, RuleNetwork, h.p.String())
	}
	return matches
}

// MatchAddrAll returns every network holding addr with its organisation,
// from the longest (the owner events are tagged with) to the shortest: a
// university's network inside its research network's, say, names both.
func (t *Table) MatchAddrAll(addr netip.Addr) []Match {
	if !addr.IsValid() {
		return []Match{}
	}
	addr = addr.Unmap().WithZone("")
	matches := []Match{}
	// bart yields supernets from the longest to the shortest.
	for p, e := range t.prefixes.Supernets(netip.PrefixFrom(addr, addr.BitLen())) {
		matches = append(matches, t.match(e, RuleNetwork, p.String()))
	}
	return matches
}

// MatchDomainAll returns every registered domain that fqdn (normalized) is
// or is under, with its organisation, from the longest to the shortest.
func (t *Table) MatchDomainAll(fqdn string) []Match {
	matches := []Match{}
	for s := fqdn; ; {
		if e, ok := t.domains[s]; ok {
			matches = append(matches, t.match(e, RuleDomain, s))
		}
		dot := strings.IndexByte(s, '.')
		if dot < 0 {
			return matches
		}
		s = s[dot+1:]
	}
}

func unmapPrefix(p netip.Prefix) netip.Prefix {
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p
}

// Lookup answers "who owns this?" (console, API and CLI) for what an
// analyst types, listing every owner from the most specific to the least,
// each with the rule that matched: an IP address (every network holding
// it, the longest first, which is the owner events are tagged with), a
// network in CIDR form (every network containing it or inside it), an AS
// number (64496 or AS64496) or a domain (every registered domain it is or
// is under, the longest first). No match is an empty answer, not an
// error; the error is for a query that is none of these.
func (t *Table) Lookup(query string) ([]Match, error) {
	q := strings.TrimSpace(query)
	if addr, err := netip.ParseAddr(q); err == nil {
		return t.MatchAddrAll(addr), nil
	}
	if strings.Contains(q, "/") {
		p, err := netip.ParsePrefix(q)
		if err != nil {
			return nil, newFieldError("query", query, i18n.M("constituency.error.query.cidr"))
		}
		return t.MatchNetwork(p), nil
	}
	if isASN(q) {
		asn, err := ParseASN(q)
		if err != nil {
			return nil, fmt.Errorf("lookup: %w", err)
		}
		return one(t.MatchASN(asn)), nil
	}
	d, reason := normalizeDomain(q)
	if !reason.IsZero() {
		return nil, newFieldError("query", query, i18n.M("constituency.error.query"))
	}
	return t.MatchDomainAll(d), nil
}

// isASN tells an AS number from a domain: digits only, or AS and digits.
// A domain name of digits alone would be a top-level domain, which none is.
func isASN(q string) bool {
	if len(q) > 2 && (q[0] == 'A' || q[0] == 'a') && (q[1] == 'S' || q[1] == 's') {
		q = q[2:]
	}
	if q == "" {
		return false
	}
	for i := 0; i < len(q); i++ {
		if q[i] < '0' || q[i] > '9' {
			return false
		}
	}
	return true
}

func one(m Match, ok bool) []Match {
	if !ok {
		return []Match{}
	}
	return []Match{m}
}

// bloom is a Bloom filter of 32-bit keys whose bits for one key share one
// 64-bit word, so that a test is one memory read. At ten bits a key and
// three bits a word it answers "maybe" for about 2% of absent keys.
type bloom struct {
	words []uint64
	shift uint // 64 - log2(len(words))
}

func newBloom(keys int) bloom {
	n := 1
	for n*64 < keys*10 {
		n <<= 1
	}
	return bloom{words: make([]uint64, n), shift: uint(64 - bits.TrailingZeros(uint(n)))}
}

// hashes returns the word and the three bits of key: a multiplicative
// hash whose top bits pick the word and whose low bits the bits.
func (f *bloom) hashes(key uint32) (uint64, uint64) {
	h := (uint64(key) + 1) * 0x9E3779B97F4A7C15
	// The middle bits of a multiplicative hash mix all of the key's.
	mask := uint64(1)<<(h>>20&63) | uint64(1)<<(h>>26&63) | uint64(1)<<(h>>32&63)
	return h >> f.shift, mask // a shift of 64 gives word 0
}

func (f *bloom) add(key uint32) {
	w, m := f.hashes(key)
	f.words[w] |= m
}

func (f *bloom) has(key uint32) bool {
	if len(f.words) == 0 {
		return false
	}
	w, m := f.hashes(key)
	return f.words[w]&m == m
}
