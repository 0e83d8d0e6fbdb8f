package notify

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"time"

	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
)

// BenchSpec is the synthetic constituency that BenchmarkDigests and
// `vigil bench notify` measure: Organisations organisations owning
// Prefixes /24 networks between them, and Events stored events tagged
// with their owner. Events are spread as in a real constituency: a few
// large organisations get most of them (the largest about 0.5 %, the
// smallest a few events).
type BenchSpec struct {
	Organisations, Prefixes, Events int
	// Seed makes the data reproducible.
	Seed uint64
	// Now is the end of the day the events' time.source falls in.
	Now time.Time
}

// BenchStore is what LoadBench writes to.
type BenchStore interface {
	ImportOrganisations(ctx context.Context, orgs []constituency.Organisation, replace bool) (constituency.ImportResult, error)
	InsertEvents(ctx context.Context, events []*event.Event, dedup []store.DedupKey) (int, error)
}

// benchReports are the kinds of events generated, as Shadowserver sends
// them most.
var benchReports = []struct{ identifier, taxonomy, typ, application, transport string }{
	{"open-dns", "vulnerable", "ddos-amplifier", "dns", "udp"},
	{"open-ntp", "vulnerable", "ddos-amplifier", "ntp", "udp"},
	{"open-rdp", "vulnerable", "potentially-unwanted-accessible", "rdp", "tcp"},
	{"ssl-poodle", "vulnerable", "vulnerable-system", "https", "tcp"},
	{"mirai", "malicious-code", "infected-system", "", "tcp"},
	{"open-elasticsearch", "vulnerable", "potentially-unwanted-accessible", "elasticsearch", "tcp"},
}

var benchPorts = map[string]int64{"dns": 53, "ntp": 123, "rdp": 3389, "https": 443, "elasticsearch": 9200}

// BenchHandle is the handle of the i-th benchmark organisation.
func BenchHandle(i int) string { return fmt.Sprintf("org-%05d", i) }

// benchPrefix is the i-th /24 of the benchmark, from 11.0.0.0 on.
func benchPrefix(i int) netip.Prefix {
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(11 + i/65536), byte(i / 256 % 256), byte(i % 256), 0}), 24)
}

// LoadBench stores spec's organisations (each with one notify-contact
// without a key, so that messages are signed but not encrypted) and
// events. progress, when not nil, is called after every batch with the
// number of events stored so far.
func LoadBench(ctx context.Context, st BenchStore, spec BenchSpec, progress func(int)) error {
	if spec.Organisations < 1 || spec.Prefixes < spec.Organisations || spec.Prefixes > 65536*200 {
		return fmt.Errorf("bench: want at least one organisation and a prefix each, got %d and %d", spec.Organisations, spec.Prefixes)
	}
	if spec.Now.IsZero() {
		spec.Now = time.Now()
	}
	orgs := make([]constituency.Organisation, spec.Organisations)
	for i := range orgs {
		orgs[i] = constituency.Organisation{
			Handle: BenchHandle(i), Name: fmt.Sprintf("Organisation %d", i), Language: Languages[i%len(Languages)],
			Contacts: []constituency.Contact{{Name: "Security team", Email: fmt.Sprintf("security@%s.example", BenchHandle(i)), Role: constituency.ContactSecurity, Notify: true}},
		}
	}
	for p := range spec.Prefixes {
		o := &orgs[p%spec.Organisations]
		o.Networks = append(o.Networks, benchPrefix(p))
	}
	if _, err := st.ImportOrganisations(ctx, orgs, false); err != nil {
		return fmt.Errorf("bench: organisations: %w", err)
	}
	tags := make([]string, spec.Organisations)
	for i := range tags {
		tags[i] = `["` + BenchHandle(i) + `"]`
	}
	rng := rand.New(rand.NewPCG(spec.Seed, spec.Seed^0x6e6f74696679))
	zipf := rand.NewZipf(rng, 1.1, 50, uint64(spec.Organisations-1))
	start := spec.Now.Add(-24 * time.Hour)
	batch := make([]*event.Event, 0, 5000)
	for i := range spec.Events {
		org := int(zipf.Uint64())
		// Organisation org owns the prefixes org, org+N, org+2N, …
		owned := (spec.Prefixes - org + spec.Organisations - 1) / spec.Organisations
		prefix := benchPrefix(org + spec.Organisations*rng.IntN(owned)).Addr().As4()
		prefix[3] = byte(1 + rng.IntN(254))
		r := benchReports[rng.IntN(len(benchReports))]
		e := event.New(16)
		e.SetTime("time.source", start.Add(time.Duration(rng.Int64N(int64(24*time.Hour)))).Truncate(time.Second))
		e.SetTrusted("classification.taxonomy", r.taxonomy)
		e.SetTrusted("classification.type", r.typ)
		e.SetTrusted("classification.identifier", r.identifier)
		e.SetTrusted("source.ip", netip.AddrFrom4(prefix).String())
		if r.typ == "infected-system" {
			e.SetInt("source.port", int64(1024+rng.IntN(60000)))
			e.SetTrusted("malware.name", r.identifier)
			e.SetTrusted("destination.ip", "203.0.113.5")
			e.SetInt("destination.port", 80)
		} else {
			e.SetInt("source.port", benchPorts[r.application])
			e.SetTrusted("protocol.application", r.application)
		}
		e.SetTrusted("protocol.transport", r.transport)
		e.SetInt("source.asn", int64(64512+org%1000))
		e.SetTrusted("feed.name", "shadowserver-"+r.identifier)
		e.SetTrusted("tlp", "AMBER")
		e.SetExtra("sequence", strconv.Itoa(i))
		// As the pipeline does: the identity is fixed (event_hash) before
		// the constituency enricher tags the event.
		e.Seal()
		e.SetTrusted(store.ConstituencyField, tags[org])
		batch = append(batch, e)
		if len(batch) == cap(batch) || i == spec.Events-1 {
			if _, err := st.InsertEvents(ctx, batch, nil); err != nil {
				return fmt.Errorf("bench: events: %w", err)
			}
			batch = batch[:0]
			if progress != nil {
				progress(i + 1)
			}
			if err := ctx.Err(); err != nil {
				return err
			}
		}
	}
	return nil
}
