package enricher

import (
	"context"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strconv"
	"testing"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/pipeline"
)

// oldEnrichASNSide and oldEnrichGeoSide are the enrichers' per-side steps
// as they were before issue 14 (a Has and a SetTrusted per field), kept to
// show that setting the found fields in one move gives the same events.
func oldEnrichASNSide(t *RoutingTable, e *event.Event, k *sideKeys) {
	ipText, ok := e.Get(k.ip)
	if !ok {
		return
	}
	given, hasASN := e.Get(k.asn)
	hasName, hasNetwork := e.Has(k.asName), e.Has(k.network)
	if hasName && hasNetwork {
		return
	}
	addr, err := netip.ParseAddr(ipText)
	if err != nil {
		return
	}
	r, found := t.prefixes.Lookup(addr)
	if hasASN {
		if !hasName {
			if n, err := strconv.ParseUint(given, 10, 32); err == nil {
				if name := t.names[uint32(n)]; name != "" {
					e.SetTrusted(k.asName, name)
				}
			}
		}
		if found && !hasNetwork && r.origin.text == given {
			e.SetTrusted(k.network, r.network)
		}
		return
	}
	if !found {
		return
	}
	e.SetTrusted(k.asn, r.origin.text)
	if !hasName && r.origin.name != "" {
		e.SetTrusted(k.asName, r.origin.name)
	}
	if !hasNetwork {
		e.SetTrusted(k.network, r.network)
	}
}

func oldEnrichGeoSide(g *GeoIP, db *geoDatabase, e *event.Event, k *sideKeys) {
	ipText, ok := e.Get(k.ip)
	if !ok || e.Has(k.cc) {
		return
	}
	addr, err := netip.ParseAddr(ipText)
	if err != nil {
		return
	}
	v := db.lookup(addr, g.logger)
	if v == nil {
		return
	}
	set := func(key, value string) {
		if value != "" && !e.Has(key) {
			e.SetTrusted(key, value)
		}
	}
	set(k.cc, v.cc)
	set(k.city, v.city)
	set(k.region, v.region)
	set(k.latitude, v.latitude)
	set(k.longitude, v.longitude)
}

// sideEvents are events with random subsets of what the enrichers look at
// already set, on either side, for addresses in and out of the test
// tables.
func sideEvents(n int) []*event.Event {
	ips := []string{"1.1.1.1", "192.0.2.7", "192.0.2.200", "198.51.100.9", "203.0.113.5", "2001:db8::1",
		"2001:db8:beef::1", "10.1.2.3", "8.8.8.8", "not an ip"}
	rng := rand.New(rand.NewPCG(14, 3))
	var events []*event.Event
	for range n {
		e := event.New(0)
		for _, side := range []string{"source", "destination"} {
			if rng.IntN(4) == 0 {
				continue
			}
			e.SetTrusted(side+".ip", ips[rng.IntN(len(ips))])
			for _, f := range []event.Field{
				{Key: ".asn", Value: []string{"13335", "64496", "64497", "64499", "1", "x"}[rng.IntN(6)]},
				{Key: ".as_name", Value: "GIVEN"}, {Key: ".network", Value: "192.0.2.0/24"},
				{Key: ".geolocation.cc", Value: "FR"}, {Key: ".geolocation.city", Value: "Paris"},
				{Key: ".geolocation.region", Value: "IDF"}, {Key: ".geolocation.latitude", Value: "1"},
				{Key: ".geolocation.longitude", Value: "2"},
			} {
				if rng.IntN(4) == 0 {
					e.SetTrusted(side+f.Key, f.Value)
				}
			}
		}
		if rng.IntN(2) == 0 {
			e.SetTrusted("feed.name", "f")
			e.SetTrusted("source.port", "3389")
		}
		events = append(events, e)
	}
	return events
}

func TestEnrichersMatchTheOldSideSteps(t *testing.T) {
	table := loadTestTable(t)
	asn := NewASN(table)
	geo := openTestGeoIP(t)
	db := geo.db.Load()
	for i, e := range sideEvents(5000) {
		want := e.Clone()
		for s := range sides {
			oldEnrichASNSide(table, want, &sides[s])
		}
		for s := range sides {
			oldEnrichGeoSide(geo, db, want, &sides[s])
		}
		got := e.Clone()
		b := &pipeline.Batch{Events: []*event.Event{got}}
		if err := asn.Enrich(context.Background(), b); err != nil {
			t.Fatal(err)
		}
		if err := geo.Enrich(context.Background(), b); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got.Fields(), want.Fields()) {
			t.Fatalf("event %d %v:\n got %v\nwant %v", i, e.Fields(), got.Fields(), want.Fields())
		}
	}
}
