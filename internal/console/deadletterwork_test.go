package console

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/store"
)

// letterEnv is a console whose re-runs fail for inputs that contain
// "bad" (recording the reason, as the pipeline does) and succeed for the
// others, with three letters of feed-a read from report.csv.
type letterEnv struct {
	*testEnv
	mu      sync.Mutex
	retried [][]int64
	ids     []int64 // oldest first
}

func newLetterEnv(t *testing.T) *letterEnv {
	t.Helper()
	le := &letterEnv{}
	le.testEnv = newEnv(t, func(c *Config) {
		c.Retry = func(ctx context.Context, ids []int64) (int, error) {
			le.mu.Lock()
			le.retried = append(le.retried, ids)
			le.mu.Unlock()
			n := 0
			for _, id := range ids {
				l, err := le.store.GetDeadLetter(ctx, id)
				if err != nil || !l.Pending() {
					continue
				}
				input := l.Input
				if l.Edited != nil {
					input = l.Edited
				}
				if strings.Contains(string(input), "bad") {
					if err := le.store.FailDeadLetterRetry(ctx, id, "line 1: still bad", i18n.Message{}, time.Now()); err != nil {
						return n, err
					}
					continue
				}
				if err := le.store.MarkDeadLettersRetried(ctx, []int64{id}); err != nil {
					return n, err
				}
				n++
			}
			return n, nil
		}
	})
	var letters []store.DeadLetter
	for i := range 3 {
		letters = append(letters, store.DeadLetter{Feed: "feed-a", Parser: "csv", Source: "report.csv", Line: int64(i + 2),
			Input: fmt.Appendf(nil, "bad row %d", i), Error: "not an IP address", Time: time.Now()})
	}
	letters = append(letters, store.DeadLetter{Feed: "feed-b", Parser: "csv", Input: []byte("bad other"), Error: "e", Time: time.Now()})
	if err := le.store.AddDeadLetters(context.Background(), letters); err != nil {
		t.Fatal(err)
	}
	list, err := le.store.ListDeadLetters(context.Background(), store.DeadLetterQuery{Feed: "feed-a"})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range slices.Backward(list) {
		le.ids = append(le.ids, l.ID)
	}
	le.addUser("analyst", auth.RoleAnalyst, "the analyst's passphrase")
	return le
}

func (le *letterEnv) letter(id int64) store.DeadLetter {
	le.t.Helper()
	l, err := le.store.GetDeadLetter(context.Background(), id)
	if err != nil {
		le.t.Fatal(err)
	}
	return l
}

func TestDeadLetterWork(t *testing.T) {
	env := newLetterEnv(t)
	b := env.browser()
	b.login("analyst", "the analyst's passphrase")
	s := &letterWork{env: env, b: b}

	r := b.get("/deadletters?feed=feed-a")
	mustContain(t, r.body, "report.csv, line 2", "report.csv, line 4", `id="discard"`, `class="danger"`, `id="discard-confirm"`,
		`id="retry-feed"`, "Re-run the pending letters of feed-a (3)")

	t.Run("show a letter", s.show)
	t.Run("discard needs a reason and a confirmation", s.discardRefused)
	t.Run("discard", s.discard)
	t.Run("a failed re-run says why", s.failedRetry)
	t.Run("a huge edit is refused", s.hugeEdit)
	t.Run("edit and re-run", s.editAndRetry)
	t.Run("re-run a feed", s.retryFeed)
}

// letterWork is what the steps of TestDeadLetterWork share: the letters'
// console and an analyst's browser.
type letterWork struct {
	env *letterEnv
	b   *browser
}

// id is the id of the i-th letter of newLetterEnv, as a page shows it.
func (s *letterWork) id(i int) string { return strconv.FormatInt(s.env.ids[i], 10) }

// show checks a letter's page, and that a missing or malformed id finds
// none.
func (s *letterWork) show(t *testing.T) {
	b, id := s.b, s.id
	r := b.get("/deadletters/" + id(1))
	mustContain(t, r.body, `<dd id="letter-id">`+id(1)+`</dd>`, "report.csv, line 3", "bad row 1", `id="edit-form"`, `id="discard-form"`)
	if strings.Contains(r.body, "bad row 0") || strings.Contains(r.body, "bad row 2") {
		t.Error("the page of one letter shows another")
	}
	for _, path := range []string{"/deadletters/999999", "/deadletters/x", "/deadletters/0"} {
		if r := b.get(path); r.status != http.StatusNotFound {
			t.Errorf("%s: status %d", path, r.status)
		}
	}
}

