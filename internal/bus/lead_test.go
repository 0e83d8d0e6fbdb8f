package bus

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/pipeline"
)

// TestPublisherKeepsItsLead: on an embedded server no other process
// reaches, a publisher keeps at most maxLead messages ahead of what this
// process's workers are done with: while the first message is held in
// its handler, the publisher stops at maxLead messages; once handlers
// return, every message is published and handled, and none was
// published more than maxLead ahead of the messages handled before it.
func TestPublisherKeepsItsLead(t *testing.T) {
	b := openBus(t, t.TempDir())
	defer b.Close()
	if b.lead == nil {
		t.Fatal("an embedded server that does not listen: the publisher should be bounded")
	}
	blocked := make(chan struct{}, 1)
	b.lead.mu.Lock()
	b.lead.patience = time.Hour // the bound alone, whatever the machine's load
	b.lead.waiting = func() {
		select {
		case blocked <- struct{}{}:
		default:
		}
	}
	b.lead.mu.Unlock()
	published := func() int64 {
		b.lead.mu.Lock()
		defer b.lead.mu.Unlock()
		return b.lead.published
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const messages = 5 * maxLead
	var (
		mu      sync.Mutex
		handled int64
		ahead   int64 // the most published beyond those handled before
	)
	all := make(chan struct{})
	publisherDone := make(chan error, 1)
	release := make(chan struct{})
	go b.Consume(ctx, 2, func(ctx context.Context, _ *pipeline.Batch) error {
		mu.Lock()
		first := handled == 0 && ahead == 0
		ahead = max(ahead, published()-handled)
		mu.Unlock()
		if first {
			<-release
		}
		mu.Lock()
		defer mu.Unlock()
		if handled++; handled == messages {
			close(all)
		}
		return nil
	})
	// The workers must be consuming before the first message.
	for {
		b.lead.mu.Lock()
		consumers := b.lead.consumers
		b.lead.mu.Unlock()
		if consumers > 0 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("Consume did not start")
		case <-time.After(5 * time.Millisecond):
		}
	}
	go func() {
		var pending []pipeline.Pending
		for i := range messages {
			p, err := b.Publish(ctx, batch("feed-a", 3, 3*i))
			if err != nil {
				publisherDone <- err
				return
			}
			pending = append(pending, p)
		}
		for _, p := range pending {
			if err := p.Wait(ctx); err != nil {
				publisherDone <- err
				return
			}
		}
		publisherDone <- nil
	}()
	select {
	case <-blocked:
		if n := published(); n != maxLead {
			t.Errorf("the publisher waits with %d messages published, want %d", n, maxLead)
		}
	case err := <-publisherDone:
		t.Fatalf("the publisher published all %d messages (%v) while the first was in its handler", messages, err)
	case <-ctx.Done():
		t.Fatal("the publisher neither waited nor finished")
	}
	close(release)
	if err := <-publisherDone; err != nil {
		t.Fatal(err)
	}
	select {
	case <-all:
	case <-ctx.Done():
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("%d of %d messages handled", handled, messages)
	}
	mu.Lock()
	defer mu.Unlock()
	if ahead > maxLead {
		t.Errorf("a handler saw %d messages published beyond those handled before it, want at most %d", ahead, maxLead)
	}
}
