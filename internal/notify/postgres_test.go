package notify

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/auth/authdb"
	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/constituency/constituencydb"
	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/notify/falsepositive"
	"github.com/vigil-cert/vigil/internal/notify/told"
	"github.com/vigil-cert/vigil/internal/outbox/outboxdb"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/dbtest"
	"github.com/vigil-cert/vigil/internal/store/pgstore"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

// pgNotifyStore is the notifier's store on PostgreSQL.
type pgNotifyStore struct {
	*pgstore.Store
	*orgStore
	*toldStore
	*outboxStore
	*memSettings
	*falsepositive.Marks
}

// openPostgres opens a store on VIGIL_TEST_POSTGRES (dbtest.Postgres: a
// schema of its own, dropped when the test ends).
func openPostgres(t *testing.T) *pgNotifyStore {
	t.Helper()
	st := dbtest.Postgres(t, constituencydb.Schema, authdb.Schema, outboxdb.Schema, told.Schema, falsepositive.Schema).(*pgstore.Store)
	return &pgNotifyStore{Store: st, orgStore: constituencydb.New(st.DB()), toldStore: told.New(st.DB(), st),
		outboxStore: outboxdb.New(st.DB(), st), memSettings: newMemSettings(), Marks: falsepositive.New(st.DB())}
}

// TestLowerSeqCommittedLater: on PostgreSQL an insert holding a lower
// queue entry can commit after a pass read a higher one. The pass must not
// mark its queue as looked at past that entry: it is told at the next
// pass, for an organisation with a digest and immediate events and for
// one with digests off.
func TestLowerSeqCommittedLater(t *testing.T) {
	keys(t)
	ctx := t.Context()
	db := openPostgres(t)
	for _, p := range []struct {
		handle string
		digest string
	}{{"uni", DigestDaily}, {"lab", DigestOff}} {
		org := constituency.Organisation{Handle: p.handle, Name: p.handle, Language: "en",
			Contacts: []constituency.Contact{{Name: "Alice", Email: "alice@" + p.handle + ".example", Role: constituency.ContactAbuse, Notify: true}}}
		if err := db.CreateOrganisation(ctx, &org); err != nil {
			t.Fatal(err)
		}
		if err := db.PutNotificationPolicy(ctx, Policy{OrgID: org.ID, Enabled: true, Digest: p.digest,
			Immediate: []string{"infected-system"}}); err != nil {
			t.Fatal(err)
		}
	}
	cfg := testConfig()
	cfg.Enabled = true
	n, err := New(cfg, Deps{Store: db, Identity: teamIdentity, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	tagged := func(fields map[string]string, seq int) *event.Event {
		e := makeEvent(t, fields)
		e.SetTrusted(store.ConstituencyField, `["uni","lab"]`)
		e.SetTrusted("extra.sequence", strconv.Itoa(seq))
		return e
	}
	run := func(now time.Time) Report {
		t.Helper()
		rep, err := n.RunOnce(ctx, now)
		if err != nil {
			t.Fatalf("RunOnce at %v: %v", now, err)
		}
		for _, oe := range rep.Errors {
			t.Errorf("organisation %s: %v", oe.Org, oe.Err)
		}
		return rep
	}
	// The morning's digest: from now on the scans only wait.
	if _, err := db.InsertEvents(ctx, []*event.Event{tagged(scan("192.0.2.1"), 0)}, nil); err != nil {
		t.Fatal(err)
	}
	run(day1)

	// An insert gets its id and is held open while a later batch commits
	// and a pass reads the queue.
	held := tagged(infected("198.51.100.9"), 1)
	inserted, release := make(chan struct{}), make(chan struct{})
	heldDone := make(chan error, 1)
	go func() {
		heldDone <- db.DB().Tx(context.WithoutCancel(ctx), func(tx sqlkit.DB) error {
			h, now := held.Hash(), time.Now()
			var id int64
			err := tx.QueryRow(ctx, `INSERT INTO events (hash, time_source, stored, data) VALUES (?, ?, ?, ?) RETURNING id`,
				h[:], tx.Dialect().Time(now), tx.Dialect().Time(now), event.AppendRecord(nil, held)).Scan(&id)
			if err == nil {
				for _, org := range []string{"uni", "lab"} {
					if _, err = tx.Exec(ctx, `INSERT INTO notify_queue (org, event_id, stored) VALUES (?, ?, ?)`,
						org, id, tx.Dialect().Time(now)); err != nil {
						break
					}
				}
			}
			close(inserted)
			<-release
			return err
		})
	}()
	<-inserted
	if _, err := db.InsertEvents(ctx, []*event.Event{tagged(scan("192.0.2.2"), 2)}, nil); err != nil {
		t.Fatal(err)
	}
	if rep := run(day1.Add(time.Hour)); rep.Notified != 0 {
		t.Errorf("pass with the insert held: %+v, want nothing told", rep)
	}
	close(release)
	if err := <-heldDone; err != nil {
		t.Fatalf("held insert: %v", err)
	}

	rep := run(day1.Add(2 * time.Hour))
	if rep.Notified != 2 {
		t.Errorf("pass after the held insert committed: told %d, want the held infected system told to uni and lab; %+v", rep.Notified, rep)
	}
	counts, err := db.PendingNotificationOrgs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range counts {
		got = append(got, c.Org)
	}
	if want := "uni"; strings.Join(got, ",") != want {
		t.Errorf("organisations still waiting: %q, want %q (the scan waiting for uni's digest)", got, want)
	}
}
