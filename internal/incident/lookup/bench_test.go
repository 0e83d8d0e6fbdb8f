package lookup_test

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/constituency/constituencydb"
	"github.com/vigil-cert/vigil/internal/cputime"
	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/incident/extract"
	"github.com/vigil-cert/vigil/internal/incident/lookup"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/pgstore"
	"github.com/vigil-cert/vigil/internal/store/sqlitestore"
	"github.com/vigil-cert/vigil/internal/store/storetest"
)

// benchPhish is how many events name the phishing domains of the
// benchmark: busy.example has busyEvents over its subdomains (the worst
// case, a domain search being a range of its index), every other domain
// and URL a few.
const (
	benchDomains = 10
	busyEvents   = 20_000
)

// benchStore returns a store (see openBench) holding VIGIL_BENCH_ROWS (default
// 1,000,000) generated scan events, 200 organisations owning the
// generator's networks and the phishing domains, and the events naming
// the benchmark's domains, URLs and hashes; kept at VIGIL_BENCH_DB when
// that is set (building it takes minutes), and the 50 observables of an
// incident: 20 addresses that occur, 10 domains, 10 URLs, 5 e-mail
// addresses and 5 hashes.
func benchStore(b *testing.B) (*lookup.Looker, []extract.Observable) {
	b.Helper()
	rows := 1_000_000
	if v := os.Getenv("VIGIL_BENCH_ROWS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			b.Fatalf("VIGIL_BENCH_ROWS: %v", err)
		}
		rows = n
	}
	ctx := context.Background()
	st := openBench(b)
	b.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx, database.Schemas...); err != nil {
		b.Fatal(err)
	}
	orgs := constituencydb.New(st.DB())
	g := storetest.NewGenerator(7)
	have, err := st.CountEvents(ctx)
	if err != nil {
		b.Fatal(err)
	}
	if have < int64(rows) {
		start := time.Now()
		seedOrganisations(b, orgs, g)
		for done := 0; done < rows; done += 5000 {
			if _, err := st.InsertEvents(ctx, g.Batch(min(5000, rows-done)), nil); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := st.InsertEvents(ctx, phishEvents(b), nil); err != nil {
			b.Fatal(err)
		}
		b.Logf("built %d events in %v", rows, time.Since(start).Round(time.Second))
	}
	dir := constituency.NewDirectory(orgs, constituency.DirectoryOptions{})
	if err := dir.Reload(ctx); err != nil {
		b.Fatal(err)
	}
	return &lookup.Looker{Events: st, Orgs: orgs, Directory: dir}, benchObservables()
}

// openBench opens the benchmark's database: PostgreSQL at
// VIGIL_BENCH_POSTGRES when that is set, else SQLite at VIGIL_BENCH_DB or
// in a temporary directory.
func openBench(b *testing.B) store.Store {
	ctx := context.Background()
	if dsn := os.Getenv("VIGIL_BENCH_POSTGRES"); dsn != "" {
		st, err := pgstore.Open(ctx, dsn)
		if err != nil {
			b.Fatal(err)
		}
		return st
	}
	path := os.Getenv("VIGIL_BENCH_DB")
	if path == "" {
		path = filepath.Join(b.TempDir(), "bench.db")
	}
	st, err := sqlitestore.Open(ctx, path, sqlitestore.Options{Synchronous: "OFF", CacheMiB: 1024})
	if err != nil {
		b.Fatal(err)
	}
	return st
}

// seedOrganisations stores 200 organisations: one per network of the
// generator (a /16) and one per phishing domain.
func seedOrganisations(b *testing.B, orgs *constituencydb.Store, g *storetest.Generator) {
	var list []constituency.Organisation
	for i := range g.Networks {
		list = append(list, constituency.Organisation{Handle: fmt.Sprintf("net%d", i), Name: fmt.Sprintf("Network %d", i),
			Language: "en", Networks: []netip.Prefix{g.NetworkPrefix(i)}})
	}
	for i := range 200 - g.Networks {
		list = append(list, constituency.Organisation{Handle: fmt.Sprintf("dom%d", i), Name: fmt.Sprintf("Domain %d", i),
			Language: "en", Domains: []string{fmt.Sprintf("phish%d.example", i)}})
	}
	list = append(list, constituency.Organisation{Handle: "busy", Name: "Busy", Language: "en", Domains: []string{"busy.example"}})
	if _, err := orgs.ImportOrganisations(b.Context(), list, true); err != nil {
		b.Fatal(err)
	}
}

