package notify

import (
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
