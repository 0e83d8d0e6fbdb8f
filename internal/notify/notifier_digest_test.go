package notify

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/outbox"
	"github.com/vigil-cert/vigil/internal/pgpmime"
	"github.com/vigil-cert/vigil/internal/store"
)

func TestDigestToEveryKindOfContact(t *testing.T) { bothReads(t, testDigestToEveryKindOfContact) }

func testDigestToEveryKindOfContact(t *testing.T) {
	keys(t) // before the contacts are made of them
	e := newEnv(t, nil,
		constituency.Contact{Name: "Alice", Email: "alice@uni.example", Notify: true},
		constituency.Contact{Name: "Bob", Email: "bob@uni.example", Notify: true, PGPKey: contactKey},
		constituency.Contact{Name: "Carol", Email: "carol@uni.example", Notify: true, PGPKey: expiredKey},
		constituency.Contact{Name: "Dan", Email: "dan@uni.example", Notify: true, PGPKey: "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nbroken\n-----END PGP PUBLIC KEY BLOCK-----\n"},
		constituency.Contact{Name: "Eve", Email: "eve@uni.example", Notify: false},
	)
	e.put([]map[string]string{scan("192.0.2.53"), scan("192.0.2.54"), infected("198.51.100.7")})
	rep := e.run(day1)
	if rep.Organisations != 1 || rep.Consumed != 3 || rep.Notified != 3 || rep.Messages != 2 || rep.Undeliverable != 0 {
		t.Errorf("report %+v", rep)
	}
	if e.pending() != 0 {
		t.Errorf("%d events still pending", e.pending())
	}
	if len(rep.Skipped) != 2 {
		t.Fatalf("skipped %+v, want Carol and Dan", rep.Skipped)
	}
	for _, s := range rep.Skipped {
		if (s.Email != "carol@uni.example" || !strings.Contains(s.Reason, "expired")) && s.Email != "dan@uni.example" {
			t.Errorf("skipped %+v", s)
		}
	}
	msgs := e.messages()
	if len(msgs) != 2 {
		t.Fatalf("%d messages, want 2", len(msgs))
	}
	var plain, encrypted outbox.Message
	for _, m := range msgs {
		if m.Encrypted {
			encrypted = m
		} else {
			plain = m
		}
		if m.Kind != NameDigest || m.Events != 3 || m.Status != outbox.MessageQueued || m.Sender != "cert@example.org" {
			t.Errorf("message %+v", m)
		}
	}
	if !slices.Equal(encrypted.Recipients, []string{"bob@uni.example"}) || !slices.Equal(plain.Recipients, []string{"alice@uni.example"}) {
		t.Errorf("recipients: encrypted %v, signed %v", encrypted.Recipients, plain.Recipients)
	}
	for _, m := range msgs {
		text, h := e.read(m)
		if !strings.Contains(flat(text), "received 3 reports") || !strings.Contains(text, "192.0.2.54") || !strings.Contains(text, "Infected systems") {
			t.Errorf("message %d text:\n%s", m.ID, text)
		}
		to, _ := h.AddressList("To")
		if len(to) != 1 || to[0].Address != m.Recipients[0] {
			t.Errorf("message %d To %v", m.ID, to)
		}
		if id, _ := h.MessageID(); id != m.MessageID || id == "" {
			t.Errorf("Message-ID %q, recorded %q", id, m.MessageID)
		}
		subject, _ := h.Subject()
		if m.Encrypted && subject != pgpmime.ObscuredSubject {
			t.Errorf("encrypted message shows its subject %q", subject)
		}
		if !m.Encrypted && subject != m.Subject {
			t.Errorf("subject %q, recorded %q", subject, m.Subject)
		}
		if d, _ := h.Date(); !d.Equal(day1) {
			t.Errorf("Date %v, want the pass's time %v", d, day1)
		}
	}
	// The notification log finds both messages from any of the events.
	page, err := e.db.SearchEvents(e.ctx, store.EventQuery{Organisation: "uni", Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range page.Events {
		found, err := e.db.ListMessages(e.ctx, outbox.MessageQuery{EventHash: ev.Hash})
		if err != nil {
			t.Fatal(err)
		}
		if len(found) != 2 {
			t.Errorf("event %s is in %d messages, want 2", ev.Hash, len(found))
		}
	}
	if e.kicks.Load() == 0 {
		t.Error("the sender was not woken")
	}
	if rep := e.run(day1.Add(time.Minute)); rep.Messages != 0 || rep.Consumed != 0 {
		t.Errorf("second pass did something: %+v", rep)
	}
	if got := len(e.messages()); got != 2 {
		t.Errorf("%d messages after a second pass, want 2", got)
	}
}

func TestNoReachableContact(t *testing.T) { bothReads(t, testNoReachableContact) }

func testNoReachableContact(t *testing.T) {
	keys(t)
	e := newEnv(t, nil, constituency.Contact{Name: "Carol", Email: "carol@uni.example", Notify: true, PGPKey: expiredKey},
		constituency.Contact{Name: "Quiet", Email: "quiet@uni.example"})
	e.put([]map[string]string{scan("192.0.2.53")})
	rep := e.run(day1)
	if rep.Messages != 0 || rep.Undeliverable != 1 || rep.Consumed != 1 || rep.Notified != 0 {
		t.Errorf("report %+v", rep)
	}
	msgs := e.messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages, want the failed record", len(msgs))
	}
	m := msgs[0]
	if m.Status != outbox.MessageFailed || len(m.Recipients) != 0 ||
		!strings.HasPrefix(m.LastError, "no contact can receive notifications: carol@uni.example: OpenPGP key expired") {
		t.Errorf("record %+v", m)
	}
	if due, _ := e.db.DueMessages(e.ctx, day1.Add(time.Hour), 10); len(due) != 0 {
		t.Errorf("the failed record is due for delivery")
	}
	// Nothing was told: once the contact is fixed, the same observation
	// is new.
	if known, _ := e.db.GetNotifiedKeys(e.ctx, "uni", []event.Hash{Key(makeEvent(t, scan("192.0.2.53")))}, day1); len(known) != 0 {
		t.Errorf("keys recorded for a notification nobody got: %v", known)
	}
	e.org.Contacts[0].PGPKey = ""
	if err := e.db.UpdateOrganisation(e.ctx, &e.org); err != nil {
		t.Fatal(err)
	}
	e.put([]map[string]string{scan("192.0.2.53")})
	if rep := e.run(day1.Add(24 * time.Hour)); rep.Notified != 1 || rep.Messages != 1 {
		t.Errorf("after the fix: %+v", rep)
	}
	t.Run("no contact at all", func(t *testing.T) {
		e := newEnv(t, nil, constituency.Contact{Name: "Quiet", Email: "quiet@uni.example"})
		e.put([]map[string]string{scan("192.0.2.53")})
		e.run(day1)
		msgs := e.messages()
		if len(msgs) != 1 || msgs[0].LastError != "no contact can receive notifications: no contact is marked to receive notifications" {
			t.Errorf("%+v", msgs)
		}
	})
}

func TestWindow(t *testing.T) { bothReads(t, testWindow) }

func testWindow(t *testing.T) {
	e := newEnv(t, nil)
	day := func(n int) time.Time { return day1.Add(time.Duration(n-1) * 24 * time.Hour) }

	e.put([]map[string]string{scan("192.0.2.53")})
	if rep := e.run(day(1)); rep.Notified != 1 || rep.Messages != 1 {
		t.Fatalf("day 1: %+v", rep)
	}
	// Shadowserver reports the same open resolver every day.
	e.put([]map[string]string{scan("192.0.2.53")})
	if rep := e.run(day(2)); rep.Notified != 0 || rep.Repeats != 1 || rep.Messages != 0 || rep.Consumed != 1 {
		t.Fatalf("day 2: %+v", rep)
	}
	e.put([]map[string]string{scan("192.0.2.53")})
	e.run(day(3))
	key := Key(makeEvent(t, scan("192.0.2.53")))
	known, err := e.db.GetNotifiedKeys(e.ctx, "uni", []event.Hash{key}, day(3))
	if err != nil {
		t.Fatal(err)
	}
	if k := known[key]; !k.FirstSent.Equal(day(1)) || !k.Expires.Equal(day(8)) {
		t.Fatalf("key after two repeats: %+v", k)
	}
	tally, err := e.db.ListRepeatedKeys(e.ctx, "uni", day(3))
	if err != nil {
		t.Fatal(err)
	}
	if len(tally) != 1 || tally[0].Key != key || tally[0].Repeats != 2 || !tally[0].FirstSent.Equal(day(1)) ||
		tally[0].Summary != "ddos-amplifier/open-dns 192.0.2.53:53 (dns)" {
		t.Fatalf("tally after two repeats: %+v", tally)
	}
	if len(e.messages()) != 1 {
		t.Fatalf("%d messages, want only day 1's", len(e.messages()))
	}
	// Something new: the digest tells it and reports the repeats.
	e.put([]map[string]string{scan("192.0.2.99")})
	if rep := e.run(day(4)); rep.Notified != 1 {
		t.Fatalf("day 4: %+v", rep)
	}
	msgs := e.messages()
	if len(msgs) != 2 {
		t.Fatalf("%d messages, want 2", len(msgs))
	}
	text, _ := e.read(msgs[1])
	if !strings.Contains(flat(text), "seen again 2 times: ddos-amplifier/open-dns 192.0.2.53:53 (dns), first reported 2026-11-20 06:30 UTC") {
		t.Errorf("day 4 digest lacks the repeats:\n%s", text)
	}
	if strings.Contains(text, "192.0.2.53  ") {
		t.Error("day 4 digest lists the repeated event again")
	}
	if tally, _ := e.db.ListRepeatedKeys(e.ctx, "uni", day(4)); len(tally) != 0 {
		t.Errorf("repeats not reset after the digest reported them: %+v", tally)
	}
	// After the window the observation is told again, in full.
	e.put([]map[string]string{scan("192.0.2.53")})
	if rep := e.run(day(9)); rep.Notified != 1 || rep.Repeats != 0 {
		t.Fatalf("day 9: %+v", rep)
	}
	msgs = e.messages()
	text, _ = e.read(msgs[len(msgs)-1])
	if !strings.Contains(text, "192.0.2.53") || strings.Contains(text, "Seen again") {
		t.Errorf("day 9 digest:\n%s", text)
	}
	t.Run("twice in one pass", func(t *testing.T) {
		e := newEnv(t, nil)
		e.put([]map[string]string{scan("192.0.2.53"), scan("192.0.2.53")})
		rep := e.run(day1)
		if rep.Notified != 1 || rep.Duplicates != 1 || rep.Consumed != 2 {
			t.Errorf("%+v", rep)
		}
	})
}

func TestImmediateAndDigestTiming(t *testing.T) { bothReads(t, testImmediateAndDigestTiming) }

func testImmediateAndDigestTiming(t *testing.T) {
	e := newEnv(t, nil)
	policy := Policy{OrgID: e.org.ID, Enabled: true, Immediate: []string{"infected-system"}, Digest: DigestDaily}
	if err := e.db.PutNotificationPolicy(e.ctx, policy); err != nil {
		t.Fatal(err)
	}
	lastDigest := time.Date(2026, 11, 20, 6, 10, 0, 0, time.UTC)
	if err := e.db.PutState(e.ctx, lastDigestKey("uni"), []byte(lastDigest.Format(time.RFC3339Nano))); err != nil {
		t.Fatal(err)
	}
	e.put([]map[string]string{infected("198.51.100.7"), scan("192.0.2.53")})
	rep := e.run(time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC))
	if rep.Notified != 1 || rep.Waiting != 1 || rep.Messages != 1 || e.pending() != 1 {
		t.Fatalf("09:00: %+v, %d pending", rep, e.pending())
	}
	msgs := e.messages()
	if msgs[0].Kind != NameImmediate || !strings.Contains(msgs[0].Subject, "Urgent: infected-system") {
		t.Errorf("09:00 message: %s %q", msgs[0].Kind, msgs[0].Subject)
	}
	// Read at once (when many organisations are pending: here one) on
	// the first pass, and then only when something must be read: a pass
	// between digests over a queue looked at already reads nothing.
	atOnce := func(when string, rep Report, want bool) {
		t.Helper()
		if want = want && bulkOrganisations == 1; want != (rep.Reading > 0) {
			t.Errorf("%s: read the queue at once: %v, want %v", when, rep.Reading > 0, want)
		}
	}
	atOnce("09:00", rep, true)
	// Later that day: the scan still waits; a new infection goes at once,
	// although the queue before it was read already.
	rep = e.run(time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC))
	if rep.Messages != 0 || e.pending() != 1 {
		t.Fatalf("12:00: %+v", rep)
	}
	atOnce("12:00", rep, false)
	e.put([]map[string]string{infected("198.51.100.8")})
	rep = e.run(time.Date(2026, 11, 20, 23, 0, 0, 0, time.UTC))
	if rep.Notified != 1 || rep.Waiting != 0 || e.pending() != 1 {
		t.Fatalf("23:00: %+v, %d pending", rep, e.pending())
	}
	if got := len(e.messages()); got != 2 {
		t.Fatalf("%d messages at 23:00, want 2", got)
	}
	atOnce("23:00", rep, true)
	rep = e.run(time.Date(2026, 11, 21, 5, 59, 0, 0, time.UTC))
	if rep.Messages != 0 || e.pending() != 1 {
		t.Fatalf("05:59: the digest went early: %+v", rep)
	}
	atOnce("05:59", rep, false)
	rep = e.run(time.Date(2026, 11, 21, 6, 0, 0, 0, time.UTC))
	if rep.Notified != 1 || e.pending() != 0 {
		t.Fatalf("06:00: %+v, %d pending", rep, e.pending())
	}
	atOnce("06:00", rep, true)
	msgs = e.messages()
	if last := msgs[len(msgs)-1]; last.Kind != NameDigest || last.Events != 1 {
		t.Errorf("06:00 message %s with %d events", last.Kind, last.Events)
	}
	// The next event waits for tomorrow.
	e.put([]map[string]string{scan("192.0.2.54")})
	if rep := e.run(time.Date(2026, 11, 21, 7, 0, 0, 0, time.UTC)); rep.Waiting != 1 || rep.Messages != 0 {
		t.Errorf("07:00: %+v", rep)
	}
	t.Run("hourly", func(t *testing.T) {
		e := newEnv(t, nil)
		if err := e.db.PutNotificationPolicy(e.ctx, Policy{OrgID: e.org.ID, Enabled: true, Digest: DigestHourly}); err != nil {
			t.Fatal(err)
		}
		e.put([]map[string]string{scan("192.0.2.1")})
		if rep := e.run(time.Date(2026, 11, 20, 10, 5, 0, 0, time.UTC)); rep.Notified != 1 {
			t.Fatalf("10:05: %+v", rep)
		}
		e.put([]map[string]string{scan("192.0.2.2")})
		if rep := e.run(time.Date(2026, 11, 20, 10, 59, 0, 0, time.UTC)); rep.Waiting != 1 {
			t.Fatalf("10:59: %+v", rep)
		}
		if rep := e.run(time.Date(2026, 11, 20, 11, 0, 0, 0, time.UTC)); rep.Notified != 1 {
			t.Fatalf("11:00: %+v", rep)
		}
	})
	t.Run("digest off", func(t *testing.T) {
		e := newEnv(t, nil)
		if err := e.db.PutNotificationPolicy(e.ctx, Policy{OrgID: e.org.ID, Enabled: true, Digest: DigestOff,
			Immediate: []string{"infected-system"}}); err != nil {
			t.Fatal(err)
		}
		e.put([]map[string]string{scan("192.0.2.1"), infected("198.51.100.9")})
		rep := e.run(day1)
		if rep.Notified != 1 || rep.Filtered != 1 || e.pending() != 0 {
			t.Errorf("%+v", rep)
		}
	})
}

