// Package lookup says what Vigil knows of the observables of an incident
// or a report: the organisations of the constituency that own each one
// (most specific first), how many stored events name it, and when it was
// first and last seen in them.
//
// The work is bounded: at most MaxObservables observables are looked up
// at once (the rest are listed without a lookup), the events are counted
// up to EventCap, and every question asked of the store is one of its
// indexed searches (an address, a domain and its subdomains, a URL, a
// hash), never a scan of the events. The constituency is asked through
// its in-memory table. What is looked up is for the team only: nothing
// here filters by organisation, so the portal never calls it.
package lookup

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/incident/extract"
	"github.com/vigil-cert/vigil/internal/store"
)

// MaxObservables is how many observables one Look looks up; those after
// it are listed without a lookup.
const MaxObservables = 50

// EventCap is how many events are counted for one observable: a count
// above it means "more than EventCap".
const EventCap = 1000

// Events is what a lookup reads of the event store.
type Events interface {
	SearchEvents(ctx context.Context, q store.EventQuery) (store.EventPage, error)
	CountMatches(ctx context.Context, q store.EventQuery, bound int) (int, error)
}

// Looker looks observables up in the event store and the constituency.
type Looker struct {
	Events Events
	// Orgs names the owners; with a nil Directory it is also what the
	// constituency table is built from.
	Orgs constituency.OrganisationReader
	// Directory is the pipeline's constituency table, nil to build one
	// from Orgs for each lookup.
	Directory *constituency.Directory
}

// Known is what Vigil knows of one observable.
type Known struct {
	extract.Observable
	// Looked says the observable was looked up: false for a kind Vigil
	// keeps nothing about (a phone number, a CVE id) and for one past
	// MaxObservables.
	Looked bool
	// Host is what the constituency was asked: the address, the domain,
	// the URL's host or the e-mail address's domain; "" for a hash.
	Host string
	// Field and Term are the events search that finds the events
	// counted: its parameter (ip, fqdn, url or hash) and value; Field is
	// "" when the events were not searched.
	Field, Term string
	// ASN is the autonomous system the newest event naming an address
	// puts it in, 0 when unknown.
	ASN uint32
	// Owners are the organisations owning Host (or, for an address no
	// network of the constituency holds, its ASN), most specific first.
	Owners []constituency.Owner
	// Events is the number of stored events naming the observable, up to
	// EventCap+1, which means more than EventCap.
	Events int
	// First and Last are the oldest and newest time.source of those
	// events, zero without any.
	First, Last time.Time
}

// MoreEvents reports whether more than EventCap events name the
// observable.
func (k Known) MoreEvents() bool { return k.Events > EventCap }

// Result is the lookup of a list of observables, in their order.
type Result struct {
	Observables []Known
	// Skipped counts the observables that could have been looked up but
	// were not, being past MaxObservables.
	Skipped int
}

// Lookable reports whether Vigil can look up an observable of kind k.
func Lookable(k extract.Kind) bool {
	switch k {
	case extract.IP, extract.Domain, extract.URL, extract.Email, extract.MD5, extract.SHA1, extract.SHA256:
		return true
	}
	return false
}

// Look looks up the first MaxObservables lookable observables of obs:
// their owners and the events naming them.
func (l *Looker) Look(ctx context.Context, obs []extract.Observable) (Result, error) {
	return l.look(ctx, obs, true)
}

// Owners looks up only the owners of the first MaxObservables lookable
// observables of obs, which reads the constituency table and nothing of
// the events: cheap enough for each row of a list.
func (l *Looker) Owners(ctx context.Context, obs []extract.Observable) (Result, error) {
	return l.look(ctx, obs, false)
}

func (l *Looker) look(ctx context.Context, obs []extract.Observable, events bool) (Result, error) {
	res := Result{Observables: make([]Known, len(obs))}
	var table *constituency.Table
	names := map[int64]constituency.Owner{}
	looked := 0
	for i, o := range obs {
		k := Known{Observable: o}
		res.Observables[i] = k
		if !Lookable(o.Kind) {
			continue
		}
		if looked == MaxObservables {
			res.Skipped++
			continue
		}
		looked++
		if table == nil {
			var err error
			if table, err = constituency.TableOf(ctx, l.Directory, l.Orgs); err != nil {
				return Result{}, err
			}
		}
		k.Looked = true
		k.Host, k.Field, k.Term = target(o)
		if events && k.Field != "" {
			if err := l.events(ctx, &k); err != nil {
				return Result{}, fmt.Errorf("look up %s %q: %w", o.Kind, o.Value, err)
			}
		}
		owners, err := l.named(ctx, names, ownersOf(table, k))
		if err != nil {
			return Result{}, err
		}
		k.Owners = owners
		res.Observables[i] = k
	}
	return res, nil
}

