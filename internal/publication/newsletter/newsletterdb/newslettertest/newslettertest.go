// Package newslettertest is the contract of newsletter.Store, run on
// every backend by newsletterdb's tests.
package newslettertest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/outbox"
	"github.com/vigil-cert/vigil/internal/outbox/outboxdb"
	"github.com/vigil-cert/vigil/internal/publication"
	"github.com/vigil-cert/vigil/internal/publication/newsletter"
	"github.com/vigil-cert/vigil/internal/store"
)

// Open returns a fresh database with every schema and the newsletter on
// it.
type Open func(t *testing.T) (store.Store, newsletter.Store)

// Run runs the contract.
func Run(t *testing.T, open Open) {
	t.Run("subscription requests", func(t *testing.T) { testRequests(t, open) })
	t.Run("change, list, count and export", func(t *testing.T) { testList(t, open) })
	t.Run("issues and their audiences", func(t *testing.T) { testIssues(t, open) })
	t.Run("claims and outcomes", func(t *testing.T) { testClaims(t, open) })
	t.Run("skipping a publication's queued sends", func(t *testing.T) { testSkipQueued(t, open) })
}

var t0 = time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)

// request asks for address at at and reports whether a mail was queued.
func request(t *testing.T, s newsletter.Store, address string, at time.Time, warnings bool) bool {
	t.Helper()
	r := newsletter.Request{Address: address, Lang: "nl", Warnings: warnings, ConfirmHash: []byte("hash-" + at.String()), At: at, Every: time.Hour}
	queued, err := s.RequestSubscription(context.Background(), r, func(id int64) (outbox.Message, error) {
		return outbox.Message{Kind: newsletter.OutboxKind, Sender: "n@cert.example", Recipients: []string{address},
			Subject: "confirm", MessageID: fmt.Sprintf("c.%d.%d@cert.example", id, at.UnixNano()), Body: []byte("x"), Created: at}, nil
	})
	if err != nil {
		t.Fatalf("RequestSubscription(%s): %v", address, err)
	}
	return queued
}

func find(t *testing.T, s newsletter.Store, address string) newsletter.Subscriber {
	t.Helper()
	list, _, err := s.ListSubscribers(context.Background(), newsletter.Query{Text: address})
	if err != nil || len(list) != 1 {
		t.Fatalf("ListSubscribers(%s) = %v, %v; want one", address, list, err)
	}
	return list[0]
}

