package storetest

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
)

// Generator makes realistic Shadowserver-like scan events for benchmarks:
// a constituency of Networks /16 networks and ASNs autonomous systems (a
// few large ones hold most addresses, as in a real constituency), times
// advancing through a window with some disorder, the way feeds deliver
// them. It is deterministic for a seed.
type Generator struct {
	// Networks is how many /16 networks the addresses come from.
	Networks int
	// ASNs is how many distinct AS numbers appear.
	ASNs int
	// Start and Step place event i at Start + i·Step, give or take an hour.
	Start time.Time
	Step  time.Duration

	rng  *rand.Rand
	zipf *rand.Zipf
	n    int
}

// NewGenerator returns a generator with 64 /16 networks, 200 ASNs and one
// event every 250 ms from 2024-01-01.
func NewGenerator(seed uint64) *Generator {
	g := &Generator{
		Networks: 64,
		ASNs:     200,
		Start:    time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
		Step:     250 * time.Millisecond,
		rng:      rand.New(rand.NewPCG(seed, seed^0x5eed)),
	}
	return g
}

// NetworkPrefix returns the i-th /16 network addresses are drawn from.
func (g *Generator) NetworkPrefix(i int) netip.Prefix {
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(100 + i/256), byte(i % 256), 0, 0}), 16)
}

// ASN returns the i-th AS number; ASN(0) is the largest.
func (g *Generator) ASN(i int) uint32 { return uint32(64512 + i) }

var reports = []struct{ identifier, taxonomy, typ, tag, protocol string }{
	{"open-dns", "vulnerable", "vulnerable-system", "openresolver", "udp"},
	{"open-ntp", "vulnerable", "ddos-amplifier", "ntp", "udp"},
	{"scan-http", "vulnerable", "vulnerable-system", "http", "tcp"},
	{"open-rdp", "vulnerable", "potentially-unwanted-accessible", "rdp", "tcp"},
	{"infected-mirai", "malicious-code", "infected-system", "mirai", "tcp"},
	{"scan-ssl", "vulnerable", "weak-crypto", "ssl-poodle", "tcp"},
}

var countries = []string{"BE", "BE", "BE", "NL", "FR", "DE", "LU"}

// Event returns the next event, built with the validating event.Set as a
// parser would.
func (g *Generator) Event() *event.Event {
	if g.zipf == nil {
		g.zipf = rand.NewZipf(g.rng, 1.3, 2, uint64(g.ASNs-1))
	}
	i := g.n
	g.n++
	r := reports[g.rng.IntN(len(reports))]
	net := g.rng.IntN(g.Networks)
	ip := netip.AddrFrom4([4]byte{byte(100 + net/256), byte(net % 256), byte(g.rng.IntN(256)), byte(1 + g.rng.IntN(254))})
	t := g.Start.Add(time.Duration(i)*g.Step + time.Duration(g.rng.Int64N(int64(time.Hour))))
	e := event.New(20)
	set := func(k, v string) {
		if err := e.Set(k, v); err != nil {
			panic(fmt.Sprintf("generator: %v", err))
		}
	}
	set("time.source", event.FormatTime(t))
	set("time.observation", event.FormatTime(t.Add(3*time.Hour)))
	set("source.ip", ip.String())
	set("source.port", fmt.Sprint(1+g.rng.IntN(65535)))
	set("source.asn", fmt.Sprint(g.ASN(int(g.zipf.Uint64()))))
	set("source.geolocation.cc", countries[g.rng.IntN(len(countries))])
	set("source.reverse_dns", fmt.Sprintf("host-%d-%d.net%d.example.be", ip.As4()[2], ip.As4()[3], net))
	set("protocol.transport", r.protocol)
	set("classification.identifier", r.identifier)
	set("classification.taxonomy", r.taxonomy)
	set("classification.type", r.typ)
	set("feed.name", "Shadowserver "+r.identifier)
	set("feed.provider", "Shadowserver")
	set("feed.accuracy", "100")
	set("tlp", "AMBER")
	set("extra.tag", fmt.Sprintf("%q", r.tag))
	set("extra.naics", fmt.Sprint(517311+g.rng.IntN(10)))
	set("extra.sector", `"Communications, Service Provider, and Hosting Service"`)
	set("extra.version", fmt.Sprintf(`"%d.%d.%d"`, g.rng.IntN(4), g.rng.IntN(20), g.rng.IntN(100)))
	return e
}

// Batch returns the next n events.
func (g *Generator) Batch(n int) []*event.Event {
	out := make([]*event.Event, n)
	for i := range out {
		out[i] = g.Event()
	}
	return out
}
