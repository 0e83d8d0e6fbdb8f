package pipeline_test

import (
	"bufio"
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/pipeline"
)

// preparingParser reads "ip port" lines as lineParser does and, as
// chunks.Records does, prepares its events (pipeline.Preparer) before
// handing them on: all but every third, which a parser may hand on
// unprepared.
type preparingParser struct{}

func (preparingParser) Parse(ctx context.Context, in pipeline.Input, sink pipeline.Sink) error {
	prepare, _ := sink.(pipeline.Preparer)
	sc := bufio.NewScanner(in.Body)
	for n := 0; sc.Scan(); n++ {
		f := strings.Fields(sc.Text())
		e := event.New(8)
		e.SetTrusted("source.ip", f[0])
		e.SetTrusted("source.port", f[1])
		e.SetTrusted("classification.type", "scanner")
		if prepare != nil && n%3 != 2 {
			prepare.Prepare(e)
		}
		if err := sink.Event(e); err != nil {
			return err
		}
	}
	return sc.Err()
}

// asnTagger is an EventEnricher giving every event with an address an AS
// number, counting the events it enriched and the batches it was told of.
type asnTagger struct {
	events, batches atomic.Int64
}

func (a *asnTagger) Enrich(ctx context.Context, b *pipeline.Batch) error {
	f := a.EventFunc()
	for _, e := range b.Events {
		f(e)
	}
	a.Enriched(b)
	return nil
}

func (a *asnTagger) EventFunc() func(e *event.Event) {
	return func(e *event.Event) {
		a.events.Add(1)
		if e.Has("source.ip") {
			e.SetTrusted("source.asn", "64496")
		}
	}
}

func (a *asnTagger) Enriched(*pipeline.Batch) { a.batches.Add(1) }

// identityKeeper is an enricher that reads only identities and records
// them, as the deduplicator without filter keys does.
type identityKeeper struct {
	mu  sync.Mutex
	ids []event.Hash
}

func (k *identityKeeper) ReadsIdentityOnly() bool { return true }

func (k *identityKeeper) Enrich(ctx context.Context, b *pipeline.Batch) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, e := range b.Events {
		k.ids = append(k.ids, e.Hash())
	}
	return nil
}

// capture is an output keeping each event's JSON and identity by address.
type capture struct {
	mu     sync.Mutex
	byAddr map[string]string
	ids    map[string]event.Hash
}

func (c *capture) Write(ctx context.Context, b *pipeline.Batch) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range b.Events {
		c.byAddr[e.Value("source.ip")] = string(e.AppendJSON(nil))
		c.ids[e.Value("source.ip")] = e.Hash()
	}
	return nil
}

// otherTransport is the Local transport as a transport of another kind
// (the bus): batches that leave the process are enriched by Process.
type otherTransport struct{ *pipeline.Local }

// TestEarlyEnrichmentKeepsIdentities: an EventEnricher configured after an
// enricher that reads only identities enriches the events where they are
// prepared when the batch stays in the process (Local), else in Process;
// either way each event is enriched once, keeps the identity it had
// before enrichment (event_hash too), the enricher ahead of it sees those
// identities, and the events end the same.
func TestEarlyEnrichmentKeepsIdentities(t *testing.T) {
	var lines strings.Builder
	for i := range 20 {
		lines.WriteString("192.0.2." + string(rune('a'+i)) + " 22\n")
	}
	// Addresses are not checked by this parser: letters keep them apart.
	text := strings.NewReplacer("192.0.2.", "10.").Replace(lines.String())
	run := func(transport pipeline.Transport, enrich bool) (*capture, *asnTagger, *identityKeeper) {
		t.Helper()
		out := &capture{byAddr: map[string]string{}, ids: map[string]event.Hash{}}
		tagger, keeper := &asnTagger{}, &identityKeeper{}
		var enrichers []pipeline.Enricher
		if enrich {
			enrichers = []pipeline.Enricher{keeper, tagger}
		}
		st := openStore(t)
		r := pipeline.NewRunner(pipeline.RunnerConfig{
			Env:       pipeline.Env{Store: st, Now: func() time.Time { return time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC) }},
			Transport: transport,
			Feeds:     []*pipeline.Feed{{Name: "test", Provider: "Example", TLP: "amber", ParserID: "prep", Parser: preparingParser{}}},
			Enrichers: enrichers, Outputs: []pipeline.Output{out}, BatchSize: 6, Workers: 2,
		})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go r.Work(ctx)
		if err := r.Deliver(ctx, pipeline.Input{Feed: "test", Name: "in.txt", Body: strings.NewReader(text)}); err != nil {
			t.Fatal(err)
		}
		return out, tagger, keeper
	}
	plain, _, _ := run(pipeline.NewLocal(2), false)
	if len(plain.byAddr) != 20 {
		t.Fatalf("%d events stored, want 20", len(plain.byAddr))
	}
	var results []*capture
	for _, tr := range []struct {
		name      string
		transport pipeline.Transport
	}{
		{"local", pipeline.NewLocal(2)},
		{"other", otherTransport{pipeline.NewLocal(2)}},
	} {
		out, tagger, keeper := run(tr.transport, true)
		results = append(results, out)
		if n := tagger.events.Load(); n != 20 {
			t.Errorf("%s: %d events enriched, want each of the 20 once", tr.name, n)
		}
		if n := tagger.batches.Load(); n != 4 {
			t.Errorf("%s: Enriched told of %d batches, want 4", tr.name, n)
		}
		seen := map[event.Hash]bool{}
		for _, id := range keeper.ids {
			seen[id] = true
		}
		for addr, id := range plain.ids {
			if out.ids[addr] != id {
				t.Errorf("%s: %s has identity %s, want the unenriched event's %s", tr.name, addr, out.ids[addr], id)
			}
			if !seen[id] {
				t.Errorf("%s: the enricher ahead did not see %s's identity %s", tr.name, addr, id)
			}
			if want := strings.Replace(plain.byAddr[addr], `"source.ip"`, `"source.asn": 64496, "source.ip"`, 1); out.byAddr[addr] != want {
				t.Errorf("%s: %s stored as\n %s\nwant\n %s", tr.name, addr, out.byAddr[addr], want)
			}
		}
	}
}
