package store

import (
	"encoding/json"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
)

// This file holds what both SQL implementations share about how an event is
// indexed: which fields become columns, how IPs and host names are encoded so
// that a CIDR or a domain with its subdomains is one index range. Keeping it
// in one place keeps the two stores' answers equal.

// EventColumns are the fields of an event extracted into indexed columns.
// Zero values mean "absent" and are stored as NULL, so partial indexes skip
// them.
type EventColumns struct {
	// TimeSource is time.source in Unix microseconds; an event without one
	// falls back to time.observation, then to the time it was stored, so
	// that every event has a place in the newest-first order.
	TimeSource       int64
	Feed             string
	Taxonomy         string
	Type             string
	TLP              string
	SrcIP, DstIP     IPKey
	SrcASN, DstASN   int64
	SrcFQDN, DstFQDN string // reversed by label, see ReverseFQDN
	SrcURL, DstURL   string
	// MD5, SHA1 and SHA256 are malware.hash.*; a searched hash picks its
	// column by length, so one lookup finds any of them.
	MD5, SHA1, SHA256 string
	// Orgs are the handles of extra.constituency, sorted and without
	// repeats; nil for an event that belongs to no constituent. The stores
	// index them (EventQuery.Organisation) and queue a notification for
	// each when the event is new.
	Orgs []string
}

// IPKey is an address as a 16-byte key, IPv4 mapped into IPv6, so that
// addresses sort numerically and a prefix is one BETWEEN range. The zero
// key means no address.
type IPKey struct {
	b  [16]byte
	ok bool
}

// MakeIPKey encodes an address.
func MakeIPKey(a netip.Addr) IPKey {
	if !a.IsValid() {
		return IPKey{}
	}
	return IPKey{b: a.Unmap().As16(), ok: true}
}

// IPKeyFromBytes returns the key whose Bytes are b, a column's 16 bytes
// as a store wrote them: no address unless b has 16 bytes.
func IPKeyFromBytes(b []byte) IPKey {
	if len(b) != 16 {
		return IPKey{}
	}
	return IPKey{b: [16]byte(b), ok: true}
}

// Addr returns the key's address, IPv4 unmapped as an event shows it, or
// the zero Addr for no address.
func (k IPKey) Addr() netip.Addr {
	if !k.ok {
		return netip.Addr{}
	}
	return netip.AddrFrom16(k.b).Unmap()
}

// Valid reports whether the key holds an address.
func (k IPKey) Valid() bool { return k.ok }

// Bytes returns the 16-byte key, or nil for no address. The slice aliases
// k, so k must outlive its use.
func (k *IPKey) Bytes() []byte {
	if !k.ok {
		return nil
	}
	return k.b[:]
}

// PrefixRange returns the first and last address keys of p.
func PrefixRange(p netip.Prefix) (first, last [16]byte) {
	p = p.Masked()
	a := p.Addr()
	bits := p.Bits()
	if a.Is4() {
		bits += 96
	}
	first = a.As16()
	last = first
	for i := bits; i < 128; i++ {
		last[i/8] |= 0x80 >> (i % 8)
	}
	return first, last
}

// ReverseFQDN writes a host name by label from the top down with a trailing
// dot: "www.example.be" becomes "be.example.www.". A domain and all its
// subdomains then share the prefix "be.example.", which is the index range
// [be.example., be.example/) ('/' follows '.' in ASCII), and
// "notexample.be" ("be.notexample.") falls outside it.
func ReverseFQDN(name string) string {
	name = strings.TrimSuffix(strings.ToLower(name), ".")
	if name == "" {
		return ""
	}
	var b strings.Builder
	b.Grow(len(name) + 1)
	end := len(name)
	for i := len(name) - 1; i >= -1; i-- {
		if i == -1 || name[i] == '.' {
			b.WriteString(name[i+1 : end])
			b.WriteByte('.')
			end = i
		}
	}
	return b.String()
}

