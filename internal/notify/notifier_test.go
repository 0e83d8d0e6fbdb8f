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
	"github.com/vigil-cert/vigil/internal/notify/falsepositive"
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
	*falsepositive.Marks
	fail      atomic.Bool
	putStates atomic.Int64
	// lists counts the calls of ListPendingNotifications, scans those of
	// ScanPendingNotifications.
	lists, scans atomic.Int64
	// scanning, when set, is closed by the first scan, and
	// PendingNotificationOrgs waits for it.
	scanning     chan struct{}
	scanningOnce sync.Once
	mu           sync.Mutex
	committed    map[string][]byte
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

func (f *failingStore) ListPendingNotifications(ctx context.Context, org string, after int64, limit int) ([]store.PendingNotification, error) {
	f.lists.Add(1)
	return f.Store.ListPendingNotifications(ctx, org, after, limit)
}

func (f *failingStore) ScanPendingNotifications(ctx context.Context, fn func(*store.PendingPage) error) error {
	f.scans.Add(1)
	if f.scanning != nil {
		f.scanningOnce.Do(func() { close(f.scanning) })
	}
	return f.Store.ScanPendingNotifications(ctx, fn)
}

func (f *failingStore) PendingNotificationOrgs(ctx context.Context) ([]store.PendingCount, error) {
	if f.scanning != nil {
		select {
		case <-f.scanning:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return f.Store.PendingNotificationOrgs(ctx)
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
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), EventLayout: testEventLayout})
	t.Cleanup(func() { db.Close() })
	if contacts == nil {
		contacts = []constituency.Contact{{Name: "Alice", Email: "alice@uni.example", Role: constituency.ContactAbuse, Notify: true}}
	}
	org := constituency.Organisation{Handle: "uni", Name: "Example University", Language: "en", Contacts: contacts}
	if err := orgs.CreateOrganisation(ctx, &org); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, ctx: ctx, db: &failingStore{Store: db, orgStore: orgs, toldStore: told.New(db.DB(), db), outboxStore: outboxdb.New(db.DB(), db), memSettings: newMemSettings(),
		Marks: falsepositive.New(db.DB())}, org: org, logs: &bytes.Buffer{}}
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

func TestManyEventsOneOrganisation(t *testing.T) { bothReads(t, testManyEventsOneOrganisation) }

// testEventLayout is the event layout of newEnv's store.
var testEventLayout = sqlitestore.LayoutRows

// TestManyEventsOnTheParts: the same on the parts layout of SQLite, whose
// queue read hands records over without their hashes: the pass computes
// them, and its messages name the stored events.
func TestManyEventsOnTheParts(t *testing.T) {
	defer func(old string) { testEventLayout = old }(testEventLayout)
	testEventLayout = sqlitestore.LayoutParts
	bothReads(t, testManyEventsOneOrganisation)
}

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