// discardRefused checks that a discard without a sensible reason, a
// confirmation or an id is refused and discards nothing.
func (s *letterWork) discardRefused(t *testing.T) {
	env, b, id := s.env, s.b, s.id
	for _, form := range []url.Values{
		{"id": {id(0)}, "confirm": {"yes"}},
		{"id": {id(0)}, "reason": {"  "}, "confirm": {"yes"}},
		{"id": {id(0)}, "reason": {strings.Repeat("x", 501)}, "confirm": {"yes"}},
		{"id": {id(0)}, "reason": {"test data"}},
		{"reason": {"test data"}, "confirm": {"yes"}},
	} {
		if r := b.post("/deadletters/discard", form); r.status != http.StatusBadRequest {
			t.Errorf("%v: status %d", form, r.status)
		}
	}
	if !env.letter(env.ids[0]).Pending() {
		t.Fatal("a refused discard discarded")
	}
}

// discard discards the first letter and checks the letter, the audit log,
// and the lists with and without discarded letters.
func (s *letterWork) discard(t *testing.T) {
	env, b, id := s.env, s.b, s.id
	r := b.post("/deadletters/discard", url.Values{"id": {id(0)}, "reason": {"a test file"}, "confirm": {"yes"}, "feed": {"feed-a"}})
	if r.status != http.StatusSeeOther || r.location != "/deadletters?feed=feed-a&done=discard" {
		t.Fatalf("status %d location %q", r.status, r.location)
	}
	l := env.letter(env.ids[0])
	if !l.Discarded || l.DiscardedBy != "analyst" || l.DiscardReason != "a test file" {
		t.Errorf("letter after discard %+v", l)
	}
	entries, _ := env.store.ListAudit(context.Background(), auth.AuditQuery{Limit: 1})
	if len(entries) != 1 || entries[0].Action != "deadletter.discard" || entries[0].Actor != "analyst" ||
		entries[0].Target != "deadletters "+id(0) || !strings.Contains(entries[0].Detail, "a test file") {
		t.Errorf("audit %+v", entries)
	}
	r = b.get("/deadletters?feed=feed-a&done=discard")
	mustContain(t, r.body, "The selected dead letters were discarded.")
	if strings.Contains(r.body, "bad row 0") {
		t.Error("a discarded letter is listed by default")
	}
	r = b.get("/deadletters?feed=feed-a&show=discarded")
	mustContain(t, r.body, "bad row 0", "Discarded by analyst: a test file")
}

// failedRetry checks that a re-run that still fails says why and leaves the
// letter pending.
func (s *letterWork) failedRetry(t *testing.T) {
	env, b, id := s.env, s.b, s.id
	r := b.post("/deadletters/retry", url.Values{"id": {id(1)}, "feed": {"feed-a"}})
	if r.status != http.StatusSeeOther || r.location != "/deadletters?feed=feed-a&done=retry-failed" {
		t.Fatalf("status %d location %q", r.status, r.location)
	}
	r = b.get(r.location)
	mustContain(t, r.body, "Some letters still fail", "line 1: still bad")
	if !env.letter(env.ids[1]).Pending() {
		t.Error("a letter that still fails is no longer pending")
	}
}

// hugeEdit checks that an edit over the limit is refused and not stored.
func (s *letterWork) hugeEdit(t *testing.T) {
	env, b, id := s.env, s.b, s.id
	r := b.post("/deadletters/"+id(1)+"/edit", url.Values{"input": {strings.Repeat("y", store.MaxEditedDeadLetter+1)}})
	if r.status != http.StatusBadRequest {
		t.Fatalf("status %d", r.status)
	}
	mustContain(t, r.body, "The corrected input is too long")
	if env.letter(env.ids[1]).Edited != nil {
		t.Error("a refused edit was stored")
	}
}

