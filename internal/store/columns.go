package store

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
)

// This file holds what both SQL implementations share about how an event is
// indexed: which fields become columns, how IPs and host names are encoded so
// that a CIDR or a domain with its subdomains is one index range, and the
// keyset cursor. Keeping it in one place keeps the two stores' answers equal.

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
	var c EventColumns
	for _, f := range e.Fields() {
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
			if c.TimeSource == 0 {
				c.TimeSource = parseMicros(f.Value)
			}
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
	if c.TimeSource == 0 {
		c.TimeSource = stored.UnixMicro()
	}
	return c
}

// ValidHandle reports whether s can be an organisation's handle: one or
// more lower-case ASCII letters, digits and '-'. Handles are what events
// are tagged with and what a constituent's searches are confined to, so
// they have one spelling only.
func ValidHandle(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
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

// ErrBadCursor is returned for an EventQuery.After that no store wrote.
var ErrBadCursor = errors.New("malformed page cursor")

// Cursor is the position after which the next page starts: the last event's
// time.source (Unix microseconds) and its row id, which breaks ties.
type Cursor struct {
	TimeSource int64
	ID         int64
}

// String encodes the cursor for EventPage.Next.
func (c Cursor) String() string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(c.TimeSource))
	binary.BigEndian.PutUint64(b[8:], uint64(c.ID))
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// ParseCursor decodes EventQuery.After.
func ParseCursor(s string) (Cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) != 16 {
		return Cursor{}, ErrBadCursor
	}
	return Cursor{
		TimeSource: int64(binary.BigEndian.Uint64(b[:8])),
		ID:         int64(binary.BigEndian.Uint64(b[8:])),
	}, nil
}

// PageLimit applies EventQuery.Limit's default and maximum.
func PageLimit(n int) int {
	switch {
	case n <= 0:
		return 50
	case n > 10000:
		return 10000
	}
	return n
}

// RecordTime is the time the stores write for Created and Updated, in
// microseconds, which both keep exactly.
func RecordTime() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// MessageLimit applies MessageQuery.Limit's default (50) and maximum
// (1000); DueMessages takes its limit the same way.
func MessageLimit(n int) int {
	switch {
	case n <= 0:
		return 50
	case n > 1000:
		return 1000
	}
	return n
}

// The rest of this file is what both stores share about how an
// organisation is kept, for the same reason: equal answers from both.

// NormalizeOrganisation brings o's handle, networks, AS numbers and
// domains into the form the stores keep and return: networks masked, with
// IPv4-mapped prefixes as IPv4, sorted, without repeats; AS numbers and
// domains (lower case, without a trailing dot) sorted, without repeats;
// nil when there are none. It replaces the slices rather than changing
// them in place, since they may be the caller's. An invalid handle, network, AS number 0 or empty domain
// is an error.
func NormalizeOrganisation(o *Organisation) error {
	if !ValidHandle(o.Handle) {
		return fmt.Errorf("organisation handle %q: want lower-case letters, digits and '-'", o.Handle)
	}
	nets := make([]netip.Prefix, 0, len(o.Networks))
	for _, p := range o.Networks {
		if !p.IsValid() {
			return fmt.Errorf("organisation %s: invalid network %v", o.Handle, p)
		}
		if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
		}
		nets = append(nets, p.Masked())
	}
	slices.SortFunc(nets, netip.Prefix.Compare)
	o.Networks = slices.Compact(nets)

	asns := slices.Clone(o.ASNs)
	if slices.Contains(asns, 0) {
		return fmt.Errorf("organisation %s: AS number 0", o.Handle)
	}
	slices.Sort(asns)
	o.ASNs = slices.Compact(asns)

	domains := make([]string, 0, len(o.Domains))
	for _, d := range o.Domains {
		d = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(d)), ".")
		if d == "" {
			return fmt.Errorf("organisation %s: empty domain", o.Handle)
		}
		domains = append(domains, d)
	}
	slices.Sort(domains)
	o.Domains = slices.Compact(domains)
	// None is nil, as the stores return it.
	if len(o.Networks) == 0 {
		o.Networks = nil
	}
	if len(o.ASNs) == 0 {
		o.ASNs = nil
	}
	if len(o.Domains) == 0 {
		o.Domains = nil
	}
	return nil
}

// OrganisationSearchText is what OrganisationQuery.Text is looked up in:
// the handle, name, sector and contact e-mails, lower-cased (by Go, which
// knows more than ASCII, unlike SQLite's lower()), one a line. The stores
// keep it in a column and find a lower-cased query text in it as a
// substring; a text with a line break matches nothing.
func OrganisationSearchText(o *Organisation) string {
	parts := []string{o.Handle, o.Name, o.Sector}
	for _, c := range o.Contacts {
		parts = append(parts, c.Email)
	}
	return strings.ToLower(strings.Join(parts, "\n"))
}

// SearchTextQuery returns the lower-cased form of OrganisationQuery.Text
// to find in OrganisationSearchText, and false when it cannot match.
func SearchTextQuery(text string) (string, bool) {
	text = strings.ToLower(strings.TrimSpace(text))
	return text, !strings.Contains(text, "\n")
}

// KeepContactIDs prepares an organisation's new contacts for replacing its
// current ones: a contact keeps its ID when it carries one of current's;
// with byAddress, a contact without an ID takes the ID of a current contact
// with the same e-mail address (case-insensitive) and role, so that
// re-importing a file that carries no IDs keeps them stable. Every other
// ID is cleared: the contact is new.
func KeepContactIDs(current, contacts []Contact, byAddress bool) {
	free := make(map[int64]bool, len(current))
	for _, c := range current {
		free[c.ID] = true
	}
	for i := range contacts {
		if id := contacts[i].ID; id != 0 {
			if free[id] {
				free[id] = false
				continue
			}
			contacts[i].ID = 0
		}
	}
	if !byAddress {
		return
	}
	for i := range contacts {
		if contacts[i].ID != 0 {
			continue
		}
		for _, c := range current {
			if free[c.ID] && c.Role == contacts[i].Role && strings.EqualFold(c.Email, contacts[i].Email) {
				contacts[i].ID = c.ID
				free[c.ID] = false
				break
			}
		}
	}
}

// SameOrganisation reports whether a and b hold the same record, apart
// from ID and times: what an import compares to leave an unchanged
// organisation (and the constituency version) alone. Both must be
// normalized.
func SameOrganisation(a, b *Organisation) bool {
	return a.Handle == b.Handle && a.Name == b.Name && a.Sector == b.Sector && a.Country == b.Country &&
		a.Language == b.Language && a.Notes == b.Notes &&
		slices.Equal(a.Networks, b.Networks) && slices.Equal(a.ASNs, b.ASNs) &&
		slices.Equal(a.Domains, b.Domains) && slices.Equal(a.Contacts, b.Contacts)
}

// PrepareMessage fills in what CommitNotifications sets on a message it
// queues: Size, and when zero, Status (queued), Created (at) and
// NextAttempt (Created, so that it is due at once).
func PrepareMessage(m *OutboxMessage, at time.Time) {
	m.Size = len(m.Body)
	if m.Status == "" {
		m.Status = MessageQueued
	}
	if m.Created.IsZero() {
		m.Created = at
	}
	if m.NextAttempt.IsZero() {
		m.NextAttempt = m.Created
	}
}
