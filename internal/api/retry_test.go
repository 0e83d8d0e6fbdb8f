package api

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/store"
)

func TestRetryBody(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	tests := []struct {
		name, contentType, body string
		status                  int
		code, parameter         string
	}{
		{"form post", "application/x-www-form-urlencoded", "ids=1", 415, "unsupported_media_type", ""},
		{"no content type", "", `{"ids":[1]}`, 415, "unsupported_media_type", ""},
		{"text/plain", "text/plain", `{"ids":[1]}`, 415, "unsupported_media_type", ""},
		{"empty", "application/json", "", 400, "bad_parameter", "body"},
		{"not JSON", "application/json", "{ids:", 400, "bad_parameter", "body"},
		{"two values", "application/json", `{"ids":[1]} {"ids":[2]}`, 400, "bad_parameter", "body"},
		{"no ids", "application/json", `{"ids":[]}`, 400, "bad_parameter", "ids"},
		{"ids not numbers", "application/json", `{"ids":["1"]}`, 400, "bad_parameter", "ids"},
		{"negative id", "application/json", `{"ids":[-4]}`, 400, "bad_parameter", "ids"},
		{"unknown field", "application/json", `{"ids":[1],"force":true}`, 400, "bad_parameter", "force"},
		{"too large", "application/json", `{"ids":[` + strings.Repeat("1,", maxBodyBytes/2) + `1]}`, 413, "body_too_large", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var header []string
			if tt.contentType != "" {
				header = []string{"Content-Type", tt.contentType}
			}
			wantError(t, f.do("POST", "/deadletters/retry", "ana", strings.NewReader(tt.body), header...), tt.status, tt.code, tt.parameter)
		})
	}
	if len(f.retried) != 0 {
		t.Errorf("refused requests reached the pipeline: %v", f.retried)
	}
	if entries, _ := f.store.ListAudit(t.Context(), auth.AuditQuery{}); len(entries) != 0 {
		t.Errorf("refused requests audited: %v", entries)
	}
	t.Run("charset parameter accepted", func(t *testing.T) {
		r := f.do("POST", "/deadletters/retry", "ana", strings.NewReader(`{"ids":[3]}`), "Content-Type", "application/json; charset=utf-8")
		if r.status != 200 {
			t.Errorf("status %d: %s", r.status, r.body)
		}
	})
}

func TestDeadLetters(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	ctx := t.Context()
	var letters []store.DeadLetter
	for i := range 5 {
		letters = append(letters, store.DeadLetter{Feed: "scan-rdp", Parser: "shadowserver", Input: fmt.Appendf(nil, "line %d", i), Error: "bad ip", Time: time.Now()})
	}
	letters = append(letters, store.DeadLetter{Feed: "phishtank", Parser: "csv", Input: []byte{'o', 'k', 0xff, 0xfe}, Error: "not UTF-8", Time: time.Now()})
	if err := f.store.AddDeadLetters(ctx, letters); err != nil {
		t.Fatal(err)
	}
	type page struct {
		DeadLetters []deadLetterJSON `json:"dead_letters"`
		NextBefore  int64            `json:"next_before"`
	}
	r := f.get("/deadletters", "ana")
	checkSchema(t, "DeadLetterPage", r.body)
	all := decode[page](t, r)
	if len(all.DeadLetters) != 6 || all.NextBefore != 0 {
		t.Fatalf("%d letters, next_before %d", len(all.DeadLetters), all.NextBefore)
	}
	binary := all.DeadLetters[0]
	if binary.Feed != "phishtank" || binary.Input != "ok\uFFFD" || binary.InputBase64 != "b2v//g==" {
		t.Errorf("binary letter %+v", binary)
	}
	if all.DeadLetters[1].InputBase64 != "" || all.DeadLetters[1].Input != "line 4" {
		t.Errorf("text letter %+v", all.DeadLetters[1])
	}

	p1 := decode[page](t, f.get("/deadletters?feed=scan-rdp&limit=3", "ana"))
	if len(p1.DeadLetters) != 3 || p1.NextBefore != p1.DeadLetters[2].ID {
		t.Fatalf("first page %+v", p1)
	}
	p2 := decode[page](t, f.get(fmt.Sprintf("/deadletters?feed=scan-rdp&limit=3&before=%d", p1.NextBefore), "ana"))
	if len(p2.DeadLetters) != 2 || p2.DeadLetters[0].ID >= p1.NextBefore || p2.NextBefore != 0 {
		t.Errorf("second page %+v", p2)
	}

	if err := f.store.MarkDeadLettersRetried(ctx, []int64{p2.DeadLetters[0].ID}); err != nil {
		t.Fatal(err)
	}
	if n := len(decode[page](t, f.get("/deadletters?feed=scan-rdp", "ana")).DeadLetters); n != 4 {
		t.Errorf("%d pending letters, want 4", n)
	}
	withRetried := decode[page](t, f.get("/deadletters?feed=scan-rdp&include_retried=true", "ana"))
	if len(withRetried.DeadLetters) != 5 || !slices.ContainsFunc(withRetried.DeadLetters, func(d deadLetterJSON) bool { return d.Retried }) {
		t.Errorf("with retried: %+v", withRetried)
	}
}