// editAndRetry edits the second letter so that it re-runs, and checks that
// it can be edited no more.
func (s *letterWork) editAndRetry(t *testing.T) {
	env, b, id := s.env, s.b, s.id
	r := b.post("/deadletters/"+id(1)+"/edit", url.Values{"input": {"192.0.2.1,fixed row"}})
	if r.status != http.StatusSeeOther || r.location != "/deadletters/"+id(1)+"?done=edit" {
		t.Fatalf("status %d location %q", r.status, r.location)
	}
	l := env.letter(env.ids[1])
	if !l.Retried || string(l.Edited) != "192.0.2.1,fixed row" || string(l.Input) != "bad row 1" {
		t.Errorf("letter after edit %+v", l)
	}
	if !contains(env.auditActions(), "deadletter.edit") {
		t.Error("edit not audited")
	}
	r = b.get(r.location)
	mustContain(t, r.body, "became events", "192.0.2.1,fixed row", "bad row 1")
	if strings.Contains(r.body, `id="edit-form"`) {
		t.Error("a letter re-run successfully can still be edited")
	}
	if r := b.post("/deadletters/"+id(1)+"/edit", url.Values{"input": {"again"}}); r.status != http.StatusConflict {
		t.Errorf("edit of a letter no longer pending: %d", r.status)
	}
}

// retryFeed checks that re-running a feed re-runs only that feed's pending
// letters.
func (s *letterWork) retryFeed(t *testing.T) {
	env, b := s.env, s.b
	env.mu.Lock()
	env.retried = nil
	env.mu.Unlock()
	r := b.post("/deadletters/retry-feed", url.Values{"feed": {"feed-a"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("status %d", r.status)
	}
	env.mu.Lock()
	got := env.retried
	env.mu.Unlock()
	if len(got) != 1 || !slices.Equal(got[0], []int64{env.ids[2]}) {
		t.Errorf("re-run of feed-a re-ran %v, want only its pending letter %d", got, env.ids[2])
	}
	if r := b.post("/deadletters/retry-feed", url.Values{"feed": {"no-such-feed"}}); r.status != http.StatusBadRequest {
		t.Errorf("re-run of a feed without letters: %d", r.status)
	}
}

// TestDeadLetterPagesRefuse tries every dead-letter page as a constituent
// and a publisher, and the posts without the CSRF token.
func TestDeadLetterPagesRefuse(t *testing.T) {
	env := newLetterEnv(t)
	org := constituency.Organisation{Handle: "uni-a", Name: "University A", Language: "en"}
	if err := env.store.CreateOrganisation(context.Background(), &org); err != nil {
		t.Fatal(err)
	}
	u := env.addUser("carla", auth.RoleConstituent, "carla's long passphrase")
	u.OrgID = org.ID
	if err := env.store.UpdateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	env.addUser("pub", auth.RolePublisher, "the publisher's passphrase")
	id := strconv.FormatInt(env.ids[0], 10)
	posts := map[string]url.Values{
		"/deadletters/retry":           {"id": {id}},
		"/deadletters/retry-feed":      {"feed": {"feed-a"}},
		"/deadletters/discard":         {"id": {id}, "reason": {"x"}, "confirm": {"yes"}},
		"/deadletters/" + id + "/edit": {"input": {"x"}},
	}
	for _, who := range []struct{ name, password string }{{"carla", "carla's long passphrase"}, {"pub", "the publisher's passphrase"}} {
		b := env.browser()
		b.login(who.name, who.password)
		for _, path := range []string{"/deadletters", "/deadletters/" + id, "/deadletters?feed=feed-a&show=all"} {
			if r := b.get(path); r.status != http.StatusForbidden || strings.Contains(r.body, "bad row") {
				t.Errorf("%s GET %s: status %d", who.name, path, r.status)
			}
		}
		for path, form := range posts {
			if r := b.post(path, form); r.status != http.StatusForbidden {
				t.Errorf("%s POST %s: status %d", who.name, path, r.status)
			}
		}
	}
	b := env.browser()
	b.login("analyst", "the analyst's passphrase")
	for path, form := range posts {
		form.Set("csrf", "")
		if r := b.post(path, form); r.status != http.StatusForbidden {
			t.Errorf("POST %s without the CSRF token: status %d", path, r.status)
		}
		form.Set("csrf", "forged")
		if r := b.post(path, form); r.status != http.StatusForbidden {
			t.Errorf("POST %s with a forged CSRF token: status %d", path, r.status)
		}
	}
	l := env.letter(env.ids[0])
	env.mu.Lock()
	defer env.mu.Unlock()
	if !l.Pending() || l.Edited != nil || len(env.retried) != 0 {
		t.Errorf("refused posts changed the letter %+v or re-ran %v", l, env.retried)
	}
	if actions := env.auditActions(); slices.ContainsFunc(actions, func(a string) bool { return strings.HasPrefix(a, "deadletter.") }) {
		t.Errorf("refused posts audited: %v", actions)
	}
}
