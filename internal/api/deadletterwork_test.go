package api

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/store"
)

// addLetters stores letters of feed "inbox" read from report.csv, one per
// line from 2, and returns their ids, oldest first.
func (f *fixture) addLetters(n int) []int64 {
	f.t.Helper()
	letters := make([]store.DeadLetter, n)
	for i := range letters {
		letters[i] = store.DeadLetter{Feed: "inbox", Parser: "csv", Source: "report.csv", Line: int64(i + 2),
			Input: []byte("bad line " + strconv.Itoa(i)), Error: "not an IP address"}
	}
	if err := f.store.AddDeadLetters(f.t.Context(), letters); err != nil {
		f.t.Fatal(err)
	}
	list, err := f.store.ListDeadLetters(f.t.Context(), store.DeadLetterQuery{Feed: "inbox"})
	if err != nil {
		f.t.Fatal(err)
	}
	var ids []int64
	for _, l := range list {
		ids = append(ids, l.ID)
	}
	slices.Reverse(ids)
	return ids
}

func TestDeadLetterShowDiscardEdit(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	ids := f.addLetters(3)

	t.Run("show", func(t *testing.T) {
		r := f.get("/deadletters/"+strconv.FormatInt(ids[1], 10), "ana")
		checkSchema(t, "DeadLetter", r.body)
		got := decode[deadLetterJSON](t, r)
		if got.ID != ids[1] || got.Source != "report.csv" || got.Line != 3 || got.Input != "bad line 1" || got.State != "pending" {
			t.Errorf("letter %d = %+v", ids[1], got)
		}
		wantError(t, f.get("/deadletters/3x", "ana"), 400, "bad_parameter", "id")
		wantError(t, f.get("/deadletters/0", "ana"), 400, "bad_parameter", "id")
		wantError(t, f.get("/deadletters/999999", "ana"), 404, "not_found", "")
	})
	t.Run("discard needs a reason and is audited", func(t *testing.T) {
		wantError(t, f.postJSON("/deadletters/discard", "ana", `{"ids":[1]}`), 400, "bad_parameter", "reason")
		wantError(t, f.postJSON("/deadletters/discard", "ana", `{"ids":[1],"reason":"`+strings.Repeat("x", 501)+`"}`), 400, "bad_parameter", "reason")
		wantError(t, f.postJSON("/deadletters/discard", "ana", `{"ids":[],"reason":"r"}`), 400, "bad_parameter", "ids")
		r := f.postJSON("/deadletters/discard", "ana", `{"ids":[`+strconv.FormatInt(ids[0], 10)+`,999999],"reason":"a test file"}`)
		checkSchema(t, "DiscardResponse", r.body)
		if got := decode[discardResponse](t, r); got.Discarded != 1 {
			t.Errorf("discarded %d, want 1", got.Discarded)
		}
		entries, err := f.store.ListAudit(t.Context(), auth.AuditQuery{})
		if err != nil || len(entries) != 1 {
			t.Fatalf("audit %+v, %v", entries, err)
		}
		e := entries[0]
		if e.Actor != "ana" || e.UserID != f.users["ana"].ID || e.Action != "deadletter.discard" ||
			e.Target != "deadletters "+strconv.FormatInt(ids[0], 10)+",999999" || !strings.HasSuffix(e.Detail, ": a test file") {
			t.Errorf("audit entry %+v", e)
		}
		type page struct {
			DeadLetters []deadLetterJSON `json:"dead_letters"`
		}
		if n := len(decode[page](t, f.get("/deadletters?feed=inbox", "ana")).DeadLetters); n != 2 {
			t.Errorf("%d letters listed by default, want the 2 not discarded", n)
		}
		all := decode[page](t, f.get("/deadletters?feed=inbox&include_discarded=true", "ana")).DeadLetters
		if len(all) != 3 || all[2].State != "discarded" || all[2].DiscardedBy != "ana" || all[2].DiscardReason != "a test file" {
			t.Errorf("letters with the discarded: %+v", all)
		}
	})
	t.Run("edit and re-run", func(t *testing.T) {
		path := "/deadletters/" + strconv.FormatInt(ids[1], 10) + "/edit"
		huge := strings.Repeat("a", store.MaxEditedDeadLetter+1)
		r := f.postJSON(path, "ana", `{"input":"`+huge+`"}`)
		wantError(t, r, 400, "bad_parameter", "input")
		if !strings.Contains(string(r.body), "at most 65536 bytes") {
			t.Errorf("huge edit: %s", r.body)
		}
		wantError(t, f.postJSON(path, "ana", `{}`), 400, "bad_parameter", "input")
		wantError(t, f.postJSON("/deadletters/"+strconv.FormatInt(ids[0], 10)+"/edit", "ana", `{"input":"x"}`), 404, "not_found", "")
		f.retried = nil
		r = f.postJSON(path, "ada", `{"input":"192.0.2.1,fixed"}`)
		checkSchema(t, "EditResponse", r.body)
		got := decode[editResponse](t, r)
		if got.DeadLetter.Edited == nil || *got.DeadLetter.Edited != "192.0.2.1,fixed" || got.DeadLetter.Input != "bad line 1" {
			t.Errorf("edited letter %+v", got.DeadLetter)
		}
		if len(f.retried) != 1 || !slices.Equal(f.retried[0], []int64{ids[1]}) {
			t.Errorf("pipeline got %v", f.retried)
		}
		entries, _ := f.store.ListAudit(t.Context(), auth.AuditQuery{})
		if len(entries) == 0 || entries[0].Action != "deadletter.edit" || entries[0].Actor != "ada" {
			t.Errorf("audit %+v", entries)
		}
	})
	t.Run("re-run a feed", func(t *testing.T) {
		f.retried = nil
		wantError(t, f.postJSON("/deadletters/retry", "ana", `{"ids":[1],"feed":"inbox"}`), 400, "bad_parameter", "feed")
		r := f.postJSON("/deadletters/retry", "ana", `{"feed":"inbox"}`)
		checkSchema(t, "RetryResponse", r.body)
		if len(f.retried) != 1 || !slices.Equal(f.retried[0], ids[1:]) {
			t.Errorf("pipeline got %v, want the pending letters %v", f.retried, ids[1:])
		}
		r = f.postJSON("/deadletters/retry", "ana", `{"feed":"nothing-here"}`)
		if r.status != 200 || len(f.retried) != 1 {
			t.Errorf("re-run of a feed without letters: %d %s, pipeline got %v", r.status, r.body, f.retried)
		}
	})
}