// FQDNRange returns the reversed-name range [from, to) holding name and its
// subdomains.
func FQDNRange(name string) (from, to string) {
	from = ReverseFQDN(name)
	if from == "" {
		return "", ""
	}
	return from, from[:len(from)-1] + "/"
}

// ExtractColumns reads the indexed columns of e; stored is the fallback time.
func ExtractColumns(e *event.Event, stored time.Time) EventColumns {
	var (
		c           EventColumns
		observation string
	)
	for _, f := range e.FieldsExceptRaw() {
		switch f.Key {
		case "classification.taxonomy":
			c.Taxonomy = f.Value
		case "classification.type":
			c.Type = f.Value
		case "destination.asn":
			c.DstASN = parseASN(f.Value)
		case "destination.fqdn":
			c.DstFQDN = ReverseFQDN(f.Value)
		case "destination.ip":
			c.DstIP = parseIPKey(f.Value)
		case "destination.url":
			c.DstURL = f.Value
		case "feed.name":
			c.Feed = f.Value
		case "malware.hash.md5":
			c.MD5 = f.Value
		case "malware.hash.sha1":
			c.SHA1 = f.Value
		case "malware.hash.sha256":
			c.SHA256 = f.Value
		case "source.asn":
			c.SrcASN = parseASN(f.Value)
		case "source.fqdn":
			c.SrcFQDN = ReverseFQDN(f.Value)
		case "source.ip":
			c.SrcIP = parseIPKey(f.Value)
		case "source.url":
			c.SrcURL = f.Value
		case "time.observation":
			// Parsed only when time.source does not give the time: most
			// events have both (0.2 µs an event of an ingest's CPU).
			observation = f.Value
		case "time.source":
			if t := parseMicros(f.Value); t != 0 {
				c.TimeSource = t
			}
		case "tlp":
			c.TLP = f.Value
		case ConstituencyField:
			c.Orgs = parseHandles(f.Value)
		}
	}
	if c.TimeSource == 0 && observation != "" {
		c.TimeSource = parseMicros(observation)
	}
	if c.TimeSource == 0 {
		c.TimeSource = stored.UnixMicro()
	}
	return c
}

// parseHandles reads extra.constituency (ConstituencyField), a JSON list
// of handles, for the index (EventOrganisations reads it from one event,
// without checking the handles). The
// constituency enricher always writes a valid list of valid handles, so
// anything else came from outside (an imported IntelMQ event, a hand-made
// file): a value that is not a list of strings tags nothing, and entries
// that are not valid handles are left out, rather than failing the whole
// batch the event arrived in. Nothing of that is reported, because
// nothing written by Vigil can cause it; the event itself keeps the value
// as it came.
func parseHandles(v string) []string {
	var list []string
	if err := json.Unmarshal([]byte(v), &list); err != nil {
		return nil
	}
	out := list[:0]
	for _, h := range list {
		if ValidHandle(h) {
			out = append(out, h)
		}
	}
	if len(out) == 0 {
		return nil
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func parseASN(s string) int64 {
	n, _ := strconv.ParseUint(s, 10, 32)
	return int64(n)
}

func parseIPKey(s string) IPKey {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return IPKey{}
	}
	return MakeIPKey(a)
}

// parseMicros reads the canonical date-time form quickly, falling back to
// event.ParseTime for anything else.
func parseMicros(s string) int64 {
	if t, ok := event.ParseCommonTime(s); ok {
		// Whole seconds in UTC, FormatTime's form: most values, read
		// without time.Parse (0.66 µs an event of an ingest's CPU).
		return t.UnixMicro()
	}
	t, err := time.Parse(event.TimeLayout+"Z07:00", s)
	if err != nil {
		if t, err = event.ParseTime(s); err != nil {
			return 0
		}
	}
	return t.UnixMicro()
}

// HashColumn names which malware hash column a searched hash belongs to, by
// its length: "md5", "sha1", "sha256", or "" for none.
func HashColumn(h string) string {
	switch len(h) {
	case 32:
		return "md5"
	case 40:
		return "sha1"
	case 64:
		return "sha256"
	}
	return ""
}
