package enricher

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/pipeline"
)

func loadTestTable(t testing.TB) *RoutingTable {
	t.Helper()
	f, err := os.Open("testdata/pfx2as.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	table, err := LoadRoutingTable(f)
	if err != nil {
		t.Fatal(err)
	}
	nf, err := os.Open("testdata/asnames.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer nf.Close()
	if err := table.LoadNames(nf); err != nil {
		t.Fatal(err)
	}
	return table
}

func TestLoadRoutingTable(t *testing.T) {
	table := loadTestTable(t)
	if got, want := table.Len(), 8; got != want {
		t.Errorf("Len = %d, want %d", got, want)
	}
	if got, want := table.Malformed.First, []int{11, 12, 13, 14, 15}; !slices.Equal(got, want) || table.Malformed.Count != 5 {
		t.Errorf("Malformed = %+v, want lines %v", table.Malformed, want)
	}
	if got, want := table.MalformedNames.First, []int{6, 7}; !slices.Equal(got, want) {
		t.Errorf("MalformedNames = %+v, want lines %v", table.MalformedNames, want)
	}
	if got, want := table.Malformed.String(), "5 (lines 11 12 13 14 15)"; got != want {
		t.Errorf("Malformed.String() = %q, want %q", got, want)
	}

	tests := []struct {
		ip   string
		want ASInfo
		ok   bool
	}{
		{"192.0.2.77", ASInfo{64496, "EXAMPLE-NET - Example Networks, BE", "192.0.2.0/24"}, true},
		{"192.0.2.200", ASInfo{64497, "TABBED-NAME - Somebody, NL", "192.0.2.128/25"}, true},          // multi-origin: first
		{"198.51.100.9", ASInfo{64499, "\uFFFDCOLE-NET - latin-1 name, FR", "198.51.100.0/24"}, true}, // AS set: first
		{"203.0.113.44", ASInfo{64501, "", "203.0.113.0/24"}, true},                                   // CIDR form, no name
		{"2001:db8:beef::25", ASInfo{64503, "", "2001:db8:beef::/48"}, true},
		{"2001:db8:1::1", ASInfo{64502, "DOC6 - IPv6 documentation, ZZ", "2001:db8::/32"}, true},
		{"::ffff:1.1.1.1", ASInfo{13335, "CLOUDFLARENET - Cloudflare, Inc., US", "1.1.1.0/24"}, true},
		{"8.8.8.8", ASInfo{}, false},
		{"10.1.2.3", ASInfo{}, false}, // only malformed lines named 10/8
	}
	for _, tt := range tests {
		t.Run(tt.ip, func(t *testing.T) {
			got, ok := table.Lookup(netip.MustParseAddr(tt.ip))
			if ok != tt.ok || got != tt.want {
				t.Errorf("Lookup = %+v, %v; want %+v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestLoadRoutingTableErrors(t *testing.T) {
	for name, input := range map[string]string{
		"empty":             "",
		"only comments":     "# nothing\n\n",
		"only bad lines":    "a b c\n1.2.3.4 99 1\n",
		"names, not routes": "13335 CLOUDFLARENET\n",
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := LoadRoutingTable(strings.NewReader(input)); err == nil {
				t.Error("no error")
			}
		})
	}
	t.Run("over-long line is malformed, not fatal", func(t *testing.T) {
		input := "1.0.0.0\t24\t13335\n" + strings.Repeat("x", 3*maxConfigLine) + "\n2.0.0.0\t8\t1\n"
		table, err := LoadRoutingTable(strings.NewReader(input))
		if err != nil {
			t.Fatal(err)
		}
		if table.Len() != 2 || !slices.Equal(table.Malformed.First, []int{2}) {
			t.Errorf("Len %d, Malformed %+v", table.Len(), table.Malformed)
		}
	})
	t.Run("no final newline", func(t *testing.T) {
		table, err := LoadRoutingTable(strings.NewReader("1.0.0.0\t24\t13335"))
		if err != nil || table.Len() != 1 {
			t.Fatalf("%v, %v", table, err)
		}
	})
}

func TestASN(t *testing.T) {
	en := NewASN(loadTestTable(t))
	tests := []struct {
		name string
		in   map[string]string
		want map[string]string
	}{
		{"source filled",
			map[string]string{"source.ip": "192.0.2.77"},
			map[string]string{"source.ip": "192.0.2.77", "source.asn": "64496", "source.as_name": "EXAMPLE-NET - Example Networks, BE", "source.network": "192.0.2.0/24"}},
		{"both sides",
			map[string]string{"source.ip": "1.0.0.1", "destination.ip": "2001:db8::1"},
			map[string]string{"source.ip": "1.0.0.1", "source.asn": "13335", "source.as_name": "CLOUDFLARENET - Cloudflare, Inc., US", "source.network": "1.0.0.0/24",
				"destination.ip": "2001:db8::1", "destination.asn": "64502", "destination.as_name": "DOC6 - IPv6 documentation, ZZ", "destination.network": "2001:db8::/32"}},
		{"no name known",
			map[string]string{"source.ip": "203.0.113.1"},
			map[string]string{"source.ip": "203.0.113.1", "source.asn": "64501", "source.network": "203.0.113.0/24"}},
		{"unrouted address untouched",
			map[string]string{"source.ip": "8.8.8.8"},
			map[string]string{"source.ip": "8.8.8.8"}},
		{"feed's ASN kept, its name added, network of another origin not added",
			map[string]string{"source.ip": "192.0.2.77", "source.asn": "13335"},
			map[string]string{"source.ip": "192.0.2.77", "source.asn": "13335", "source.as_name": "CLOUDFLARENET - Cloudflare, Inc., US"}},
		{"feed's ASN agrees: network added",
			map[string]string{"source.ip": "192.0.2.77", "source.asn": "64496", "source.as_name": "Feed's name"},
			map[string]string{"source.ip": "192.0.2.77", "source.asn": "64496", "source.as_name": "Feed's name", "source.network": "192.0.2.0/24"}},
		{"feed's network kept",
			map[string]string{"source.ip": "192.0.2.77", "source.network": "192.0.0.0/16"},
			map[string]string{"source.ip": "192.0.2.77", "source.asn": "64496", "source.as_name": "EXAMPLE-NET - Example Networks, BE", "source.network": "192.0.0.0/16"}},
		{"no ip, nothing to do",
			map[string]string{"source.fqdn": "example.com"},
			map[string]string{"source.fqdn": "example.com"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEvent(t, tt.in)
			enrichOne(t, en, e)
			if got := fieldsOf(e, "source.", "destination."); !maps.Equal(got, tt.want) {
				t.Errorf("got  %v\nwant %v", got, tt.want)
			}
		})
	}
}

func TestASNGolden(t *testing.T) { runGolden(t, "asn", NewASN(loadTestTable(t))) }

func TestASNFactory(t *testing.T) {
	env := pipeline.Env{}
	t.Run("ok", func(t *testing.T) {
		en, err := pipeline.NewEnricher("asn", env, pipeline.Options{"file": "testdata/pfx2as.txt", "names_file": "testdata/asnames.txt", "reload": "0"})
		if err != nil {
			t.Fatal(err)
		}
		e := newEvent(t, map[string]string{"source.ip": "192.0.2.1"})
		enrichOne(t, en, e)
		if e.Value("source.as_name") != "EXAMPLE-NET - Example Networks, BE" {
			t.Errorf("not enriched: %s", e.AppendJSON(nil))
		}
	})
	for name, opts := range map[string]pipeline.Options{
		"missing file":     {},
		"absent file":      {"file": "testdata/nonexistent"},
		"absent names":     {"file": "testdata/pfx2as.txt", "names_file": "testdata/nonexistent"},
		"misspelt option":  {"file": "testdata/pfx2as.txt", "name_file": "x"},
		"bad reload":       {"file": "testdata/pfx2as.txt", "reload": "often"},
		"not a route file": {"file": "testdata/asnames.txt"},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := pipeline.NewEnricher("asn", env, opts); err == nil {
				t.Error("no error")
			}
		})
	}
}

func TestASNReload(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "pfx2as")
	write := func(content string, mod time.Time) {
		t.Helper()
		if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(file, mod, mod); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	write("192.0.2.0\t24\t64496\n", start)
	var clock atomic.Int64
	clock.Store(start.UnixNano())
	env := pipeline.Env{Now: func() time.Time { return time.Unix(0, clock.Load()) }}
	a, err := OpenASN(file, "", time.Minute, env)
	if err != nil {
		t.Fatal(err)
	}
	asnOf := func() string {
		e := newEvent(t, map[string]string{"source.ip": "192.0.2.1"})
		enrichOne(t, a, e)
		return e.Value("source.asn")
	}
	if got := asnOf(); got != "64496" {
		t.Fatalf("asn %q before reload", got)
	}

	t.Run("unchanged file is not reloaded", func(t *testing.T) {
		if a.reloadIfChanged() {
			t.Error("reloaded")
		}
	})
	t.Run("broken file keeps the old table", func(t *testing.T) {
		write("garbage\n", start.Add(time.Minute))
		if a.reloadIfChanged() {
			t.Error("reloaded")
		}
		if got := asnOf(); got != "64496" {
			t.Errorf("asn %q", got)
		}
	})
	t.Run("changed file reloads when the interval passed", func(t *testing.T) {
		write("192.0.2.0\t24\t64511\n", start.Add(2*time.Minute))
		if got := asnOf(); got != "64496" {
			t.Errorf("asn %q before the interval passed", got)
		}
		clock.Add(int64(2 * time.Minute))
		deadline := time.Now().Add(5 * time.Second)
		for asnOf() != "64511" {
			if time.Now().After(deadline) {
				t.Fatal("table not reloaded")
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// FuzzLoadRoutingTable feeds arbitrary files to the loader: it must never
// panic, and every line must be counted as a prefix or as malformed.
func FuzzLoadRoutingTable(f *testing.F) {
	seed, _ := os.ReadFile("testdata/pfx2as.txt")
	f.Add(seed)
	f.Add([]byte("::ffff:1.2.3.0\t120\t5\n0.0.0.0\t0\t1\n::\t0\t2\n"))
	f.Add([]byte("fe80::1%eth0/64 3\n1.2.3.4/32 AS7\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		table, err := LoadRoutingTable(bytes.NewReader(data))
		if err != nil {
			return
		}
		lines := 0
		for l := range strings.SplitSeq(string(data), "\n") {
			if l = strings.TrimSpace(l); l != "" && l[0] != '#' {
				lines++
			}
		}
		if table.Len()+table.Malformed.Count > lines {
			t.Errorf("%d prefixes + %d malformed > %d lines", table.Len(), table.Malformed.Count, lines)
		}
		for p := range table.prefixes.All() {
			got, ok := table.Lookup(p.Addr())
			if !ok || got.Network == "" {
				t.Errorf("prefix %s not found by its own address", p)
			}
			if _, err := netip.ParsePrefix(got.Network); err != nil {
				t.Errorf("network %q: %v", got.Network, err)
			}
		}
	})
}

// FuzzLoadNames: never panics, names are valid UTF-8 events accept.
func FuzzLoadNames(f *testing.F) {
	seed, _ := os.ReadFile("testdata/asnames.txt")
	f.Add(seed)
	f.Fuzz(func(t *testing.T, data []byte) {
		table, err := LoadRoutingTable(strings.NewReader("1.0.0.0\t8\t1\n"))
		if err != nil {
			t.Fatal(err)
		}
		if err := table.LoadNames(bytes.NewReader(data)); err != nil {
			return
		}
		for asn, name := range table.names {
			if _, err := event.Normalize("source.as_name", name); err != nil {
				t.Errorf("AS%d name %q: %v", asn, name, err)
			}
		}
	})
}

// generatedRoutingTable builds a pfx2as file of n prefixes of random IPv4
// addresses, the size of a full table at n = 1,000,000.
func generatedRoutingTable(n int) []byte {
	rng := rand.New(rand.NewPCG(1, 2))
	var b bytes.Buffer
	b.Grow(n * 24)
	for range n {
		bits := 16 + rng.IntN(9) // /16 … /24, as most of the table is
		addr := netip.AddrFrom4([4]byte{byte(1 + rng.IntN(222)), byte(rng.IntN(256)), byte(rng.IntN(256)), 0})
		p, _ := addr.Prefix(bits)
		fmt.Fprintf(&b, "%s\t%d\t%d\n", p.Addr(), bits, 1+rng.IntN(80000))
	}
	return b.Bytes()
}

func BenchmarkASN(b *testing.B) {
	table, err := LoadRoutingTable(bytes.NewReader(generatedRoutingTable(1_000_000)))
	if err != nil {
		b.Fatal(err)
	}
	en := NewASN(table)
	events := benchEvents(b, 1000, func(i int, rng *rand.Rand) map[string]string {
		return map[string]string{"source.ip": netip.AddrFrom4([4]byte{byte(1 + rng.IntN(222)), byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256))}).String()}
	})
	runEnricherBench(b, en, events)
}

func BenchmarkLoadRoutingTable(b *testing.B) {
	data := generatedRoutingTable(1_000_000)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := LoadRoutingTable(bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}

// benchEvents makes n events from gen, deterministic across runs.
func benchEvents(b *testing.B, n int, gen func(i int, rng *rand.Rand) map[string]string) []*event.Event {
	rng := rand.New(rand.NewPCG(3, 4))
	events := make([]*event.Event, n)
	for i := range events {
		m := gen(i, rng)
		m["feed.name"] = "bench"
		m["classification.type"] = "scanner"
		m["time.source"] = "2026-11-20T03:14:00+00:00"
		events[i] = newEvent(b, m)
	}
	return events
}

// runEnricherBench enriches copies of events in batches and reports the
// cost per event. The copies are made outside the timer, and each copy has
// room for the new fields, as a parser's events do.
func runEnricherBench(b *testing.B, en pipeline.Enricher, events []*event.Event) {
	b.ReportAllocs()
	batch := &pipeline.Batch{Events: make([]*event.Event, len(events))}
	work := make([]*event.Event, len(events))
	for i := range work {
		work[i] = event.New(32)
	}
	ctx := context.Background()
	n := 0
	for b.Loop() {
		b.StopTimer()
		for i, e := range events {
			work[i].Reset()
			for _, f := range e.Fields() {
				work[i].SetTrusted(f.Key, f.Value)
			}
			batch.Events[i] = work[i]
		}
		batch.Events = batch.Events[:len(events)]
		batch.Dedup = batch.Dedup[:0]
		b.StartTimer()
		if err := en.Enrich(ctx, batch); err != nil {
			b.Fatal(err)
		}
		n += len(events)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/event")
}