func TestFailedRetrySaysWhy(t *testing.T) {
	f := newFixture(t, fixtureOptions{retryFails: "line 1: still not an IP address"})
	ids := f.addLetters(2)
	r := f.postJSON("/deadletters/retry", "ana", `{"ids":[`+strconv.FormatInt(ids[0], 10)+`]}`)
	checkSchema(t, "RetryResponse", r.body)
	got := decode[retryResponse](t, r)
	if got.Retried != 0 || len(got.Failed) != 1 || got.Failed[0].ID != ids[0] || got.Failed[0].Error != "line 1: still not an IP address" {
		t.Errorf("response %+v", got)
	}
	l := decode[deadLetterJSON](t, f.get("/deadletters/"+strconv.FormatInt(ids[0], 10), "ana"))
	if l.State != "pending" || l.RetryError != "line 1: still not an IP address" || l.RetryTime == nil {
		t.Errorf("letter after a failed re-run %+v", l)
	}
	edit := decode[editResponse](t, f.postJSON("/deadletters/"+strconv.FormatInt(ids[1], 10)+"/edit", "ana", `{"input":"x"}`))
	if edit.Retried || edit.Error != "line 1: still not an IP address" || edit.DeadLetter.State != "pending" {
		t.Errorf("failed edit %+v", edit)
	}
}

