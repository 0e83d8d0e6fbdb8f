package store

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/taxonomy"
)

// Filters are the event search filters by the names the API, the console
// and the command line all use.
var Filters = []string{"ip", "cidr", "asn", "fqdn", "url", "hash", "taxonomy", "type", "feed", "tlp", "from", "to", "org"}

// FilterError says why a filter value was refused, in words for a person.
type FilterError struct {
	Filter string
	Reason string
	// Message is Reason by catalogue ID, for the console, the API and
	// the command line to say in the reader's language.
	Message i18n.Message
}

func (e *FilterError) Error() string { return fmt.Sprintf("filter %s: %s", e.Filter, e.Reason) }

// SetFilter reads value for the named filter into q, normalized the way
// events are stored (so "AS64496", a defanged URL or "tlp:amber" find what
// they should). An empty value leaves q unchanged; a bad one is a
// *FilterError.
func (q *EventQuery) SetFilter(name, value string) error {
	value = strings.TrimSpace(value)
	if value == "" {
		return nil
	}
	bad := func(reason string, m i18n.Message) error {
		return &FilterError{Filter: name, Reason: reason, Message: m}
	}
	normalized := func(field, reason string, m i18n.Message) (string, error) {
		v, err := event.Normalize(field, value)
		if err != nil {
			return "", bad(reason, m)
		}
		return v, nil
	}
	var err error
	switch name {
	case "ip":
		a, perr := netip.ParseAddr(value)
		if perr != nil || a.Zone() != "" {
			return bad("not an IP address", i18n.M("search.error.ip"))
		}
		q.IP = a.Unmap()
	case "cidr":
		p, perr := netip.ParsePrefix(value)
		if perr != nil {
			// A bare address is a one-address network.
			a, aerr := netip.ParseAddr(value)
			if aerr != nil || a.Zone() != "" {
				return bad("not a CIDR prefix such as 192.0.2.0/24", i18n.M("search.error.cidr"))
			}
			p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		q.Prefix = p.Masked()
	case "asn":
		v, nerr := normalized("source.asn", "not an AS number (1-4294967295)", i18n.M("search.error.asn"))
		if nerr != nil {
			return nerr
		}
		n, _ := strconv.ParseUint(v, 10, 32)
		q.ASN = uint32(n)
	case "fqdn":
		q.FQDN, err = normalized("source.fqdn", "not a host name", i18n.M("search.error.fqdn"))
	case "url":
		q.URL, err = normalized("source.url", "not a URL", i18n.M("search.error.url"))
	case "hash":
		v := strings.ToLower(value)
		if HashColumn(v) == "" || strings.Trim(v, "0123456789abcdef") != "" {
			return bad("not an MD5, SHA-1 or SHA-256 hash in hex", i18n.M("search.error.hash"))
		}
		q.Hash = v
	case "taxonomy":
		v := strings.ToLower(value)
		if !taxonomy.ValidTaxonomy(v) {
			return bad("not an RSIT taxonomy", i18n.M("search.error.taxonomy"))
		}
		q.Taxonomy = v
	case "type":
		v := strings.ToLower(value)
		if !taxonomy.ValidType(v) {
			return bad("not an RSIT classification type", i18n.M("search.error.type"))
		}
		q.Type = v
	case "feed":
		q.Feed = value
	case "tlp":
		q.TLP, err = normalized("tlp", "not a TLP label (CLEAR, GREEN, AMBER, AMBER+STRICT, RED)", i18n.M("search.error.tlp"))
	case "org":
		v := strings.ToLower(value)
		if !ValidHandle(v) {
			return bad("not an organisation handle (letters, digits and '-')", i18n.M("search.error.org"))
		}
		q.Organisation = v
	case "from", "to":
		t, terr := parseFilterTime(value)
		if terr != nil {
			return bad("not a date-time (RFC 3339, such as 2026-11-20T10:00:00Z, or a date)", i18n.M("search.error.time"))
		}
		if name == "from" {
			q.From = t
		} else {
			q.To = t
		}
	default:
		return bad("no such filter", i18n.M("search.error.nofilter"))
	}
	return err
}

// parseFilterTime reads what a browser's datetime-local input sends (no
// seconds; UTC, as the forms say) or any date-time form events use.
func parseFilterTime(s string) (time.Time, error) {
	if t, err := time.Parse("2006-01-02T15:04", s); err == nil {
		return t, nil
	}
	return event.ParseTime(s)
}
