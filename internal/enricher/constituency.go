package enricher

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/pipeline"
	"github.com/vigil-cert/vigil/internal/store"
)

func init() {
	pipeline.RegisterEnricher("constituency",
		"tag events with extra.constituency, the constituents owning their source and destination (by network, else AS, else domain)",
		func(env pipeline.Env, opts pipeline.Options) (pipeline.Enricher, error) {
			var o struct {
				// Sides are the sides tagged; absent, both.
				Sides []string `opt:"sides"`
			}
			if err := opts.Decode(&o); err != nil {
				return nil, fmt.Errorf("constituency: %w", err)
			}
			sides := o.Sides
			if sides == nil {
				sides = []string{"source", "destination"}
			}
			if len(sides) == 0 {
				return nil, fmt.Errorf("constituency: %w", pipeline.OptionProblem("enricher.constituency.nosides"))
			}
			if env.Constituency == nil {
				return nil, errConstituencyMissing
			}
			t := NewConstituency(env.Constituency)
			t.source, t.destination = false, false
			for _, side := range sides {
				switch side {
				case "source":
					t.source = true
				case "destination":
					t.destination = true
				default:
					return nil, fmt.Errorf("constituency: %w", pipeline.OptionProblem("enricher.constituency.side", side))
				}
			}
			return t, nil
		})
}

// errConstituencyMissing is what a process that built its pipeline without
// the organisations table gets, rather than a pipeline that silently tags
// nothing.
var errConstituencyMissing = errors.New("constituency: this process has no constituency table to look organisations up in (pipeline.Env.Constituency is nil)")

// ConstituencyTagger sets extra.constituency to the JSON list of the
// handles of the organisations owning the event's source and destination,
// sorted and without repeats: an event can concern two organisations (an
// attack from one constituent on another). Each side belongs to at most
// one organisation, by pipeline.Constituency's precedence.
//
// The tag is Vigil's own: whatever extra.constituency an event arrived
// with (an IntelMQ file from a peer, a forged line) is replaced, and
// removed from events that belong to nobody. The store files events under
// this tag and each constituent's portal shows what is filed under its
// name, so a tag from outside must never survive.
type ConstituencyTagger struct {
	table pipeline.Constituency
	// source and destination choose the sides looked at (both by
	// default). A team whose honeypots sit in a constituent's network
	// looks at the source only, so that attacks on the honeypots are not
	// told to the network's owner.
	source, destination bool
}

// NewConstituency returns the tagger over c, which must not be nil,
// looking at both sides.
func NewConstituency(c pipeline.Constituency) *ConstituencyTagger {
	return &ConstituencyTagger{table: c, source: true, destination: true}
}

// Enrich implements pipeline.Enricher.
func (t *ConstituencyTagger) Enrich(_ context.Context, b *pipeline.Batch) error {
	var buf []byte
	for _, e := range b.Events {
		var (
			source, destination         string
			fromSource, fromDestination bool
		)
		if t.source {
			source, fromSource = t.owner(e, &sides[0])
		}
		if t.destination {
			destination, fromDestination = t.owner(e, &sides[1])
		}
		var owners [2]string
		n := 0
		switch {
		case fromSource && fromDestination && source != destination:
			owners, n = [2]string{min(source, destination), max(source, destination)}, 2
		case fromSource:
			owners[0], n = source, 1
		case fromDestination:
			owners[0], n = destination, 1
		default:
			e.Delete(store.ConstituencyField)
			continue
		}
		buf = append(buf[:0], '[')
		for i, h := range owners[:n] {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = event.AppendJSONString(buf, h)
		}
		buf = append(buf, ']')
		e.SetTrusted(store.ConstituencyField, string(buf))
	}
	return nil
}

// MayAdd implements pipeline.FieldAdder: the tag.
func (t *ConstituencyTagger) MayAdd(func(key string) bool) []string {
	return []string{store.ConstituencyField}
}

// owner asks for one side. Values that do not parse count as absent: the
// event package validated them, and a wrong one is no reason to drop the
// other clues.
func (t *ConstituencyTagger) owner(e *event.Event, k *sideKeys) (string, bool) {
	var (
		addr netip.Addr
		asn  uint32
	)
	if v, ok := e.Get(k.ip); ok {
		addr, _ = netip.ParseAddr(v)
	}
	if v, ok := e.Get(k.asn); ok {
		if n, err := strconv.ParseUint(v, 10, 32); err == nil {
			asn = uint32(n)
		}
	}
	fqdn, _ := e.Get(k.fqdn)
	if !addr.IsValid() && asn == 0 && fqdn == "" {
		return "", false
	}
	return t.table.OwnerOf(addr, asn, fqdn)
}

var (
	_ pipeline.Enricher   = (*ConstituencyTagger)(nil)
	_ pipeline.FieldAdder = (*ConstituencyTagger)(nil)
)
