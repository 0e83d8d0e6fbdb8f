package notifytest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/notify"
	"github.com/vigil-cert/vigil/internal/store"
)

// testEventEntries: a notification sent now reads the ids of the chosen
// events and which organisations' queues hold them.
func testEventEntries(t *testing.T, st store.Store, s Notifier) {
	ctx := t.Context()
	createOrg(t, st, "a")
	createOrg(t, st, "b")
	var events []*event.Event
	for i := range 3 {
		events = append(events, ev(t, map[string]string{
			"time.source": event.FormatTime(base.Add(time.Duration(i) * time.Minute)),
			"source.ip":   fmt.Sprintf("192.0.2.%d", i),
		}, "a", "b"))
	}
	insert(t, st, events...)
	queue := pending(t, st, "a")
	if len(queue) != 3 {
		t.Fatalf("a's queue has %d entries, want 3", len(queue))
	}
	// b's entry of the first event is consumed.
	if err := s.CommitNotifications(ctx, &notify.NotificationCommit{Done: map[string][]int64{"b": {queue[0].Seq}}}); err != nil {
		t.Fatal(err)
	}
	missing := event.Hash{9}
	got, err := s.EventEntries(ctx, []event.Hash{queue[0].Hash, queue[1].Hash, missing})
	if err != nil {
		t.Fatalf("EventEntries: %v", err)
	}
	if len(got) != 2 {
		t.Fatalf("EventEntries = %+v, want two", got)
	}
	first, second := got[queue[0].Hash], got[queue[1].Hash]
	slices.Sort(second.Queued)
	if first.ID != queue[0].Seq || !slices.Equal(first.Queued, []string{"a"}) ||
		second.ID != queue[1].Seq || !slices.Equal(second.Queued, []string{"a", "b"}) {
		t.Errorf("EventEntries = %+v", got)
	}
	if got, err := s.EventEntries(ctx, nil); err != nil || len(got) != 0 {
		t.Errorf("EventEntries(nil) = %v, %v", got, err)
	}
}
