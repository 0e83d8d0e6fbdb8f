package notify

import (
	"context"
	"sync"
	"testing"
)

// roomLedger is a Deps.Room that books what is asked for and given back.
type roomLedger struct {
	mu                 sync.Mutex
	asked, given, asks int64
}

func (l *roomLedger) room(bytes int64) func() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.asked += bytes
	l.asks++
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.given += bytes
	}
}

// TestPassMakesRoomForWhatItHolds: a pass that reads the queue at once
// asks Deps.Room for at least the records and entries it holds, and gives
// all of it back when it ends; a pass reading organisation by
// organisation holds nothing at once and asks for nothing.
func TestPassMakesRoomForWhatItHolds(t *testing.T) {
	for _, bulk := range []int{1, 1000} {
		t.Run(map[int]string{1: "at once", 1000: "one by one"}[bulk], func(t *testing.T) {
			defer func(old int) { bulkOrganisations = old }(bulkOrganisations)
			bulkOrganisations = bulk
			e := newEnv(t, nil)
			ledger := &roomLedger{}
			e.n.room = ledger.room
			e.put([]map[string]string{scan("192.0.2.53"), scan("192.0.2.54"), infected("198.51.100.7")})
			rep := e.run(day1)
			if rep.Notified != 3 {
				t.Fatalf("%+v, want the three events notified", rep)
			}
			ledger.mu.Lock()
			defer ledger.mu.Unlock()
			if bulk == 1000 {
				if ledger.asks != 0 {
					t.Errorf("asked %d times for %d bytes, want nothing", ledger.asks, ledger.asked)
				}
				return
			}
			// Three entries, and three records of more than a hundred bytes each.
			if least := 3*queuedEntryBytes + 300; ledger.asked < least {
				t.Errorf("asked for %d bytes, want at least %d", ledger.asked, least)
			}
			if ledger.given != ledger.asked {
				t.Errorf("gave back %d of the %d bytes asked for", ledger.given, ledger.asked)
			}
		})
	}
}

// TestHeldRoomAsksAhead: room is asked for what the store has read ahead
// before it is handed over, in steps, and not again when the pages
// arrive; what is held beyond it is asked for at the end.
func TestHeldRoomAsksAhead(t *testing.T) {
	ledger := &roomLedger{}
	h := &heldRoom{ask: ledger.room}
	h.hold(roomStep / 2)
	if ledger.asks != 0 {
		t.Fatalf("asked %d times for half a step", ledger.asks)
	}
	h.expect(3 * roomStep) // the store holds three steps of later pages
	if want := int64(roomStep/2 + 3*roomStep); ledger.asked != want {
		t.Fatalf("asked for %d bytes, want %d: what is held and what is read ahead", ledger.asked, want)
	}
	// The pages read ahead arrive: nothing more to ask for.
	for range 3 {
		h.hold(roomStep)
		h.expect(0)
	}
	if ledger.asks != 1 {
		t.Fatalf("asked %d times, want once", ledger.asks)
	}
	h.hold(100)
	h.flush()
	if want := int64(roomStep/2 + 3*roomStep + 100); ledger.asked != want || ledger.asks != 2 {
		t.Fatalf("asked %d times for %d bytes, want twice for %d", ledger.asks, ledger.asked, want)
	}
	h.free()
	if ledger.given != ledger.asked {
		t.Fatalf("gave back %d of %d bytes", ledger.given, ledger.asked)
	}
}

// deferLedger is a Deps.DeferCheckpoints that books the deferrals, and a
// Store whose commits it counts while deferred.
type deferLedger struct {
	Store
	mu                                      sync.Mutex
	deferred, resumed, commits, commitsHeld int
}

func (l *deferLedger) deferCheckpoints() func() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.deferred++
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.resumed++
	}
}

func (l *deferLedger) CommitNotifications(ctx context.Context, c *NotificationCommit) error {
	l.mu.Lock()
	l.commits++
	if l.deferred > l.resumed {
		l.commitsHeld++
	}
	l.mu.Unlock()
	return l.Store.CommitNotifications(ctx, c)
}

// TestPassDefersCheckpoints: a pass that reads the queue at once commits
// with the store's checkpoints deferred, and resumes them when it ends; a
// pass reading organisation by organisation defers nothing.
func TestPassDefersCheckpoints(t *testing.T) {
	for _, bulk := range []int{1, 1000} {
		t.Run(map[int]string{1: "at once", 1000: "one by one"}[bulk], func(t *testing.T) {
			defer func(old int) { bulkOrganisations = old }(bulkOrganisations)
			bulkOrganisations = bulk
			e := newEnv(t, nil)
			ledger := &deferLedger{Store: e.n.store}
			e.n.store, e.n.deferCheckpoints = ledger, ledger.deferCheckpoints
			e.put([]map[string]string{scan("192.0.2.53"), scan("192.0.2.54"), infected("198.51.100.7")})
			if rep := e.run(day1); rep.Notified != 3 {
				t.Fatalf("%+v, want the three events notified", rep)
			}
			ledger.mu.Lock()
			defer ledger.mu.Unlock()
			want := map[int]int{1: 1, 1000: 0}[bulk]
			if ledger.deferred != want || ledger.resumed != want {
				t.Errorf("deferred %d times, resumed %d; want %d", ledger.deferred, ledger.resumed, want)
			}
			if ledger.commits == 0 || ledger.commitsHeld != want*ledger.commits {
				t.Errorf("%d of %d commits deferred the checkpoints, want %d", ledger.commitsHeld, ledger.commits, want*ledger.commits)
			}
		})
	}
}
