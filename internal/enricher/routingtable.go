package enricher

import (
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"

	"github.com/gaissmai/bart"
)

// RoutingTable maps IP prefixes to their origin AS, read from a RouteViews
// prefix-to-AS file, and AS numbers to names. It is immutable once built
// (LoadNames belongs to building it), so any number of goroutines may look
// up at once and a reload swaps in a whole new table.
type RoutingTable struct {
	prefixes bart.Table[route]
	origins  map[uint32]*asOrigin
	names    map[uint32]string
	count    int
	// Malformed are the routing table lines that were skipped.
	Malformed LineErrors
	// MalformedNames are the AS names lines that were skipped.
	MalformedNames LineErrors
}

// route is what the trie holds per prefix. The texts are computed once at
// load so a lookup writes them into events without allocating.
type route struct {
	network string // the prefix, canonical (masked) text
	origin  *asOrigin
}

// asOrigin is shared by all the prefixes of one AS.
type asOrigin struct {
	asn  uint32
	text string // decimal ASN
	name string
}

// ASInfo is the answer of a routing table lookup.
type ASInfo struct {
	ASN     uint32
	Name    string // "" when the AS names file did not list it
	Network string // the most specific announced prefix holding the address
}

// networkChunk is how much prefix text is gathered before it becomes one
// string that the routes of the chunk slice: a million prefixes become a
// few hundred allocations instead of a million.
const networkChunk = 64 << 10

// LoadRoutingTable reads a RouteViews pfx2as file (IPv4 or IPv6):
//
//	1.0.0.0	24	13335
//
// separated by tabs or spaces; "1.0.0.0/24 13335" is read too. A prefix
// announced by several origins (13335_4826) or with an AS set as origin
// (13335,4826) is attributed to the first AS listed: events carry one
// source.asn, and RouteViews lists the origin seen by most peers first.
// Malformed lines are skipped and counted in Malformed; the error is for an
// unreadable stream or a file without a single prefix.
func LoadRoutingTable(r io.Reader) (*RoutingTable, error) {
	t := &RoutingTable{origins: make(map[uint32]*asOrigin), names: map[uint32]string{}}
	type pending struct {
		prefix     netip.Prefix
		origin     *asOrigin
		start, end int
	}
	var (
		text  = make([]byte, 0, networkChunk)
		batch []pending
	)
	flush := func() {
		s := string(text)
		for _, p := range batch {
			t.prefixes.Insert(p.prefix, route{network: s[p.start:p.end], origin: p.origin})
		}
		text, batch = text[:0], batch[:0]
	}
	err := readLines(r, &t.Malformed, func(line string) bool {
		prefix, asn, ok := parsePfx2asLine(line)
		if !ok {
			return false
		}
		o := t.origins[asn]
		if o == nil {
			o = &asOrigin{asn: asn, text: strconv.FormatUint(uint64(asn), 10)}
			t.origins[asn] = o
		}
		if len(text)+len("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128") > cap(text) {
			flush()
		}
		start := len(text)
		text = prefix.AppendTo(text)
		batch = append(batch, pending{prefix: prefix, origin: o, start: start, end: len(text)})
		t.count++
		return true
	})
	flush()
	if err != nil {
		return nil, fmt.Errorf("read routing table: %w", err)
	}
	if t.count == 0 {
		return nil, &noPrefixesError{t.Malformed}
	}
	return t, nil
}

// noPrefixesError is a routing table file without a single prefix: not
// a routing table, or one whose every line is malformed.
type noPrefixesError struct{ malformed LineErrors }

func (e *noPrefixesError) Error() string {
	return fmt.Sprintf("read routing table: no prefixes (malformed lines: %s)", e.malformed)
}

// parsePfx2asLine reads "addr<ws>bits<ws>origin" or "addr/bits<ws>origin".
func parsePfx2asLine(line string) (netip.Prefix, uint32, bool) {
	var fields [3]string
	n := 0
	for f := range strings.FieldsSeq(line) {
		if n == len(fields) {
			return netip.Prefix{}, 0, false
		}
		fields[n] = f
		n++
	}
	var (
		prefix netip.Prefix
		err    error
		origin string
	)
	switch n {
	case 2:
		prefix, err = netip.ParsePrefix(fields[0])
		origin = fields[1]
	case 3:
		var addr netip.Addr
		addr, err = netip.ParseAddr(fields[0])
		if err != nil {
			return netip.Prefix{}, 0, false
		}
		bits, convErr := strconv.Atoi(fields[1])
		if convErr != nil {
			return netip.Prefix{}, 0, false
		}
		prefix, err = addr.Prefix(bits)
		origin = fields[2]
	default:
		return netip.Prefix{}, 0, false
	}
	if err != nil || prefix.Addr().Zone() != "" {
		return netip.Prefix{}, 0, false
	}
	if prefix.Addr().Is4In6() {
		if prefix.Bits() < 96 {
			return netip.Prefix{}, 0, false
		}
		prefix = netip.PrefixFrom(prefix.Addr().Unmap(), prefix.Bits()-96)
	}
	// Multi-origin and AS-set announcements: keep the first AS.
	if i := strings.IndexAny(origin, "_,"); i >= 0 {
		origin = origin[:i]
	}
	asn, ok := parseASN(origin)
	if !ok {
		return netip.Prefix{}, 0, false
	}
	return prefix.Masked(), asn, true
}

// parseASN reads "13335" or "AS13335"; 0 is not an AS number.
func parseASN(s string) (uint32, bool) {
	if len(s) > 2 && (s[0] == 'A' || s[0] == 'a') && (s[1] == 'S' || s[1] == 's') {
		s = s[2:]
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil || n == 0 {
		return 0, false
	}
	return uint32(n), true
}

// LoadNames reads an AS names file, one AS a line, the number (with or
// without "AS") and the rest of the line as its name, as RouteViews' and
// potaroo's asnames lists have it:
//
//	13335 CLOUDFLARENET - Cloudflare, Inc., US
//
// Call it while building the table, before the first lookup. Malformed
// lines go to MalformedNames; invalid UTF-8 is replaced, since a name ends
// up in events that must be valid UTF-8.
func (t *RoutingTable) LoadNames(r io.Reader) error {
	err := readLines(r, &t.MalformedNames, func(line string) bool {
		i := strings.IndexAny(line, " \t")
		if i < 0 {
			return false
		}
		asn, ok := parseASN(line[:i])
		if !ok {
			return false
		}
		name := strings.ToValidUTF8(strings.TrimSpace(line[i:]), "\uFFFD")
		if name == "" {
			return false
		}
		t.names[asn] = name
		return true
	})
	if err != nil {
		return fmt.Errorf("read AS names: %w", err)
	}
	for asn, o := range t.origins {
		o.name = t.names[asn]
	}
	return nil
}

// Len is the number of prefixes read (a prefix listed twice counts twice).
func (t *RoutingTable) Len() int { return t.count }

// Lookup finds the most specific prefix holding addr.
func (t *RoutingTable) Lookup(addr netip.Addr) (ASInfo, bool) {
	r, ok := t.prefixes.Lookup(addr.Unmap())
	if !ok {
		return ASInfo{}, false
	}
	return ASInfo{ASN: r.origin.asn, Name: r.origin.name, Network: r.network}, true
}

// Name returns the name of an AS, "" when unknown.
func (t *RoutingTable) Name(asn uint32) string { return t.names[asn] }