// phishEvents are the events naming the benchmark's domains, URLs and
// hashes.
func phishEvents(b *testing.B) []*event.Event {
	var out []*event.Event
	at := time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC)
	add := func(i int, f map[string]string) {
		f["time.source"] = event.FormatTime(at.Add(time.Duration(i) * time.Minute))
		f["feed.name"] = "phishing"
		f["classification.taxonomy"], f["classification.type"] = "fraud", "phishing"
		out = append(out, storetest.Event(b, f))
	}
	for i := range busyEvents {
		add(i, map[string]string{"source.fqdn": fmt.Sprintf("h%d.busy.example", i), "source.url": fmt.Sprintf("https://h%d.busy.example/", i)})
	}
	for d := range benchDomains {
		for j := range 5 {
			add(j, map[string]string{"source.fqdn": fmt.Sprintf("www.phish%d.example", d),
				"source.url": fmt.Sprintf("https://www.phish%d.example/login", d), "source.port": strconv.Itoa(j + 1)})
		}
		add(d, map[string]string{"malware.hash.sha256": fmt.Sprintf("%064x", d+1)})
	}
	return out
}

// benchObservables are the 50 observables of the benchmark's incident.
func benchObservables() []extract.Observable {
	var obs []extract.Observable
	g := storetest.NewGenerator(7)
	for range 20 {
		obs = append(obs, extract.Observable{Kind: extract.IP, Value: g.Event().Value("source.ip")})
		g.Batch(999)
	}
	obs = append(obs, extract.Observable{Kind: extract.Domain, Value: "busy.example"})
	for d := range benchDomains - 1 {
		obs = append(obs, extract.Observable{Kind: extract.Domain, Value: fmt.Sprintf("phish%d.example", d)})
	}
	for d := range benchDomains {
		obs = append(obs, extract.Observable{Kind: extract.URL, Value: fmt.Sprintf("https://www.phish%d.example/login", d)})
	}
	for d := range 5 {
		obs = append(obs, extract.Observable{Kind: extract.Email, Value: fmt.Sprintf("ceo@phish%d.example", d)})
		obs = append(obs, extract.Observable{Kind: extract.SHA256, Value: fmt.Sprintf("%064x", d+1)})
	}
	return obs
}

// BenchmarkLook measures the lookup of an incident's 50 observables
// (owners, bounded event counts, first and last seen) over a store of
// 1 million events, with and without the domain of 20,000 events, and
// the owners alone (what the triage queue shows).
func BenchmarkLook(b *testing.B) {
	l, obs := benchStore(b)
	res, err := l.Look(b.Context(), obs)
	if err != nil {
		b.Fatal(err)
	}
	found, owned := 0, 0
	for _, k := range res.Observables {
		if k.Events > 0 {
			found++
		}
		if len(k.Owners) > 0 {
			owned++
		}
	}
	if found < 40 || owned < 40 {
		b.Fatalf("only %d of %d observables found in the events, %d owned", found, len(obs), owned)
	}
	quiet := append([]extract.Observable{{Kind: extract.Domain, Value: "phish9.example"}}, obs[:20]...)
	quiet = append(quiet, obs[21:]...)
	for _, c := range []struct {
		name   string
		obs    []extract.Observable
		events bool
	}{{"50 observables", obs, true}, {"50 observables without the busy domain", quiet, true}, {"owners only", obs, false}} {
		b.Run(c.name, func(b *testing.B) {
			start := cputime.Process()
			for b.Loop() {
				// A new Looker each time, as each page has: none of the
				// owners' names are known yet.
				fresh := &lookup.Looker{Events: l.Events, Orgs: l.Orgs, Directory: l.Directory}
				var err error
				if c.events {
					_, err = fresh.Look(b.Context(), c.obs)
				} else {
					_, err = fresh.Owners(b.Context(), c.obs)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
			cputime.ReportPerOp(b, start)
		})
	}
}