// The time of a digest is stored in the transaction that queues it: a
// crash cannot leave one without the other.
func TestDigestTimeCommitted(t *testing.T) {
	e := newEnv(t, nil)
	e.put([]map[string]string{scan("192.0.2.53")})
	before := e.db.putStates.Load()
	if rep := e.run(day1); rep.Messages != 1 {
		t.Fatalf("%+v, want one digest", rep)
	}
	want := day1.UTC().Format(time.RFC3339Nano)
	e.db.mu.Lock()
	got := string(e.db.committed[lastDigestKey("uni")])
	e.db.mu.Unlock()
	if got != want {
		t.Errorf("last digest in the commit = %q, want %q", got, want)
	}
	if n := e.db.putStates.Load() - before; n != 0 {
		t.Errorf("%d PutState calls in the pass, want none: the time goes in the commit", n)
	}
	if raw, err := e.db.GetState(e.ctx, lastDigestKey("uni")); err != nil || string(raw) != want {
		t.Errorf("stored last digest = %q, %v; want %q", raw, err, want)
	}
}

// TestPassBetweenDigests: when many organisations are pending (here
// one is many), a pass between digests reads at once only the queues
// with something new: an organisation whose queue only waits for its
// digest is left out of that read, keeps waiting, and gets its digest
// when it is due.
func TestPassBetweenDigests(t *testing.T) {
	defer func(old int) { bulkOrganisations = old }(bulkOrganisations)
	bulkOrganisations = 1
	e := newEnv(t, nil)
	lab := constituency.Organisation{Handle: "lab", Name: "Example Lab", Language: "en",
		Contacts: []constituency.Contact{{Name: "Bob", Email: "bob@lab.example", Role: constituency.ContactAbuse, Notify: true}}}
	if err := e.db.orgStore.CreateOrganisation(e.ctx, &lab); err != nil {
		t.Fatal(err)
	}
	if err := e.db.PutNotificationPolicy(e.ctx, Policy{Enabled: true, Immediate: []string{"infected-system"}, Digest: DigestDaily}); err != nil {
		t.Fatal(err)
	}
	lastDigest := time.Date(2026, 11, 20, 6, 10, 0, 0, time.UTC).Format(time.RFC3339Nano)
	for _, org := range []string{"uni", "lab"} {
		if err := e.db.PutState(e.ctx, lastDigestKey(org), []byte(lastDigest)); err != nil {
			t.Fatal(err)
		}
	}
	e.put([]map[string]string{scan("192.0.2.1"), scan("192.0.2.2"), scan("192.0.2.3")}, "lab")
	e.put([]map[string]string{scan("192.0.2.53")})
	rep := e.run(time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC))
	if rep.Waiting != 4 || rep.Messages != 0 || rep.Reading == 0 {
		t.Fatalf("09:00: %+v", rep)
	}
	// Only the university's queue has something new: it is read at once,
	// the lab's (most of the queue) is not read.
	e.put([]map[string]string{infected("198.51.100.7")})
	rep = e.run(time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC))
	if rep.Notified != 1 || rep.Messages != 1 || rep.Reading == 0 || e.pending() != 4 {
		t.Fatalf("10:00: %+v, %d pending", rep, e.pending())
	}
	// Nor are they read one by one, nor is a read at once begun: nothing
	// is new.
	lists, scans := e.db.lists.Load(), e.db.scans.Load()
	if rep := e.run(time.Date(2026, 11, 20, 10, 1, 0, 0, time.UTC)); rep.Reading != 0 || rep.Messages != 0 {
		t.Errorf("10:01: %+v", rep)
	}
	if n, m := e.db.lists.Load()-lists, e.db.scans.Load()-scans; n != 0 || m != 0 {
		t.Errorf("10:01: %d reads of a queue and %d of the whole queue, want none", n, m)
	}
	rep = e.run(time.Date(2026, 11, 21, 6, 0, 0, 0, time.UTC))
	if rep.Notified != 4 || rep.Messages != 2 || rep.Reading == 0 || e.pending() != 0 {
		t.Fatalf("06:00: %+v, %d pending", rep, e.pending())
	}
	for _, m := range e.messages()[1:] {
		if want := map[string]int{"uni": 1, "lab": 3}[m.Org]; m.Kind != NameDigest || m.Events != want {
			t.Errorf("06:00: %s to %s with %d events, want a digest with %d", m.Kind, m.Org, m.Events, want)
		}
	}
}
