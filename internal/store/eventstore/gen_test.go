package eventstore

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
	_ "github.com/vigil-cert/vigil/internal/standard" // the shadowserver parser
)

// The generator makes the events every design of issue 14 is measured
// with: Shadowserver scan_rdp rows parsed by the real parser, labelled as
// the pipeline labels them and sealed.

// benchPrefixes are 4,096 /16 networks (11.0.0.0/16 …); an address's /16
// index decides its AS.
var benchPrefixes = func() []netip.Prefix {
	out := make([]netip.Prefix, 4096)
	for i := range out {
		out[i] = netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(11 + i/256), byte(i % 256), 0, 0}), 16)
	}
	return out
}()

// benchStart is the oldest time.source; events spread over benchSpan.
var benchStart = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

const benchSpan = 30 * 24 * time.Hour

type generator struct {
	parser pipeline.Parser
	rng    *rand.Rand
	total  int // events planned, which sets the time between them
	next   int // index of the next event
	step   time.Duration
}

func newGenerator(tb testing.TB, total int) *generator {
	tb.Helper()
	p, err := pipeline.NewParser("shadowserver", pipeline.Env{}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return &generator{parser: p, rng: rand.New(rand.NewPCG(1, 2)), total: total, step: benchSpan / time.Duration(max(total, 1))}
}

// collector is the parser's sink.
type collector struct {
	events  []*event.Event
	rejects []error
}

func (c *collector) Event(e *event.Event) error        { c.events = append(c.events, e); return nil }
func (c *collector) Reject(input []byte, reason error) { c.rejects = append(c.rejects, reason) }

// batch makes the next n events.
func (g *generator) batch(tb testing.TB, n int) []*event.Event {
	tb.Helper()
	var buf bytes.Buffer
	start := benchStart.Add(time.Duration(g.next) * g.step)
	err := shadowserver.Generate(&buf, "scan_rdp", n, g.rng, shadowserver.GenerateOptions{Prefixes: benchPrefixes, Start: start, Step: g.step})
	if err != nil {
		tb.Fatal(err)
	}
	var c collector
	in := pipeline.Input{Feed: "bench", Name: "2026-11-20-scan_rdp-bench-geo.csv", Body: &buf}
	if err := g.parser.Parse(context.Background(), in, &c); err != nil {
		tb.Fatal(err)
	}
	if len(c.rejects) > 0 || len(c.events) != n {
		tb.Fatalf("generated %d rows, parsed %d events, %d rejected (%v)", n, len(c.events), len(c.rejects), c.rejects)
	}
	observed := benchStart.Add(benchSpan)
	for _, e := range c.events {
		i := g.next
		g.next++
		e.SetTrusted("feed.name", "bench")
		e.SetTime("time.observation", observed)
		ip := netip.MustParseAddr(e.Value("source.ip")).As4()
		slash16 := (int(ip[0])-11)*256 + int(ip[1])
		e.SetInt("source.asn", int64(64512+slash16%1000))
		e.SetTrusted("source.geolocation.cc", "BE")
		if i%4 == 0 {
			e.SetTrusted("source.fqdn", fmt.Sprintf("host%d.d%d.example.be", i, i%1000))
		}
		e.Seal()
	}
	return c.events
}
