package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	gomail "github.com/emersion/go-message/mail"

	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/notify/told"
	"github.com/vigil-cert/vigil/internal/outbox"
	"github.com/vigil-cert/vigil/internal/outbox/outboxdb"
	"github.com/vigil-cert/vigil/internal/pgpmime"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/sqlitestore"
)

// keyTime is when the test keys are made: before every fake clock of the
// tests, since a key cannot sign before it exists.
var keyTime = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// day1 is the first morning of the tests' fake calendar.
var day1 = time.Date(2026, 11, 20, 6, 30, 0, 0, time.UTC)

var (
	identityOnce sync.Once
	teamIdentity *pgpmime.Identity
	contactKey   string // a usable public key of a contact
	expiredKey   string // a contact key that expired on 2026-02-01
)

// keys makes the team identity and the contacts' keys once: generating
// keys is the slow part of these tests.
func keys(t testing.TB) {
	identityOnce.Do(func() {
		armored, err := pgpmime.GenerateIdentity("Example CERT", "cert@example.org", keyTime)
		if err != nil {
			panic(err)
		}
		if teamIdentity, err = pgpmime.ParseIdentity(armored, ""); err != nil {
			panic(err)
		}
		contactArmored, err := pgpmime.GenerateIdentity("Bob", "bob@uni.example", keyTime)
		if err != nil {
			panic(err)
		}
		contact, err := pgpmime.ParseIdentity(contactArmored, "")
		if err != nil {
			panic(err)
		}
		contactKey = contact.PublicKey()
		expiredKey = armoredPublic(newExpiringEntity("Carol", "carol@uni.example", keyTime, 31*24*time.Hour))
	})
	if teamIdentity == nil {
		t.Fatal("no test keys")
	}
}

func newExpiringEntity(name, email string, created time.Time, lifetime time.Duration) *openpgp.Entity {
	config := &packet.Config{
		Algorithm: packet.PubKeyAlgoEdDSA, Curve: packet.Curve25519,
		Time:            func() time.Time { return created },
		KeyLifetimeSecs: uint32(lifetime / time.Second),
	}
	e, err := openpgp.NewEntity(name, "", email, config)
	if err != nil {
		panic(err)
	}
	return e
}

func armoredPublic(e *openpgp.Entity) string {
	var b bytes.Buffer
	w, err := armor.Encode(&b, openpgp.PublicKeyType, nil)
	if err != nil {
		panic(err)
	}
	if err := e.Serialize(w); err != nil {
		panic(err)
	}
	w.Close()
	return b.String()
}

// failingStore is the real store with a commit that fails on demand, as a
// crash or a full disk would make it. It counts the state written outside
// commits and keeps the state of the last commit.
type failingStore struct {
	*sqlitestore.Store
	*orgStore
	*toldStore
	*outboxStore
	*memSettings
	fail      atomic.Bool
	putStates atomic.Int64
	mu        sync.Mutex
	committed map[string][]byte
}

var errDiskFull = errors.New("disk full")

func (f *failingStore) CommitNotifications(ctx context.Context, c *NotificationCommit) error {
	if f.fail.Load() {
		return errDiskFull
	}
	f.mu.Lock()
	f.committed = maps.Clone(c.State)
	f.mu.Unlock()
	return f.toldStore.CommitNotifications(ctx, c)
}

func (f *failingStore) PutState(ctx context.Context, key string, value []byte) error {
	f.putStates.Add(1)
	return f.Store.PutState(ctx, key, value)
}

// env is a notifier over a fresh SQLite store with one organisation.
type env struct {
	t     *testing.T
	ctx   context.Context
	db    *failingStore
	n     *Notifier
	org   constituency.Organisation
	kicks atomic.Int64
	logs  *bytes.Buffer
	seq   int
}

