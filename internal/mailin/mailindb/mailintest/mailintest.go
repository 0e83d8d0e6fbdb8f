// Package mailintest is the mail spool's contract, answered alike by
// mailindb on SQLite and on PostgreSQL.
package mailintest

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/mailin"
	"github.com/vigil-cert/vigil/internal/mailin/mailindb"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

// Run runs the contract. open returns a fresh database of its own for
// every call, migrated with the spool's schema.
func Run(t *testing.T, open func(t *testing.T) sqlkit.DB) {
	tests := []struct {
		name string
		fn   func(t *testing.T, db sqlkit.DB)
	}{
		{"put and read back", testPutAndRead},
		{"pending, done and failed", testStates},
		{"done in the caller's transaction", testDoneInTransaction},
		{"a failed group commit stores nothing", testRollback},
		{"purge", testPurge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, open(t)) })
	}
}

var t0 = time.Date(2026, 12, 3, 10, 0, 0, 123456000, time.UTC)

// mails returns n messages received a second apart from t0.
func mails(n int) []*mailin.Mail {
	var out []*mailin.Mail
	for i := range n {
		raw := fmt.Appendf(nil, "From: a%d@example.org\r\nSubject: test %d\r\n\r\nbody \x00\xff %d\r\n", i, i, i)
		env := mailin.Envelope{From: fmt.Sprintf("a%d@example.org", i), To: []string{"report@cert.example", "abuse@cert.example"},
			Client: "192.0.2.1:4321", Helo: "mx.example.org", TLS: i%2 == 0}
		out = append(out, mailin.NewMail(env, raw, t0.Add(time.Duration(i)*time.Second)))
	}
	return out
}

func put(t *testing.T, s *mailindb.Store, ms []*mailin.Mail) {
	t.Helper()
	if err := s.PutMail(t.Context(), ms); err != nil {
		t.Fatalf("PutMail: %v", err)
	}
}

func pending(t *testing.T, s *mailindb.Store) []int64 {
	t.Helper()
	list, err := s.PendingMail(t.Context(), 100)
	if err != nil {
		t.Fatalf("PendingMail: %v", err)
	}
	var ids []int64
	for _, m := range list {
		ids = append(ids, m.ID)
	}
	return ids
}

func testPutAndRead(t *testing.T, db sqlkit.DB) {
	s := mailindb.New(db)
	ms := mails(3)
	put(t, s, ms)
	for i, m := range ms {
		if m.ID == 0 {
			t.Fatalf("mail %d has no ID after PutMail", i)
		}
		got, err := s.GetMail(t.Context(), m.ID)
		if err != nil {
			t.Fatalf("GetMail(%d): %v", m.ID, err)
		}
		if !bytes.Equal(got.Raw, m.Raw) || got.SHA256 != m.SHA256 || got.Size != int64(len(m.Raw)) {
			t.Errorf("mail %d: raw, hash or size changed: %q %s %d", i, got.Raw, got.SHA256, got.Size)
		}
		if !got.Received.Equal(m.Received) || got.From != m.From || fmt.Sprint(got.To) != fmt.Sprint(m.To) ||
			got.Client != m.Client || got.Helo != m.Helo || got.TLS != m.TLS || got.State != mailin.Pending {
			t.Errorf("mail %d read back as %+v, want %+v", i, got.Envelope, m.Envelope)
		}
		if !got.Finished.IsZero() {
			t.Errorf("pending mail %d has a finish time %v", i, got.Finished)
		}
	}
	var each []int64
	err := s.EachMail(t.Context(), mailin.Pending, func(m mailin.Mail) error {
		if m.SHA256 != ms[len(each)].SHA256 || !bytes.Equal(m.Raw, ms[len(each)].Raw) {
			return fmt.Errorf("EachMail's message %d is not the one put", len(each))
		}
		each = append(each, m.ID)
		return nil
	})
	if err != nil || len(each) != len(ms) {
		t.Errorf("EachMail visited %v, %v; want the %d messages in order", each, err, len(ms))
	}
	if _, err := s.GetMail(t.Context(), ms[2].ID+100); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetMail of no message: %v, want ErrNotFound", err)
	}
	// An empty recipient list and an empty sender (a bounce) are kept.
	bounce := mailin.NewMail(mailin.Envelope{}, []byte("\r\n"), t0)
	var got mailin.Mail
	put(t, s, []*mailin.Mail{bounce})
	got, err = s.GetMail(t.Context(), bounce.ID)
	if err != nil || got.From != "" || len(got.To) != 0 {
		t.Errorf("bounce read back as %+v, %v", got.Envelope, err)
	}
}

