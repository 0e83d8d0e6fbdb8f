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
	"golang.org/x/sync/errgroup"
)

// MaxObservables is how many observables one Look looks up; those after
// it are listed without a lookup.
const MaxObservables = 50

// EventCap is how many events are counted for one observable: a count
// above it means "more than EventCap".
const EventCap = 1000

// Parallel is how many observables' events are searched at once.
const Parallel = 4

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

	// names are the owners' names read so far, so that a Looker used for
	// several lookups of one page reads each organisation once. A Looker
	// is for one request at a time.
	names map[int64]constituency.Owner
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
	// Undated says First and Last were not read: a domain named by more
	// than EventCap events, whose oldest and newest no index gives
	// without reading them all (its search is a range of names).
	Undated bool
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
	var todo []int
	for i, o := range obs {
		res.Observables[i] = Known{Observable: o}
		switch {
		case !Lookable(o.Kind):
		case len(todo) == MaxObservables:
			res.Skipped++
		default:
			todo = append(todo, i)
		}
	}
	if len(todo) == 0 {
		return res, nil
	}
	table, err := constituency.TableOf(ctx, l.Directory, l.Orgs)
	if err != nil {
		return Result{}, err
	}
	for _, i := range todo {
		k := &res.Observables[i]
		k.Looked = true
		k.Host, k.Field, k.Term = target(k.Observable)
	}
	if events {
		// The searches of different observables are independent: a few
		// at once, on the store's pool of connections.
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(Parallel)
		for _, i := range todo {
			k := &res.Observables[i]
			if k.Field == "" {
				continue
			}
			g.Go(func() error {
				if err := l.events(gctx, k); err != nil {
					return fmt.Errorf("look up %s %q: %w", k.Kind, k.Value, err)
				}
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			return Result{}, err
		}
	}
	for _, i := range todo {
		k := &res.Observables[i]
		if k.Owners, err = l.named(ctx, ownersOf(table, *k)); err != nil {
			return Result{}, err
		}
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

// firstPage is how many of the newest events naming an observable the
// first search reads: when that is all of them, it gives the count and
// the first and last times at once.
const firstPage = 20

// events counts the events naming k (up to EventCap+1) and finds the
// newest and the oldest, with indexed searches only: one search of the
// newest firstPage events, which for most observables is all of them;
// beyond that a bounded count and a search of the oldest. A domain is
// counted first, and dated only when EventCap events or fewer name it.
func (l *Looker) events(ctx context.Context, k *Known) error {
	q, ok := query(k.Field, k.Term)
	if !ok {
		k.Field = ""
		return nil
	}
	counted := 0
	if q.FQDN != "" {
		// A domain and its subdomains are a range of the index, whose
		// matches come out in name order: count first (at most
		// EventCap+1 entries read), and date only what stays within it.
		n, err := l.Events.CountMatches(ctx, q, EventCap)
		if err != nil || n == 0 {
			return err
		}
		if n > EventCap {
			k.Events, k.Undated = n, true
			return nil
		}
		counted = n
	}
	q.Limit = firstPage
	page, err := l.Events.SearchEvents(ctx, q)
	if err != nil || len(page.Events) == 0 {
		return err
	}
	newest := page.Events[0].Event
	k.Last, _ = newest.Time("time.source")
	if k.Field == "ip" {
		k.ASN = asnOf(newest, k.Term)
	}
	k.Events = len(page.Events)
	k.First, _ = page.Events[len(page.Events)-1].Event.Time("time.source")
	if page.Next == "" {
		return nil
	}
	q.Limit = 0
	if k.Events = counted; counted == 0 {
		if k.Events, err = l.Events.CountMatches(ctx, q, EventCap); err != nil {
			return err
		}
	}
	q.Limit, q.Ascending = 1, true
	oldest, err := l.Events.SearchEvents(ctx, q)
	if err != nil || len(oldest.Events) == 0 {
		return err
	}
	k.First, _ = oldest.Events[0].Event.Time("time.source")
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
// organisation once for all the lookups of l.
func (l *Looker) named(ctx context.Context, matches []constituency.Match) ([]constituency.Owner, error) {
	if len(matches) == 0 {
		return nil, nil
	}
	if l.names == nil {
		l.names = map[int64]constituency.Owner{}
	}
	out := make([]constituency.Owner, 0, len(matches))
	for _, m := range matches {
		o, ok := l.names[m.OrgID]
		if !ok {
			org, err := l.Orgs.GetOrganisation(ctx, m.OrgID)
			switch {
			case err == nil:
				o.Name, o.Disabled = org.Name, org.Disabled
			case !errors.Is(err, store.ErrNotFound):
				return nil, fmt.Errorf("owner %s: %w", m.Handle, err)
			}
			l.names[m.OrgID] = o
		}
		o.Match = m
		out = append(out, o)
	}
	return out, nil
}

// Defanged is o's value as a person may read it without a click or a
// copy reaching the thing: the scheme of a URL written hxxp, the dots of
// a host [.] and the @ of an address [@]. Hashes, phone numbers and CVE
// ids are as they are.
func Defanged(o extract.Observable) string {
	v := o.Value
	switch o.Kind {
	case extract.URL:
		scheme, rest, ok := strings.Cut(v, "://")
		if !ok {
			return strings.ReplaceAll(v, ".", "[.]")
		}
		host, path, _ := strings.Cut(rest, "/")
		scheme = strings.Replace(strings.ToLower(scheme), "http", "hxxp", 1)
		out := scheme + "://" + strings.ReplaceAll(host, ".", "[.]")
		if len(rest) > len(host) {
			out += "/" + path
		}
		return out
	case extract.Domain:
		return strings.ReplaceAll(v, ".", "[.]")
	case extract.Email:
		at := strings.LastIndexByte(v, '@')
		if at < 0 {
			return v
		}
		return v[:at] + "[@]" + strings.ReplaceAll(v[at+1:], ".", "[.]")
	case extract.IP:
		if i := strings.LastIndexByte(v, '.'); i >= 0 {
			return v[:i] + "[.]" + v[i+1:]
		}
	}
	return v
}