func newEnv(t *testing.T, edit func(*Config), contacts ...constituency.Contact) *env {
	t.Helper()
	keys(t)
	ctx := t.Context()
	db, orgs := openTestStore(t, filepath.Join(t.TempDir(), "vigil.db"), sqlitestore.Options{Synchronous: "NORMAL",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	t.Cleanup(func() { db.Close() })
	if contacts == nil {
		contacts = []constituency.Contact{{Name: "Alice", Email: "alice@uni.example", Role: constituency.ContactAbuse, Notify: true}}
	}
	org := constituency.Organisation{Handle: "uni", Name: "Example University", Language: "en", Contacts: contacts}
	if err := orgs.CreateOrganisation(ctx, &org); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, ctx: ctx, db: &failingStore{Store: db, orgStore: orgs, toldStore: told.New(db.DB()), outboxStore: outboxdb.New(db.DB()), memSettings: newMemSettings()}, org: org, logs: &bytes.Buffer{}}
	cfg := testConfig()
	cfg.Enabled = true
	cfg.TableRows = 10
	if edit != nil {
		edit(&cfg)
	}
	var err error
	e.n, err = New(cfg, Deps{Store: e.db, Identity: teamIdentity, Logger: slog.New(slog.NewTextHandler(e.logs, nil)),
		Kick: func() { e.kicks.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// put stores events tagged with the organisation (or with orgs).
func (e *env) put(events []map[string]string, orgs ...string) {
	e.t.Helper()
	if orgs == nil {
		orgs = []string{e.org.Handle}
	}
	batch := make([]*event.Event, 0, len(events))
	for _, f := range events {
		ev := makeEvent(e.t, f)
		tag := `["` + strings.Join(orgs, `","`) + `"]`
		ev.SetTrusted(store.ConstituencyField, tag)
		// Distinct stored events, as two daily reports of one problem are.
		e.seq++
		ev.SetTrusted("extra.sequence", fmt.Sprint(e.seq))
		batch = append(batch, ev)
	}
	if _, err := e.db.InsertEvents(e.ctx, batch, nil); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) run(now time.Time) Report {
	e.t.Helper()
	rep, err := e.n.RunOnce(e.ctx, now)
	if err != nil {
		e.t.Fatalf("RunOnce at %v: %v", now, err)
	}
	for _, oe := range rep.Errors {
		e.t.Errorf("organisation %s: %v", oe.Org, oe.Err)
	}
	return rep
}

func (e *env) pending() int64 {
	e.t.Helper()
	counts, err := e.db.PendingNotificationOrgs(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	var n int64
	for _, c := range counts {
		n += c.Count
	}
	return n
}

// messages returns the organisation's outbox, oldest first, with bodies.
func (e *env) messages() []outbox.Message {
	e.t.Helper()
	list, err := e.db.ListMessages(e.ctx, outbox.MessageQuery{OrgID: e.org.ID, Limit: 1000})
	if err != nil {
		e.t.Fatal(err)
	}
	slices.Reverse(list)
	for i := range list {
		m, err := e.db.GetMessage(e.ctx, list[i].ID)
		if err != nil {
			e.t.Fatal(err)
		}
		list[i] = m
	}
	return list
}

// read opens a queued message with the team key (which every encrypted
// message is also encrypted to), checks its signature, and returns its
// readable dump and its header.
func (e *env) read(m outbox.Message) (string, gomail.Header) {
	e.t.Helper()
	opened, err := pgpmime.Open(m.Body, openpgp.EntityList{teamIdentity.Entity()})
	if err != nil {
		e.t.Fatalf("message %d: %v", m.ID, err)
	}
	if !opened.Signed || opened.SignerFingerprint != teamIdentity.Fingerprint() {
		e.t.Errorf("message %d: signed %v by %s: %v", m.ID, opened.Signed, opened.SignerFingerprint, opened.SignatureError)
	}
	if opened.Encrypted != m.Encrypted {
		e.t.Errorf("message %d: encrypted %v, recorded as %v", m.ID, opened.Encrypted, m.Encrypted)
	}
	r, err := gomail.CreateReader(bytes.NewReader(m.Body))
	if err != nil {
		e.t.Fatal(err)
	}
	return dumpEntity(e.t, opened.Content), r.Header
}

// flat joins wrapped lines, for phrases that reflow may have broken.
func flat(s string) string { return strings.Join(strings.Fields(s), " ") }

func scan(ip string) map[string]string {
	return map[string]string{
		"time.source": "2026-11-20T03:00:00+00:00", "classification.taxonomy": "vulnerable",
		"classification.type": "ddos-amplifier", "classification.identifier": "open-dns",
		"source.ip": ip, "source.port": "53", "protocol.application": "dns", "feed.name": "shadowserver-scan-dns", "tlp": "AMBER",
	}
}

func infected(ip string) map[string]string {
	return map[string]string{
		"time.source": "2026-11-20T04:00:00+00:00", "classification.taxonomy": "malicious-code",
		"classification.type": "infected-system", "classification.identifier": "mirai", "malware.name": "mirai",
		"source.ip": ip, "source.port": "40000", "destination.ip": "203.0.113.5", "destination.port": "23", "feed.name": "sinkhole",
	}
}

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
	// Later that day: the scan still waits; a new infection goes at once,
	// although the queue before it was read already.
	e.run(time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC))
	e.put([]map[string]string{infected("198.51.100.8")})
	rep = e.run(time.Date(2026, 11, 20, 23, 0, 0, 0, time.UTC))
	if rep.Notified != 1 || rep.Waiting != 0 || e.pending() != 1 {
		t.Fatalf("23:00: %+v, %d pending", rep, e.pending())
	}
	if got := len(e.messages()); got != 2 {
		t.Fatalf("%d messages at 23:00, want 2", got)
	}
	if rep := e.run(time.Date(2026, 11, 21, 5, 59, 0, 0, time.UTC)); rep.Messages != 0 || e.pending() != 1 {
		t.Fatalf("05:59: the digest went early: %+v", rep)
	}
	rep = e.run(time.Date(2026, 11, 21, 6, 0, 0, 0, time.UTC))
	if rep.Notified != 1 || e.pending() != 0 {
		t.Fatalf("06:00: %+v, %d pending", rep, e.pending())
	}
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

func TestCrashSafety(t *testing.T) { bothReads(t, testCrashSafety) }

func testCrashSafety(t *testing.T) {
	e := newEnv(t, nil)
	e.put([]map[string]string{scan("192.0.2.53"), infected("198.51.100.7")})
	e.db.fail.Store(true)
	if _, err := e.n.RunOnce(e.ctx, day1); !errors.Is(err, errDiskFull) {
		t.Fatalf("RunOnce with a failing commit: %v", err)
	}
	if e.pending() != 2 || len(e.messages()) != 0 {
		t.Fatalf("after the failed commit: %d pending, %d messages", e.pending(), len(e.messages()))
	}
	if known, _ := e.db.GetNotifiedKeys(e.ctx, "uni", []event.Hash{Key(makeEvent(t, scan("192.0.2.53")))}, day1); len(known) != 0 {
		t.Error("keys stored by a failed commit")
	}
	if _, err := e.db.GetState(e.ctx, lastDigestKey("uni")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("last digest recorded for a failed commit: %v", err)
	}
	e.db.fail.Store(false)
	rep := e.run(day1.Add(time.Minute))
	if rep.Notified != 2 || rep.Messages != 1 || e.pending() != 0 {
		t.Fatalf("rerun: %+v", rep)
	}
	e.run(day1.Add(2 * time.Minute))
	e.run(day1.Add(25 * time.Hour))
	msgs := e.messages()
	if len(msgs) != 1 || msgs[0].Events != 2 {
		t.Fatalf("%d messages, want the digest once", len(msgs))
	}
	text, _ := e.read(msgs[0])
	if strings.Count(text, "192.0.2.53  ") != 1 || strings.Count(text, "198.51.100.7  ") != 1 {
		t.Errorf("each event once:\n%s", text)
	}
}

func TestPolicyFiltersAndTLP(t *testing.T) { bothReads(t, testPolicyFiltersAndTLP) }

func testPolicyFiltersAndTLP(t *testing.T) {
	e := newEnv(t, nil)
	if err := e.db.PutNotificationPolicy(e.ctx, Policy{OrgID: e.org.ID, Enabled: true,
		Taxonomies: []string{"vulnerable"}, Format: FormatJSON, Language: "de"}); err != nil {
		t.Fatal(err)
	}
	red := scan("192.0.2.66")
	red["tlp"] = "RED"
	e.put([]map[string]string{scan("192.0.2.53"), infected("198.51.100.7"), red})
	rep := e.run(day1)
	if rep.Notified != 1 || rep.Filtered != 1 || rep.Withheld != 1 || rep.Consumed != 3 {
		t.Errorf("report %+v", rep)
	}
	msgs := e.messages()
	if len(msgs) != 1 || !strings.HasPrefix(msgs[0].Subject, "[Example CERT] 1 Sicherheitsmeldung für das Netz von Example University") {
		t.Fatalf("messages %+v", msgs)
	}
	text, _ := e.read(msgs[0])
	if !strings.Contains(flat(text), "im JSON-Format von IntelMQ") || !strings.Contains(text, `"source.ip": "192.0.2.53"`) || strings.Contains(text, "192.0.2.66") {
		t.Errorf("message:\n%s", text)
	}
	t.Run("disabled", func(t *testing.T) {
		e := newEnv(t, nil)
		if err := e.db.PutNotificationPolicy(e.ctx, Policy{OrgID: 0, Enabled: false}); err != nil {
			t.Fatal(err)
		}
		e.put([]map[string]string{scan("192.0.2.53")})
		if rep := e.run(day1); rep.Filtered != 1 || rep.Messages != 0 || e.pending() != 0 {
			t.Errorf("team default disabled: %+v", rep)
		}
	})
}

func TestUnknownOrganisation(t *testing.T) { bothReads(t, testUnknownOrganisation) }

// bothReads runs test with the organisations and the queue read one by
// one, and read at once (as a pass over many organisations does).
func bothReads(t *testing.T, test func(t *testing.T)) {
	for _, bulk := range []int{1000, 1} {
		name := "one by one"
		if bulk == 1 {
			name = "at once"
		}
		t.Run(name, func(t *testing.T) {
			defer func(old int) { bulkOrganisations = old }(bulkOrganisations)
			bulkOrganisations = bulk
			test(t)
		})
	}
}

func testUnknownOrganisation(t *testing.T) {
	e := newEnv(t, nil)
	e.put([]map[string]string{scan("192.0.2.53")}, "ghost", "uni")
	rep := e.run(day1)
	if !slices.Equal(rep.UnknownOrganisations, []string{"ghost"}) || rep.Consumed != 2 || rep.Notified != 1 || e.pending() != 0 {
		t.Errorf("report %+v, %d pending", rep, e.pending())
	}
	text, _ := e.read(e.messages()[0])
	if strings.Contains(text, "ghost") {
		t.Error("the message names the other organisation")
	}
}

func TestNoIdentity(t *testing.T) {
	e := newEnv(t, nil)
	e.n.SetIdentity(nil)
	e.put([]map[string]string{scan("192.0.2.53")})
	if _, err := e.n.RunOnce(e.ctx, day1); !errors.Is(err, ErrNoIdentity) {
		t.Fatalf("got %v, want ErrNoIdentity", err)
	}
	if e.pending() != 1 {
		t.Error("events consumed without an identity")
	}
	e.n.SetIdentity(teamIdentity)
	if rep := e.run(day1); rep.Notified != 1 {
		t.Errorf("%+v", rep)
	}
}

func TestTemplateOverrides(t *testing.T) {
	e := newEnv(t, nil)
	broken := TemplateSource{Language: "en", Name: NameDigest, Subject: "{{.Total}} things", Body: "Hello\n{{.NoSuchField}}\n"}
	err := e.n.SaveTemplate(e.ctx, broken)
	var te *TemplateError
	if !errors.As(err, &te) || te.Line != 2 {
		t.Fatalf("SaveTemplate of a broken template: %v", err)
	}
	if _, err := e.db.GetNotificationTemplate(e.ctx, "en", NameDigest); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("the broken template was saved")
	}
	// One stored past the check (an older version, another tool) must not
	// stop notifications: the built-in is used and the failure logged.
	if err := e.db.PutNotificationTemplate(e.ctx, broken); err != nil {
		t.Fatal(err)
	}
	e.put([]map[string]string{scan("192.0.2.53")})
	if rep := e.run(day1); rep.Messages != 1 {
		t.Fatalf("a broken override stopped sending: %+v", rep)
	}
	msgs := e.messages()
	if !strings.HasPrefix(msgs[0].Subject, "[Example CERT] 1 security event") {
		t.Errorf("subject %q, want the built-in's", msgs[0].Subject)
	}
	if !strings.Contains(e.logs.String(), "override fails") || !strings.Contains(e.logs.String(), "NoSuchField") {
		t.Errorf("the failure was not logged:\n%s", e.logs)
	}
	good := TemplateSource{Language: "en", Name: NameDigest, Subject: "CERT report: {{.Total}}", Body: "Hi {{.Org.Name}}\n{{range .Sections}}{{.Explanation}}\n{{.Table}}\n{{end}}", UpdatedBy: "analyst"}
	if err := e.n.SaveTemplate(e.ctx, good); err != nil {
		t.Fatal(err)
	}
	spam := TemplateSource{Language: "en", Name: "type/ddos-amplifier", Body: "Our own words about {{.Type}}."}
	if err := e.n.SaveTemplate(e.ctx, spam); err != nil {
		t.Fatal(err)
	}
	e.put([]map[string]string{scan("192.0.2.54")})
	e.run(day1.Add(24 * time.Hour))
	msgs = e.messages()
	last := msgs[len(msgs)-1]
	text, _ := e.read(last)
	if last.Subject != "CERT report: 1" || !strings.Contains(text, "Hi Example University") || !strings.Contains(text, "Our own words about ddos-amplifier.") {
		t.Errorf("override not used: %q\n%s", last.Subject, text)
	}
}

func TestPreview(t *testing.T) {
	e := newEnv(t, nil)
	p, err := e.n.Preview(e.ctx, "nl", NameDigest, constituency.Organisation{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(p.Subject, "beveiligingsmeldingen voor het netwerk van Example University") ||
		!strings.Contains(p.Text, "Besmette systemen") || len(p.Attachments) != 1 || len(p.Entity) == 0 {
		t.Errorf("preview %q:\n%s", p.Subject, p.Text)
	}
	p, err = e.n.Preview(e.ctx, "fr", "type/spam", e.org, SampleEvents()[:1])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(p.Text, "Spam envoyé depuis votre réseau") {
		t.Errorf("type preview:\n%s", p.Text)
	}
	_, err = e.n.PreviewDraft(e.ctx, TemplateSource{Language: "en", Name: NameImmediate, Subject: "x", Body: "a\n{{.Nope}}"}, e.org, nil)
	var te *TemplateError
	if !errors.As(err, &te) || te.Line != 2 {
		t.Errorf("draft with an error: %v", err)
	}
	p, err = e.n.PreviewDraft(e.ctx, TemplateSource{Language: "en", Name: NameImmediate, Subject: "Now: {{.Type}}", Body: "{{.Total}} events"}, e.org, nil)
	if err != nil || p.Subject != "Now: ddos-amplifier" || !strings.HasPrefix(p.Text, "4 events") {
		t.Errorf("draft preview %q %q: %v", p.Subject, p.Text, err)
	}
	// A broken stored override is an error in a preview, not a fallback.
	if err := e.db.PutNotificationTemplate(e.ctx, TemplateSource{Language: "de", Name: NameDigest, Subject: "s", Body: "{{.Nope}}"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.n.Preview(e.ctx, "de", NameDigest, e.org, nil); !errors.As(err, &te) {
		t.Errorf("preview of a broken override: %v", err)
	}
}

func TestManyEventsOneOrganisation(t *testing.T) { bothReads(t, testManyEventsOneOrganisation) }

func testManyEventsOneOrganisation(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxEventsPerMessage = 2500 })
	const n = pendingPage + 1200
	batch := make([]map[string]string, 0, 1000)
	for i := range n {
		batch = append(batch, scan(fmt.Sprintf("10.0.%d.%d", i/256, i%256)))
		if len(batch) == cap(batch) || i == n-1 {
			e.put(batch)
			batch = batch[:0]
		}
	}
	rep := e.run(day1)
	if rep.Notified != n || rep.Consumed != n || rep.Messages != 3 || e.pending() != 0 {
		t.Fatalf("report %+v, %d pending", rep, e.pending())
	}
	if bulk := bulkOrganisations == 1; bulk != (rep.Reading > 0) {
		t.Errorf("read the queue at once: %v, want %v", rep.Reading > 0, bulk)
	}
	total := 0
	for i, m := range e.messages() {
		total += m.Events
		if want := fmt.Sprintf("(part %d of 3)", i+1); !strings.HasSuffix(m.Subject, want) {
			t.Errorf("subject %q", m.Subject)
		}
	}
	if total != n {
		t.Errorf("parts report %d events, want %d", total, n)
	}
}

// TestRun checks the loop: a pass at start, one when triggered, and a
// clean stop.
func TestRun(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Interval = time.Hour })
	e.put([]map[string]string{scan("192.0.2.53")})
	ctx, cancel := context.WithCancel(e.ctx)
	done := make(chan error)
	go func() { done <- e.n.Run(ctx) }()
	waitFor := func(what string, cond func() bool) {
		deadline := time.Now().Add(10 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitFor("the first pass", func() bool { return e.pending() == 0 })
	// The real clock is before the test keys' fake future: a key made now
	// signs what Run makes now.
	if got := len(e.messages()); got != 1 {
		t.Fatalf("%d messages after the first pass", got)
	}
	e.put([]map[string]string{infected("198.51.100.7")})
	if err := e.db.PutNotificationPolicy(e.ctx, Policy{OrgID: e.org.ID, Enabled: true, Immediate: []string{"infected-system"}}); err != nil {
		t.Fatal(err)
	}
	e.n.Trigger()
	waitFor("the triggered pass", func() bool { return e.pending() == 0 })
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
	if r := e.n.LastReport(); r.Started.IsZero() {
		t.Error("no last report")
	}
}

// TestSignedMessageGolden pins the complete message as queued: the outer
// header, the RFC 3156 structure and the protected headers. What changes
// from run to run (the Message-ID, the signing boundary, the signature)
// is normalised.
func TestSignedMessageGolden(t *testing.T) {
	e := newEnv(t, nil)
	e.put([]map[string]string{scan("192.0.2.53")})
	e.run(day1)
	msgs := e.messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages", len(msgs))
	}
	body := string(msgs[0].Body)
	body = strings.ReplaceAll(body, msgs[0].MessageID, "MESSAGE-ID")
	body = regexp.MustCompile(`vigil-[0-9a-f]{30}`).ReplaceAllString(body, "SIGNING-BOUNDARY")
	body = regexp.MustCompile(`(?s)-----BEGIN PGP SIGNATURE-----.*?-----END PGP SIGNATURE-----`).ReplaceAllString(body, "SIGNATURE")
	golden(t, "signed-en-summary.golden", []byte(strings.ReplaceAll(body, "\r\n", "\n")))
	if strings.Contains(body, "vigil-") {
		t.Error("a random boundary was not normalised")
	}
}