func TestRetry(t *testing.T) {
	t.Run("calls the pipeline and audits", func(t *testing.T) {
		f := newFixture(t, fixtureOptions{})
		r := f.postJSON("/deadletters/retry", "ana", `{"ids":[7,8,9]}`)
		checkSchema(t, "RetryResponse", r.body)
		if got := decode[retryResponse](t, r); got.Retried != 2 {
			t.Errorf("retried %d, want 2", got.Retried)
		}
		if len(f.retried) != 1 || !slices.Equal(f.retried[0], []int64{7, 8, 9}) {
			t.Errorf("pipeline got %v", f.retried)
		}
		entries, err := f.store.ListAudit(t.Context(), auth.AuditQuery{})
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 1 {
			t.Fatalf("%d audit entries, want 1", len(entries))
		}
		e := entries[0]
		if e.UserID != f.users["ana"].ID || e.Actor != "ana" || e.Action != "deadletter.retry" ||
			e.Target != "deadletters 7,8,9" || !strings.HasPrefix(e.Detail, "2 of 3 became events") {
			t.Errorf("audit entry %+v", e)
		}
	})
	t.Run("pipeline failure is audited and hidden", func(t *testing.T) {
		f := newFixture(t, fixtureOptions{retryErr: errors.New("jetstream: stream VIGIL not found")})
		r := f.postJSON("/deadletters/retry", "ada", `{"ids":[1,2]}`)
		wantError(t, r, 500, "internal", "")
		if bytes.Contains(r.body, []byte("jetstream")) {
			t.Errorf("internal detail in the response: %s", r.body)
		}
		if !strings.Contains(f.log.String(), "jetstream: stream VIGIL not found") {
			t.Errorf("internal detail not logged: %s", f.log.String())
		}
		entries, _ := f.store.ListAudit(t.Context(), auth.AuditQuery{})
		if len(entries) != 1 || !strings.HasPrefix(entries[0].Detail, "failed after 1 of 2") || entries[0].Actor != "ada" {
			t.Errorf("audit %+v", entries)
		}
	})
	t.Run("no pipeline", func(t *testing.T) {
		f := newFixture(t, fixtureOptions{noRetry: true})
		wantError(t, f.postJSON("/deadletters/retry", "ana", `{"ids":[1]}`), 501, "not_implemented", "")
		if entries, _ := f.store.ListAudit(t.Context(), auth.AuditQuery{}); len(entries) != 0 {
			t.Errorf("nothing happened, yet audited: %v", entries)
		}
	})
}