func testStates(t *testing.T, db sqlkit.DB) {
	s := mailindb.New(db)
	ms := mails(4)
	put(t, s, ms)
	if got, want := fmt.Sprint(pending(t, s)), fmt.Sprint([]int64{ms[0].ID, ms[1].ID, ms[2].ID, ms[3].ID}); got != want {
		t.Fatalf("pending = %s, want %s (oldest first)", got, want)
	}
	limited, err := s.PendingMail(t.Context(), 2)
	if err != nil || len(limited) != 2 || limited[0].ID != ms[0].ID {
		t.Fatalf("PendingMail(2) = %d messages, %v", len(limited), err)
	}
	now := t0.Add(time.Hour)
	if err := s.MarkMailDone(t.Context(), now, ms[0].ID, ms[1].ID); err != nil {
		t.Fatalf("MarkMailDone: %v", err)
	}
	if err := s.MarkMailFailed(t.Context(), now, ms[2].ID, "not a mail: no header"); err != nil {
		t.Fatalf("MarkMailFailed: %v", err)
	}
	if got, want := fmt.Sprint(pending(t, s)), fmt.Sprint([]int64{ms[3].ID}); got != want {
		t.Errorf("pending after done and failed = %s, want %s", got, want)
	}
	failed, err := s.GetMail(t.Context(), ms[2].ID)
	if err != nil || failed.State != mailin.Failed || failed.Reason != "not a mail: no header" || !failed.Finished.Equal(now) {
		t.Errorf("failed mail = %s %q %v, %v", failed.State, failed.Reason, failed.Finished, err)
	}
	// A message done already is not done twice, nor failed after.
	if err := s.MarkMailDone(t.Context(), now, ms[0].ID, ms[3].ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("MarkMailDone of a done message: %v, want ErrNotFound", err)
	}
	if got := pending(t, s); len(got) != 1 {
		t.Errorf("a refused MarkMailDone changed the pending messages: %v", got)
	}
	if err := s.MarkMailFailed(t.Context(), now, ms[0].ID, "x"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("MarkMailFailed of a done message: %v, want ErrNotFound", err)
	}
	counts, err := s.CountMail(t.Context())
	if err != nil || counts[mailin.Pending] != 1 || counts[mailin.Done] != 2 || counts[mailin.Failed] != 1 {
		t.Errorf("CountMail = %v, %v", counts, err)
	}
}

func testDoneInTransaction(t *testing.T, db sqlkit.DB) {
	s := mailindb.New(db)
	ms := mails(2)
	put(t, s, ms)
	// The caller's work fails after the mark: the message stays pending.
	errReport := errors.New("the report could not be written")
	err := db.Tx(t.Context(), func(tx sqlkit.DB) error {
		if err := mailindb.MarkDone(t.Context(), tx, t0, ms[0].ID); err != nil {
			return err
		}
		return errReport
	})
	if !errors.Is(err, errReport) {
		t.Fatalf("Tx = %v", err)
	}
	if got := pending(t, s); len(got) != 2 {
		t.Fatalf("a rolled back MarkDone left %v pending, want both", got)
	}
	err = db.Tx(t.Context(), func(tx sqlkit.DB) error {
		if err := mailindb.MarkDone(t.Context(), tx, t0, ms[0].ID); err != nil {
			return err
		}
		return mailindb.MarkFailed(t.Context(), tx, t0, ms[1].ID, "spam")
	})
	if err != nil {
		t.Fatalf("Tx: %v", err)
	}
	if got := pending(t, s); len(got) != 0 {
		t.Errorf("pending after a committed MarkDone and MarkFailed: %v", got)
	}
}

func testRollback(t *testing.T, db sqlkit.DB) {
	s := mailindb.New(db)
	errDisk := errors.New("disk full")
	err := db.Tx(t.Context(), func(tx sqlkit.DB) error {
		if err := mailindb.Put(t.Context(), tx, mails(3)); err != nil {
			return err
		}
		return errDisk
	})
	if !errors.Is(err, errDisk) {
		t.Fatalf("Tx = %v", err)
	}
	if counts, err := s.CountMail(t.Context()); err != nil || counts[mailin.Pending] != 0 {
		t.Errorf("after a rolled back Put: %v, %v; want nothing stored", counts, err)
	}
}

func testPurge(t *testing.T, db sqlkit.DB) {
	s := mailindb.New(db)
	ms := mails(4)
	put(t, s, ms)
	if err := s.MarkMailDone(t.Context(), t0.Add(time.Hour), ms[0].ID); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkMailDone(t.Context(), t0.Add(3*time.Hour), ms[1].ID); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkMailFailed(t.Context(), t0.Add(time.Hour), ms[2].ID, "x"); err != nil {
		t.Fatal(err)
	}
	n, err := s.PurgeMail(t.Context(), t0.Add(2*time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("PurgeMail = %d, %v; want 1 (the one done before)", n, err)
	}
	if _, err := s.GetMail(t.Context(), ms[0].ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the purged message is still there: %v", err)
	}
	for _, m := range ms[1:] {
		if _, err := s.GetMail(t.Context(), m.ID); err != nil {
			t.Errorf("mail %d went with the purge: %v", m.ID, err)
		}
	}
}
