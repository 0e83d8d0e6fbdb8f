package enricher

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/pipeline"
	"github.com/vigil-cert/vigil/internal/store/sqlitestore"
)

// belnetLike is a small constituency: a hospital network inside a
// university's, ASNs and domains (with their subdomains).
func belnetLike() []constituency.Organisation {
	return []constituency.Organisation{
		{Handle: "uliege", Name: "Université de Liège", Networks: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")},
			ASNs: []uint32{64496}, Domains: []string{"uliege.be"}},
		{Handle: "chu-liege", Name: "CHU de Liège", Networks: []netip.Prefix{netip.MustParsePrefix("192.0.2.128/25")},
			Domains: []string{"chu.uliege.be"}},
		{Handle: "fin", Name: "FPS Finance", Networks: []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")}},
		{Handle: "kuleuven", Name: "KU Leuven", ASNs: []uint32{64500}, Domains: []string{"kuleuven.be"}},
	}
}

func TestConstituencySides(t *testing.T) {
	env := pipeline.Env{Constituency: constituency.NewTable(belnetLike())}
	in := map[string]string{"source.ip": "198.51.100.1", "destination.ip": "192.0.2.1"}
	for _, tt := range []struct {
		sides any
		want  string
	}{
		{nil, `["fin","uliege"]`},
		{[]any{"source"}, `["fin"]`},
		{[]any{"destination"}, `["uliege"]`},
		{[]any{"source", "destination"}, `["fin","uliege"]`},
	} {
		opts := pipeline.Options{}
		if tt.sides != nil {
			opts["sides"] = tt.sides
		}
		en, err := pipeline.NewEnricher("constituency", env, opts)
		if err != nil {
			t.Fatalf("sides %v: %v", tt.sides, err)
		}
		e := newEvent(t, in)
		enrichOne(t, en, e)
		if got := e.Value("extra.constituency"); got != tt.want {
			t.Errorf("sides %v: extra.constituency = %s, want %s", tt.sides, got, tt.want)
		}
	}
	for _, bad := range []any{[]any{"both"}, []any{}, 3} {
		if _, err := pipeline.NewEnricher("constituency", env, pipeline.Options{"sides": bad}); err == nil {
			t.Errorf("sides %v accepted", bad)
		}
	}
	if _, err := pipeline.NewEnricher("constituency", pipeline.Env{}, pipeline.Options{}); err == nil {
		t.Error("built without a constituency table")
	}
}

func TestConstituency(t *testing.T) {
	tests := []struct {
		name string
		in   map[string]string
		want string // extra.constituency, "" for none
	}{
		{"by source address", map[string]string{"source.ip": "198.51.100.10"}, `["fin"]`},
		{"the longest network wins", map[string]string{"source.ip": "192.0.2.200"}, `["chu-liege"]`},
		{"the wider network around it", map[string]string{"source.ip": "192.0.2.1"}, `["uliege"]`},
		{"the network wins over the AS", map[string]string{"source.ip": "198.51.100.1", "source.asn": "64496"}, `["fin"]`},
		{"the network wins over the domain", map[string]string{"source.ip": "198.51.100.1", "source.fqdn": "www.kuleuven.be"}, `["fin"]`},
		{"the AS when no network holds the address", map[string]string{"source.ip": "203.0.113.1", "source.asn": "64500", "source.fqdn": "www.uliege.be"}, `["kuleuven"]`},
		{"the domain when neither", map[string]string{"source.ip": "203.0.113.1", "source.asn": "65000", "source.fqdn": "mail.student.uliege.be"}, `["uliege"]`},
		{"the longest domain wins", map[string]string{"source.fqdn": "www.chu.uliege.be"}, `["chu-liege"]`},
		{"both sides, sorted", map[string]string{"source.ip": "198.51.100.1", "destination.fqdn": "vpn.kuleuven.be"}, `["fin","kuleuven"]`},
		{"both sides, the same organisation once", map[string]string{"source.ip": "192.0.2.1", "destination.asn": "64496"}, `["uliege"]`},
		{"destination only", map[string]string{"source.ip": "203.0.113.1", "destination.ip": "192.0.2.130"}, `["chu-liege"]`},
		{"a suffix is not a subdomain", map[string]string{"source.fqdn": "baduliege.be"}, ""},
		{"nobody's", map[string]string{"source.ip": "8.8.8.8", "source.fqdn": "example.com", "destination.asn": "15169"}, ""},
		{"a tag from outside is removed on a miss", map[string]string{"source.ip": "8.8.8.8", "extra.constituency": `["fin"]`}, ""},
		{"a tag from outside is removed from an event without addresses", map[string]string{"classification.type": "scanner", "extra.constituency": `["fin"]`}, ""},
		{"a hit replaces an earlier tag", map[string]string{"source.ip": "192.0.2.1", "extra.constituency": `["old"]`}, `["uliege"]`},
	}
	en := NewConstituency(constituency.NewTable(belnetLike()))
	for _, tt := range tests {

		t.Run(tt.name, func(t *testing.T) {
			e := newEvent(t, tt.in)
			enrichOne(t, en, e)
			if got := e.Value("extra.constituency"); got != tt.want {
				t.Errorf("extra.constituency = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestConstituencyGolden(t *testing.T) {
	runGolden(t, "constituency", NewConstituency(constituency.NewTable(belnetLike())))
}

func TestConstituencyRegistered(t *testing.T) {
	if _, err := pipeline.NewEnricher("constituency", pipeline.Env{}, nil); err == nil ||
		!strings.Contains(err.Error(), "no constituency table") {
		t.Fatalf("without a table: %v, want an error saying so", err)
	}
	table := constituency.NewTable(belnetLike())
	if _, err := pipeline.NewEnricher("constituency", pipeline.Env{Constituency: table}, pipeline.Options{"reload": "1s"}); err == nil {
		t.Errorf("an unknown option was accepted")
	}
	en, err := pipeline.NewEnricher("constituency", pipeline.Env{Constituency: table}, nil)
	if err != nil {
		t.Fatal(err)
	}
	e := newEvent(t, map[string]string{"source.ip": "192.0.2.1"})
	enrichOne(t, en, e)
	if got := e.Value("extra.constituency"); got != `["uliege"]` {
		t.Errorf("extra.constituency = %s", got)
	}
}

// TestConstituencySwapWhileEnriching enriches batches on several
// goroutines while the directory reloads the constituency from the store
// after each change, as the console's edits do (run it with -race). Every
// event must be tagged by either the old or the new constituency.
func TestConstituencySwapWhileEnriching(t *testing.T) {
	ctx := context.Background()
	events, err := sqlitestore.Open(ctx, filepath.Join(t.TempDir(), "vigil.db"),
		sqlitestore.Options{Synchronous: "OFF", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer events.Close()
	st, err := database.New(ctx, events)
	if err != nil {
		t.Fatal(err)
	}
	before := belnetLike()
	after := belnetLike()
	after[1].Networks = nil // chu-liege gives its network back to uliege
	if _, err := st.ImportOrganisations(ctx, before, true); err != nil {
		t.Fatal(err)
	}
	dir := constituency.NewDirectory(st, constituency.DirectoryOptions{})
	if err := dir.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	en, err := pipeline.NewEnricher("constituency", pipeline.Env{Constituency: dir}, nil)
	if err != nil {
		t.Fatal(err)
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				b := &pipeline.Batch{Events: make([]*event.Event, 50)}
				for i := range b.Events {
					b.Events[i] = newEvent(t, map[string]string{"source.ip": "192.0.2.200", "destination.ip": "198.51.100.1"})
				}
				if err := en.Enrich(ctx, b); err != nil {
					t.Error(err)
					return
				}
				for _, e := range b.Events {
					if got := e.Value("extra.constituency"); got != `["chu-liege","fin"]` && got != `["fin","uliege"]` {
						t.Errorf("extra.constituency = %s during a reload", got)
						return
					}
				}
			}
		}()
	}
	for i := range 10 {
		orgs := before
		if i%2 == 0 {
			orgs = after
		}
		if _, err := st.ImportOrganisations(ctx, orgs, true); err != nil {
			t.Fatal(err)
		}
		if err := dir.Reload(ctx); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	e := newEvent(t, map[string]string{"source.ip": "192.0.2.200"})
	enrichOne(t, en, e)
	if got := e.Value("extra.constituency"); got != `["chu-liege"]` {
		t.Errorf("after the last reload extra.constituency = %s", got)
	}
}

// BenchmarkConstituency is the tagger per event against 10,000
// organisations holding 100,000 networks: events with both sides' address
// and AS, a third of them the constituency's.
func BenchmarkConstituency(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	orgs := make([]constituency.Organisation, 10_000)
	var owned []netip.Prefix
	for i := range orgs {
		orgs[i] = constituency.Organisation{Handle: fmt.Sprintf("org-%05d", i), ASNs: []uint32{uint32(64512 + i)}}
		for range 10 {
			p, _ := netip.AddrFrom4([4]byte{byte(1 + rng.IntN(222)), byte(rng.IntN(256)), byte(rng.IntN(256)), 0}).Prefix(20 + rng.IntN(5))
			orgs[i].Networks = append(orgs[i].Networks, p)
			owned = append(owned, p)
		}
	}
	en := NewConstituency(constituency.NewTable(orgs))
	randomAddr := func(rng *rand.Rand) string {
		if rng.IntN(3) == 0 {
			p := owned[rng.IntN(len(owned))]
			a := p.Addr().As4()
			a[3] = byte(rng.IntN(256))
			return netip.AddrFrom4(a).String()
		}
		return netip.AddrFrom4([4]byte{byte(1 + rng.IntN(222)), byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256))}).String()
	}
	events := benchEvents(b, 1000, func(i int, rng *rand.Rand) map[string]string {
		return map[string]string{"source.ip": randomAddr(rng), "source.asn": strconv.Itoa(1 + rng.IntN(80000)),
			"destination.ip": randomAddr(rng), "destination.asn": strconv.Itoa(1 + rng.IntN(80000))}
	})
	runEnricherBench(b, en, events)
}

// Both the table and the directory answer the tagger.
var (
	_ pipeline.Constituency = (*constituency.Table)(nil)
	_ pipeline.Constituency = (*constituency.Directory)(nil)
)
