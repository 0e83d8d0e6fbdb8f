package enricher

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strconv"

	"github.com/vigil-cert/vigil/internal/pipeline"
)

func init() {
	pipeline.RegisterEnricher("constituency",
		"tag events with extra.constituency, the constituent organisations owning their addresses, ASNs or domains",
		func(_ pipeline.Env, opts pipeline.Options) (pipeline.Enricher, error) {
			if bad := opts.Unknown(); len(bad) > 0 {
				return nil, fmt.Errorf("constituency: unknown options %v", bad)
			}
			// The constituency table (issue 3) supplies the real source
			// and wires NewConstituency itself; until then the
			// registered enricher is configured but does nothing.
			return NewConstituency(nil), nil
		})
}

// Constituency answers which constituent organisations own an address, an
// AS or a domain. Implementations must be safe for concurrent use and
// cheap: they are asked for every event. The organisation table of the
// constituency management is the real one.
type Constituency interface {
	Lookup(addr netip.Addr) []string
	LookupASN(asn uint32) []string
	// LookupDomain is asked with a normalized FQDN; it matches the domains
	// an organisation registered and their subdomains.
	LookupDomain(fqdn string) []string
}

// ConstituencyTagger sets extra.constituency to the JSON list of the
// organisations that own the event's source or destination (by ip, asn or
// fqdn), sorted and without repeats. Events that belong to nobody are left
// as they are, so an earlier tag survives.
type ConstituencyTagger struct {
	source Constituency
}

// NewConstituency returns the tagger over c; with a nil c it does nothing.
func NewConstituency(c Constituency) *ConstituencyTagger {
	return &ConstituencyTagger{source: c}
}

// Enrich implements pipeline.Enricher.
func (t *ConstituencyTagger) Enrich(_ context.Context, b *pipeline.Batch) error {
	if t.source == nil {
		return nil
	}
	var (
		orgs []string
		buf  bytes.Buffer
		enc  = json.NewEncoder(&buf)
	)
	enc.SetEscapeHTML(false) // "AT&T", not "AT\u0026T"
	for _, e := range b.Events {
		orgs = orgs[:0]
		for i := range sides {
			k := &sides[i]
			if v, ok := e.Get(k.ip); ok {
				if addr, err := netip.ParseAddr(v); err == nil {
					orgs = append(orgs, t.source.Lookup(addr)...)
				}
			}
			if v, ok := e.Get(k.asn); ok {
				if n, err := strconv.ParseUint(v, 10, 32); err == nil {
					orgs = append(orgs, t.source.LookupASN(uint32(n))...)
				}
			}
			if v, ok := e.Get(k.fqdn); ok {
				orgs = append(orgs, t.source.LookupDomain(v)...)
			}
		}
		if len(orgs) == 0 {
			continue
		}
		slices.Sort(orgs)
		orgs = slices.Compact(orgs)
		buf.Reset()
		if err := enc.Encode(orgs); err != nil {
			return fmt.Errorf("constituency: %w", err) // []string always encodes
		}
		e.SetTrusted("extra.constituency", string(bytes.TrimSuffix(buf.Bytes(), []byte("\n"))))
	}
	return nil
}

var _ pipeline.Enricher = (*ConstituencyTagger)(nil)
