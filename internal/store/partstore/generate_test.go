package partstore_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/pipeline"
	"github.com/vigil-cert/vigil/internal/shadowserver"
	_ "github.com/vigil-cert/vigil/internal/standard" // registers the shadowserver parser
)

// generator makes the events of the measurement spec of issue 14: rows of
// Shadowserver's scan_rdp report read by the real parser, then labelled as
// the pipeline does (feed, time.observation) and enriched as the bench's
// ASN and GeoIP tables would (source.asn by the address's /16,
// source.geolocation.cc), one event in four with a host name, and sealed.
type generator struct {
	parser   pipeline.Parser
	rng      *rand.Rand
	prefixes []netip.Prefix
	start    time.Time
	step     time.Duration
	// observation is time.observation of the next batch.
	observation time.Time
	n           int // events made so far
}

// newGenerator spreads time.source of total events over 30 days.
func newGenerator(tb testing.TB, total int, seed uint64) *generator {
	tb.Helper()
	p, err := pipeline.NewParser("shadowserver", pipeline.Env{}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	var prefixes []netip.Prefix
	// The bench's routing table (vigil bench ingest): 20,000 /20s.
	for i := range 20000 {
		a := netip.AddrFrom4([4]byte{byte(11 + i/4096), byte(i % 4096 >> 4), byte(i % 16 << 4), 0})
		prefixes = append(prefixes, netip.PrefixFrom(a, 20))
	}
	start := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	return &generator{
		parser: p, rng: rand.New(rand.NewPCG(seed, seed+1)), prefixes: prefixes,
		start: start, step: max(time.Second, 30*24*time.Hour/time.Duration(max(total, 1))),
		observation: time.Date(2026, 11, 2, 9, 30, 0, 0, time.UTC),
	}
}

type collect struct{ events []*event.Event }

func (c *collect) Event(e *event.Event) error        { c.events = append(c.events, e); return nil }
func (c *collect) Reject(input []byte, reason error) {}

// batch makes the next n events.
func (g *generator) batch(tb testing.TB, n int) []*event.Event {
	tb.Helper()
	var csv bytes.Buffer
	err := shadowserver.Generate(&csv, "scan_rdp", n, g.rng, shadowserver.GenerateOptions{
		Prefixes: g.prefixes, Start: g.start.Add(time.Duration(g.n) * g.step), Step: g.step})
	if err != nil {
		tb.Fatal(err)
	}
	var sink collect
	in := pipeline.Input{Feed: "bench", Name: "2026-11-02-scan_rdp-belgium-geo.csv", Body: &csv}
	if err := g.parser.Parse(context.Background(), in, &sink); err != nil {
		tb.Fatal(err)
	}
	if len(sink.events) != n {
		tb.Fatalf("parser made %d events of %d rows", len(sink.events), n)
	}
	for _, e := range sink.events {
		e.SetTrusted("feed.name", "bench")
		e.SetTime("time.observation", g.observation)
		if v, ok := e.Get("source.ip"); ok {
			if a, err := netip.ParseAddr(v); err == nil && a.Is4() {
				b := a.As4()
				e.SetInt("source.asn", 64512+int64(int(b[0])<<8|int(b[1]))%1000)
			}
		}
		e.SetTrusted("source.geolocation.cc", "BE")
		if g.n%4 == 0 {
			e.SetTrusted("source.fqdn", fmt.Sprintf("host%d.d%d.example.be", g.n, g.n%1000))
		}
		e.Seal()
		g.n++
	}
	return sink.events
}