// TestDeadLetterRoutesRefuseOthers tries every dead-letter route as a
// constituent and a publisher, and the POSTs as a browser form would send
// them (what a cross-site request can do without a preflight).
func TestDeadLetterRoutesRefuseOthers(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	f.constituency()
	ids := f.addLetters(1)
	id := strconv.FormatInt(ids[0], 10)
	calls := []struct{ method, path, body string }{
		{"GET", "/deadletters", ""},
		{"GET", "/deadletters/" + id, ""},
		{"POST", "/deadletters/retry", `{"ids":[` + id + `]}`},
		{"POST", "/deadletters/retry", `{"feed":"inbox"}`},
		{"POST", "/deadletters/discard", `{"ids":[` + id + `],"reason":"x"}`},
		{"POST", "/deadletters/" + id + "/edit", `{"input":"x"}`},
	}
	for _, user := range []string{"ca", "pub"} {
		for _, c := range calls {
			var r response
			if c.method == "POST" {
				r = f.postJSON(c.path, user, c.body)
			} else {
				r = f.get(c.path, user)
			}
			wantError(t, r, http.StatusForbidden, "forbidden", "")
		}
	}
	for _, c := range calls {
		if c.method != "POST" {
			continue
		}
		r := f.do("POST", c.path, "ana", strings.NewReader("ids="+id+"&reason=x&input=x"), "Content-Type", "application/x-www-form-urlencoded")
		wantError(t, r, http.StatusUnsupportedMediaType, "unsupported_media_type", "")
	}
	l, err := f.store.GetDeadLetter(t.Context(), ids[0])
	if err != nil || !l.Pending() || l.Edited != nil || len(f.retried) != 0 {
		t.Errorf("refused requests changed the letter: %+v, %v; pipeline got %v", l, err, f.retried)
	}
	if entries, _ := f.store.ListAudit(t.Context(), auth.AuditQuery{}); len(entries) != 0 {
		t.Errorf("refused requests audited: %+v", entries)
	}
}

// TestDeadLetterReasonInTheCallersLanguage: a letter's reason and its
// last re-run's are given in English (error, retry_error) for programs
// and in the request's language (reason, retry_reason); a letter stored
// without a message gives its English in both.
func TestDeadLetterReasonInTheCallersLanguage(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	ids := f.addLetters(1)
	problem := i18n.M("pipeline.reject.line", 4, i18n.M("event.field.error", "source.ip", i18n.M("event.reason.ip"), "x"))
	retry := i18n.M("event.field.error", "source.ip", i18n.M("event.reason.ip"), "y")
	if err := f.store.AddDeadLetters(t.Context(), []store.DeadLetter{{Feed: "inbox", Parser: "csv", Source: "report.csv", Line: 4,
		Input: []byte("x"), Error: problem.String(), Problem: problem}}); err != nil {
		t.Fatal(err)
	}
	list, err := f.store.ListDeadLetters(t.Context(), store.DeadLetterQuery{Feed: "inbox", Limit: 1})
	if err != nil || len(list) != 1 {
		t.Fatalf("%v, %v", list, err)
	}
	if err := f.store.FailDeadLetterRetry(t.Context(), list[0].ID, retry.String(), retry, time.Now()); err != nil {
		t.Fatal(err)
	}
	r := f.do("GET", "/deadletters", "ana", nil, "Accept-Language", "nl")
	checkSchema(t, "DeadLetterPage", r.body)
	page := decode[deadLetterPageJSON](t, r)
	if len(page.DeadLetters) != 2 {
		t.Fatalf("%d letters, want 2", len(page.DeadLetters))
	}
	c := i18n.Embedded()
	for _, l := range page.DeadLetters {
		switch l.ID {
		case ids[0]:
			if l.Error != "not an IP address" || l.Reason != l.Error {
				t.Errorf("letter without a message: error %q, reason %q", l.Error, l.Reason)
			}
		default:
			if l.Error != problem.String() || l.Reason != problem.In(c, "nl") || l.Reason == l.Error {
				t.Errorf("error %q, reason %q; want the English and %q", l.Error, l.Reason, problem.In(c, "nl"))
			}
			if l.RetryError != retry.String() || l.RetryReason != retry.In(c, "nl") {
				t.Errorf("retry error %q, retry reason %q; want the English and %q", l.RetryError, l.RetryReason, retry.In(c, "nl"))
			}
		}
	}
}
