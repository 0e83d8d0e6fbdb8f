package notify

import (
	"context"
	"io"
	"log/slog"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/cputime"
	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
)

// benchCapture is a BenchStore that keeps what LoadBench writes, so that
// the rendering benchmarks see the events of `vigil bench notify`
// without a database.
type benchCapture struct {
	orgs   []constituency.Organisation
	events []*event.Event
}

func (c *benchCapture) ImportOrganisations(_ context.Context, orgs []constituency.Organisation, _ bool) (constituency.ImportResult, error) {
	c.orgs = append(c.orgs, orgs...)
	return constituency.ImportResult{}, nil
}

func (c *benchCapture) InsertEvents(_ context.Context, events []*event.Event, _ []store.DedupKey) (int, error) {
	for _, e := range events {
		c.events = append(c.events, e.Clone())
	}
	return len(events), nil
}

// benchDigests returns one digest input per organisation of a benchmark
// constituency of orgs organisations and n events, largest first.
func benchDigests(tb testing.TB, orgs, n int) []renderInput {
	tb.Helper()
	var c benchCapture
	spec := BenchSpec{Organisations: orgs, Prefixes: orgs * 10, Events: n, Seed: 3, Now: renderNow}
	if err := LoadBench(context.Background(), &c, spec, nil); err != nil {
		tb.Fatal(err)
	}
	byOrg := map[string][]store.StoredEvent{}
	for _, e := range c.events {
		tag := e.Value(store.ConstituencyField)
		byOrg[tag] = append(byOrg[tag], store.StoredEvent{Hash: e.Hash(), Stored: renderNow.Add(-time.Hour), Event: e})
	}
	var out []renderInput
	for _, o := range c.orgs {
		events := byOrg[`["`+o.Handle+`"]`]
		if len(events) == 0 {
			continue
		}
		out = append(out, renderInput{Kind: NameDigest, Org: o, Language: o.Language, Format: FormatSummary, Events: events, Now: renderNow})
	}
	sort.SliceStable(out, func(i, j int) bool { return len(out[i].Events) > len(out[j].Events) })
	return out
}

// BenchmarkRenderDigests renders the digests of 100 organisations and
// 10,000 events, as `vigil bench notify` has them (a few large, most of
// about a hundred events); ns/op is for all of them.
func BenchmarkRenderDigests(b *testing.B) {
	r := testRenderer(b, DefaultConfig())
	digests := benchDigests(b, 100, 10000)
	b.ReportAllocs()
	for b.Loop() {
		for _, in := range digests {
			if _, err := r.render(in); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(digests)), "ns/message")
}

// BenchmarkRenderLarge renders one digest of 5,000 events.
func BenchmarkRenderLarge(b *testing.B) {
	r := testRenderer(b, DefaultConfig())
	digests := benchDigests(b, 1, 5000)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.render(digests[0]); err != nil {
			b.Fatal(err)
		}
	}
}

// TestLoadBenchSealsAsThePipeline: the bench's events are sealed before
// they are tagged, as the pipeline seals before its enrichers, so that
// the notifier reads their identity from event_hash as it does in
// production rather than hashing them again.
func TestLoadBenchSealsAsThePipeline(t *testing.T) {
	var c benchCapture
	if err := LoadBench(context.Background(), &c, BenchSpec{Organisations: 3, Prefixes: 6, Events: 20, Seed: 3, Now: renderNow}, nil); err != nil {
		t.Fatal(err)
	}
	for _, e := range c.events {
		stored, ok := e.Get("event_hash")
		if !ok {
			t.Fatalf("an event without event_hash: %v", e)
		}
		untagged := e.Clone()
		untagged.Delete(store.ConstituencyField)
		untagged.Delete("event_hash")
		if want := untagged.Seal(); !strings.EqualFold(stored, want.String()) {
			t.Fatalf("event_hash %s, the untagged event's identity %s", stored, want)
		}
	}
}

// BenchmarkRenderAll renders, signs and packs the digests of 1,000
// organisations and 100,000 events, as a pass's workers do (renderAll),
// one after another; it reports the CPU time (user and system, of the
// whole process) a message, which a busy machine changes less than the
// elapsed time.
func BenchmarkRenderAll(b *testing.B) {
	keys(b)
	cfg := DefaultConfig()
	cfg.From = "CERT <cert@example.org>"
	pc, err := newPassConfig(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	p := &pass{pc: pc, id: teamIdentity, now: renderNow}
	digests := benchDigests(b, 1000, 100000)
	seq := int64(0)
	for k := range digests {
		in := &digests[k]
		// Read back from their records, as a pass reads its queue: keys
		// with a code are then the same strings in every event.
		arena := event.NewRecordArena(nil, len(in.Events), 16*len(in.Events))
		for i, e := range in.Events {
			d, err := arena.DecodeString(string(event.AppendRecord(nil, e.Event)))
			if err != nil {
				b.Fatal(err)
			}
			store.WithoutWithheld(d)
			in.Events[i].Event = d
			seq++
			in.Seqs = append(in.Seqs, seq)
		}
	}
	b.ReportAllocs()
	start := cputime.Process()
	for b.Loop() {
		for _, in := range digests {
			o := &orgWork{org: in.Org.Handle, now: renderNow}
			policy := Policy{Language: in.Language, Format: in.Format}
			if err := p.renderAll(o, in.Org, policy, []renderInput{in}, p.recipients(in.Org)); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64((cputime.Process()-start).Nanoseconds())/float64(b.N*len(digests)), "cpu-ns/message")
}