func confirm(t *testing.T, s newsletter.Store, id int64) {
	t.Helper()
	_, err := s.ChangeSubscriber(context.Background(), id, func(sub *newsletter.Subscriber) error {
		sub.Status, sub.Confirmed, sub.Changed = newsletter.StatusConfirmed, t0, t0
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func testRequests(t *testing.T, open Open) {
	st, s := open(t)
	ctx := context.Background()
	if !request(t, s, "a@example.org", t0, true) {
		t.Fatal("a new address got no confirmation")
	}
	if request(t, s, "a@example.org", t0.Add(10*time.Minute), false) {
		t.Error("a second confirmation within the hour was queued")
	}
	sub := find(t, s, "a@example.org")
	if sub.Status != newsletter.StatusPending || sub.Lang != "nl" || !sub.Warnings || string(sub.ConfirmHash) != "hash-"+t0.String() {
		t.Errorf("subscriber = %+v", sub)
	}
	if !request(t, s, "a@example.org", t0.Add(61*time.Minute), false) {
		t.Error("no confirmation after the hour")
	}
	if sub = find(t, s, "a@example.org"); sub.Warnings {
		t.Error("a renewed request kept the old choice of warnings")
	}
	confirm(t, s, sub.ID)
	if request(t, s, "a@example.org", t0.Add(5*time.Hour), false) {
		t.Error("a confirmed subscriber was sent a confirmation")
	}
	if got := find(t, s, "a@example.org"); got.Status != newsletter.StatusConfirmed {
		t.Errorf("a request changed a confirmed subscription to %s", got.Status)
	}
	msgs, err := outboxdb.New(st.DB(), st).ListMessages(ctx, outbox.MessageQuery{})
	if err != nil || len(msgs) != 2 {
		t.Fatalf("outbox = %d messages, %v; want the 2 confirmations", len(msgs), err)
	}
	_, err = s.RequestSubscription(ctx, newsletter.Request{Address: "b@example.org", Lang: "en", At: t0, Every: time.Hour},
		func(int64) (outbox.Message, error) { return outbox.Message{}, errors.New("no mail") })
	if err == nil {
		t.Error("a failing mail did not fail the request")
	}
	if list, _, _ := s.ListSubscribers(ctx, newsletter.Query{Text: "b@"}); len(list) != 0 {
		t.Error("a request whose mail failed was kept")
	}
}

func testList(t *testing.T, open Open) {
	_, s := open(t)
	ctx := context.Background()
	for i, a := range []string{"one@example.org", "two@example.org", "100%@example.net"} {
		request(t, s, a, t0.Add(time.Duration(i)*time.Minute), i == 0)
	}
	one := find(t, s, "one@")
	confirm(t, s, one.ID)
	if got, err := s.GetSubscriber(ctx, one.ID); err != nil || got.Status != newsletter.StatusConfirmed || !got.Confirmed.Equal(t0) {
		t.Errorf("GetSubscriber = %+v, %v", got, err)
	}
	if _, err := s.GetSubscriber(ctx, 9999); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetSubscriber(unknown) = %v, want ErrNotFound", err)
	}
	if _, err := s.ChangeSubscriber(ctx, one.ID, func(*newsletter.Subscriber) error { return errors.New("no") }); err == nil {
		t.Error("a failing change did not fail")
	}
	list, total, err := s.ListSubscribers(ctx, newsletter.Query{Text: "%"})
	if err != nil || total != 1 || len(list) != 1 || list[0].Address != "100%@example.net" {
		t.Errorf("search for %% = %v (%d), %v; want the one address with it", list, total, err)
	}
	list, total, _ = s.ListSubscribers(ctx, newsletter.Query{Status: newsletter.StatusPending, Limit: 1})
	if total != 2 || len(list) != 1 || list[0].Address != "100%@example.net" {
		t.Errorf("pending, one a page = %v (%d)", list, total)
	}
	counts, err := s.CountSubscribers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	byStatus := map[string]int{}
	for _, c := range counts {
		byStatus[c.Status] += c.N
	}
	if byStatus[newsletter.StatusConfirmed] != 1 || byStatus[newsletter.StatusPending] != 2 {
		t.Errorf("counts = %v", counts)
	}
	var exported []string
	if err := s.EachSubscriber(ctx, newsletter.Query{}, func(sub newsletter.Subscriber) error {
		exported = append(exported, sub.Address)
		return nil
	}); err != nil || len(exported) != 3 || exported[0] != "one@example.org" {
		t.Errorf("export = %v, %v", exported, err)
	}
	if err := s.DeleteSubscriber(ctx, one.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSubscriber(ctx, one.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleting twice = %v, want ErrNotFound", err)
	}
}

func issue(id int64, kind publication.Kind) newsletter.Issue {
	audience := newsletter.AudienceAll
	if kind == publication.KindWarning {
		audience = newsletter.AudienceWarnings
	}
	return newsletter.Issue{PublicationID: id, Revision: 1, Audience: audience, Publication: publication.Publication{ID: id,
		Ident: fmt.Sprintf("VIGIL-2026-%04d", id), Kind: kind, Status: publication.StatusPublished,
		Content: publication.Content{TLP: publication.TLPClear, Texts: []publication.Text{{Lang: "en", Title: "Title"}}}}}
}

func testIssues(t *testing.T, open Open) {
	_, s := open(t)
	ctx := context.Background()
	for i := range 5 {
		a := fmt.Sprintf("s%d@example.org", i)
		request(t, s, a, t0, i%2 == 0) // s0, s2, s4 want warnings
		if i < 4 {
			confirm(t, s, find(t, s, a).ID) // s4 stays pending
		}
	}
	digest := issue(1, publication.KindDigest)
	created, err := s.QueueIssue(ctx, &digest)
	if err != nil || !created || digest.ID == 0 || digest.Queued != 4 {
		t.Fatalf("digest: created %v, %+v, %v; want 4 sends", created, digest, err)
	}
	warning := issue(2, publication.KindWarning)
	if _, err := s.QueueIssue(ctx, &warning); err != nil || warning.Queued != 2 {
		t.Fatalf("warning: %d sends, %v; want the 2 confirmed who want warnings", warning.Queued, err)
	}
	again := issue(1, publication.KindDigest)
	created, err = s.QueueIssue(ctx, &again)
	if err != nil || created || again.ID != digest.ID || again.Queued != 4 {
		t.Errorf("queueing again: created %v, %+v, %v; want the first issue", created, again, err)
	}
	got, err := s.GetIssue(ctx, digest.ID)
	if err != nil || got.Publication.Ident != "VIGIL-2026-0001" || got.Publication.Texts[0].Title != "Title" {
		t.Errorf("GetIssue = %+v, %v", got, err)
	}
	progress, err := s.ListProgress(ctx, 10)
	if err != nil || len(progress) != 2 || progress[0].ID != warning.ID || progress[1].Counts[newsletter.SendQueued] != 4 {
		t.Errorf("ListProgress = %+v, %v", progress, err)
	}
}

func testClaims(t *testing.T, open Open) {
	_, s := open(t)
	ctx := context.Background()
	for i := range 3 {
		a := fmt.Sprintf("c%d@example.org", i)
		request(t, s, a, t0, false)
		confirm(t, s, find(t, s, a).ID)
	}
	is := issue(7, publication.KindDigest)
	if _, err := s.QueueIssue(ctx, &is); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.ClaimSend(ctx, t0.Add(-time.Hour)); ok {
		t.Error("a send was claimed before it was due")
	}
	left := find(t, s, "c1@")
	if _, err := s.ChangeSubscriber(ctx, left.ID, func(sub *newsletter.Subscriber) error {
		sub.Status = newsletter.StatusUnsubscribed
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Hour)
	var claimed []newsletter.Send
	for {
		c, ok, err := s.ClaimSend(ctx, later)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		claimed = append(claimed, c)
	}
	if len(claimed) != 2 || claimed[0].Address != "c0@example.org" || claimed[1].Address != "c2@example.org" || claimed[0].Lang != "nl" {
		t.Fatalf("claimed %+v; want c0 and c2 (c1 left)", claimed)
	}
	c0 := claimed[0]
	c0.Attempts = 1
	if err := s.FinishSend(ctx, c0, newsletter.SendQueued, later, "421 try later"); err != nil {
		t.Fatal(err)
	}
	again, ok, err := s.ClaimSend(ctx, later)
	if err != nil || !ok || again.SubscriberID != c0.SubscriberID || again.Attempts != 1 {
		t.Fatalf("the retried send: %+v, %v, %v", again, ok, err)
	}
	if err := s.FinishSend(ctx, again, newsletter.SendSent, time.Time{}, "250 ok"); err != nil {
		t.Fatal(err)
	}
	// c2 is still "sending": as after a crash.
	n, err := s.AbandonInFlight(ctx, later)
	if err != nil || n != 1 {
		t.Errorf("AbandonInFlight = %d, %v; want 1", n, err)
	}
	if err := s.FinishSend(ctx, claimed[1], newsletter.SendSent, time.Time{}, "late"); err != nil {
		t.Fatal(err)
	}
	progress, err := s.ListProgress(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{newsletter.SendSent: 1, newsletter.SendSkipped: 1, newsletter.SendUnknown: 1}
	if fmt.Sprint(progress[0].Counts) != fmt.Sprint(want) {
		t.Errorf("counts = %v, want %v (a finish after the abandon changes nothing)", progress[0].Counts, want)
	}
	if _, ok, _ := s.ClaimSend(ctx, later.Add(time.Hour)); ok {
		t.Error("an unknown or skipped send was claimed again")
	}
}

// testSkipQueued: SkipQueued skips the queued sends of the
// publication's issues but those of the revision kept, leaves a claimed
// send and other publications alone, and skips every revision with 0.
func testSkipQueued(t *testing.T, open Open) {
	_, s := open(t)
	ctx := context.Background()
	for i := range 3 {
		a := fmt.Sprintf("k%d@example.org", i)
		request(t, s, a, t0, true)
		confirm(t, s, find(t, s, a).ID)
	}
	first, second, other := issue(5, publication.KindWarning), issue(5, publication.KindWarning), issue(6, publication.KindWarning)
	second.Revision = 2
	for _, is := range []*newsletter.Issue{&first, &second, &other} {
		if _, err := s.QueueIssue(ctx, is); err != nil || is.Queued != 3 {
			t.Fatalf("QueueIssue: %d sends, %v", is.Queued, err)
		}
	}
	claimed, ok, err := s.ClaimSend(ctx, time.Now().Add(time.Hour))
	if err != nil || !ok || claimed.IssueID != first.ID {
		t.Fatalf("ClaimSend = %+v, %v, %v; want a send of the first issue", claimed, ok, err)
	}
	counts := func() map[int64]map[string]int {
		t.Helper()
		progress, err := s.ListProgress(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		out := map[int64]map[string]int{}
		for _, p := range progress {
			out[p.ID] = p.Counts
		}
		return out
	}
	// Keeping revision 1 skips nothing: never a newer revision's sends.
	if n, err := s.SkipQueued(ctx, 5, 1, "superseded"); err != nil || n != 0 {
		t.Errorf("SkipQueued(5, keep 1) = %d, %v; want nothing skipped (revision 2 is newer)", n, err)
	}
	n, err := s.SkipQueued(ctx, 5, 2, "superseded by revision 2")
	c := counts()
	if err != nil || n != 2 || c[first.ID][newsletter.SendSkipped] != 2 || c[first.ID][newsletter.SendSending] != 1 ||
		c[second.ID][newsletter.SendQueued] != 3 || c[other.ID][newsletter.SendQueued] != 3 {
		t.Errorf("SkipQueued(5, keep 2) = %d, %v; counts %v; want the first issue's two queued sends skipped, the rest as it was", n, err, c)
	}
	if n, err := s.SkipQueued(ctx, 5, 0, "withdrawn"); err != nil || n != 3 || counts()[second.ID][newsletter.SendSkipped] != 3 {
		t.Errorf("SkipQueued(5, every revision) = %d, %v; want the second issue's 3 sends", n, err)
	}
	if n, err := s.SkipQueued(ctx, 5, 0, "withdrawn"); err != nil || n != 0 {
		t.Errorf("SkipQueued again = %d, %v; want nothing left to skip", n, err)
	}
	if err := s.FinishSend(ctx, claimed, newsletter.SendSent, time.Time{}, "250 ok"); err != nil {
		t.Fatal(err)
	}
	if c := counts(); c[first.ID][newsletter.SendSent] != 1 || c[other.ID][newsletter.SendQueued] != 3 {
		t.Errorf("counts %v; want the claimed send sent and the other publication untouched", c)
	}
}