// target returns what the constituency is asked of o (its host) and the
// events search for it.
func target(o extract.Observable) (host, field, term string) {
	switch o.Kind {
	case extract.IP:
		return o.Value, "ip", o.Value
	case extract.Domain:
		return o.Value, "fqdn", o.Value
	case extract.URL:
		u, err := url.Parse(o.Value)
		if err != nil {
			return "", "url", o.Value
		}
		return strings.ToLower(strings.TrimSuffix(u.Hostname(), ".")), "url", o.Value
	case extract.Email:
		at := strings.LastIndexByte(o.Value, '@')
		if at < 0 || at == len(o.Value)-1 {
			return "", "", ""
		}
		d := strings.ToLower(o.Value[at+1:])
		return d, "fqdn", d
	case extract.MD5, extract.SHA1, extract.SHA256:
		return "", "hash", o.Value
	}
	return "", "", ""
}

// query is the events search of a field and term; false when the term
// cannot be searched (an address that does not parse).
func query(field, term string) (store.EventQuery, bool) {
	switch field {
	case "ip":
		addr, err := netip.ParseAddr(term)
		if err != nil {
			return store.EventQuery{}, false
		}
		return store.EventQuery{IP: addr.Unmap()}, true
	case "fqdn":
		return store.EventQuery{FQDN: term}, true
	case "url":
		return store.EventQuery{URL: term}, true
	case "hash":
		return store.EventQuery{Hash: term}, true
	}
	return store.EventQuery{}, false
}

// events counts the events naming k (up to EventCap+1) and reads the
// newest and the oldest: three indexed searches, one when none match.
func (l *Looker) events(ctx context.Context, k *Known) error {
	q, ok := query(k.Field, k.Term)
	if !ok {
		k.Field = ""
		return nil
	}
	n, err := l.Events.CountMatches(ctx, q, EventCap)
	if err != nil || n == 0 {
		return err
	}
	k.Events = n
	q.Limit = 1
	newest, err := l.Events.SearchEvents(ctx, q)
	if err != nil {
		return err
	}
	q.Ascending = true
	oldest, err := l.Events.SearchEvents(ctx, q)
	if err != nil {
		return err
	}
	if len(newest.Events) > 0 {
		e := newest.Events[0].Event
		k.Last, _ = e.Time("time.source")
		if k.Field == "ip" {
			k.ASN = asnOf(e, k.Term)
		}
	}
	if len(oldest.Events) > 0 {
		k.First, _ = oldest.Events[0].Event.Time("time.source")
	}
	return nil
}

// asnOf is the AS number e gives the side whose address is addr, 0 when
// it gives none.
func asnOf(e *event.Event, addr string) uint32 {
	want, err := netip.ParseAddr(addr)
	if err != nil {
		return 0
	}
	for _, side := range []string{"source", "destination"} {
		got, err := netip.ParseAddr(e.Value(side + ".ip"))
		if err != nil || got.Unmap() != want.Unmap() {
			continue
		}
		if asn, err := constituency.ParseASN(e.Value(side + ".asn")); err == nil && asn != 0 {
			return asn
		}
	}
	return 0
}

// ownersOf is every match of the table for k, most specific first: the
// networks holding an address (then its AS when no network does, as the
// pipeline decides), or the domains holding a name.
func ownersOf(t *constituency.Table, k Known) []constituency.Match {
	if k.Host == "" {
		return nil
	}
	if addr, err := netip.ParseAddr(strings.Trim(k.Host, "[]")); err == nil {
		out := t.MatchAddrAll(addr.Unmap())
		if len(out) == 0 && k.ASN != 0 {
			if m, ok := t.MatchASN(k.ASN); ok {
				out = append(out, m)
			}
		}
		return out
	}
	return t.MatchDomainAll(k.Host)
}

// named gives each match its organisation's name, reading each
// organisation once for all the observables of one lookup.
func (l *Looker) named(ctx context.Context, names map[int64]constituency.Owner, matches []constituency.Match) ([]constituency.Owner, error) {
	if len(matches) == 0 {
		return nil, nil
	}
	out := make([]constituency.Owner, 0, len(matches))
	for _, m := range matches {
		o, ok := names[m.OrgID]
		if !ok {
			org, err := l.Orgs.GetOrganisation(ctx, m.OrgID)
			switch {
			case err == nil:
				o.Name, o.Disabled = org.Name, org.Disabled
			case !errors.Is(err, store.ErrNotFound):
				return nil, fmt.Errorf("owner %s: %w", m.Handle, err)
			}
			names[m.OrgID] = o
		}
		o.Match = m
		out = append(out, o)
	}
	return out, nil
}
