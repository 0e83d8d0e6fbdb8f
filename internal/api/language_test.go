package api

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/i18n"
)

// errorCall is one request the API refuses.
type errorCall struct {
	name         string
	method, path string
	user, body   string
	status       int
}

// errorCalls walk the routes that refuse a request, one call for each
// kind of refusal: parameters, bodies, unknown ids and paths, the
// feed manager's validation, the organisation checks and the account
// rules. ids holds the organisation and account ids the calls need.
func errorCalls(ids map[string]string) []errorCall {
	hash := strings.Repeat("0", 64)
	many := strings.Repeat("1,", maxRetryIDs) + "1"
	return []errorCall{
		{"unknown path", "GET", "/nope", "ana", "", http.StatusNotFound},
		{"method", "DELETE", "/events", "ana", "", http.StatusMethodNotAllowed},
		{"unknown parameter", "GET", "/events?colour=red", "ana", "", http.StatusBadRequest},
		{"filter ip", "GET", "/events?ip=nope", "ana", "", http.StatusBadRequest},
		{"filter time", "GET", "/events?from=yesterday", "ana", "", http.StatusBadRequest},
		{"to before from", "GET", "/events?from=2024-05-02&to=2024-05-01", "ana", "", http.StatusBadRequest},
		{"format", "GET", "/events?format=xml", "ana", "", http.StatusBadRequest},
		{"columns without csv", "GET", "/events?columns=source.ip", "ana", "", http.StatusBadRequest},
		{"unknown column", "GET", "/events?format=csv&columns=bogus", "ana", "", http.StatusBadRequest},
		{"limit zero", "GET", "/events?limit=0", "ana", "", http.StatusBadRequest},
		{"limit large", "GET", "/events?limit=100000", "ana", "", http.StatusBadRequest},
		{"event hash", "GET", "/events/zz", "ana", "", http.StatusBadRequest},
		{"event not found", "GET", "/events/" + hash, "ana", "", http.StatusNotFound},
		{"dead letters limit", "GET", "/deadletters?limit=0", "ana", "", http.StatusBadRequest},
		{"dead letters before", "GET", "/deadletters?before=x", "ana", "", http.StatusBadRequest},
		{"dead letters boolean", "GET", "/deadletters?include_retried=maybe", "ana", "", http.StatusBadRequest},
		{"dead letter not found", "GET", "/deadletters/999999", "ana", "", http.StatusNotFound},
		{"retry ids and feed", "POST", "/deadletters/retry", "ana", `{"ids":[1],"feed":"x"}`, http.StatusBadRequest},
		{"retry nothing", "POST", "/deadletters/retry", "ana", `{}`, http.StatusBadRequest},
		{"retry bad id", "POST", "/deadletters/retry", "ana", `{"ids":[0]}`, http.StatusBadRequest},
		{"retry too many", "POST", "/deadletters/retry", "ana", `{"ids":[` + many + `]}`, http.StatusBadRequest},
		{"retry wrong type", "POST", "/deadletters/retry", "ana", `{"ids":"x"}`, http.StatusBadRequest},
		{"retry not JSON", "POST", "/deadletters/retry", "ana", `{`, http.StatusBadRequest},
		{"discard without reason", "POST", "/deadletters/discard", "ana", `{"ids":[1]}`, http.StatusBadRequest},
		{"discard long reason", "POST", "/deadletters/discard", "ana", `{"ids":[1],"reason":"` + strings.Repeat("x", maxDiscardReason+1) + `"}`, http.StatusBadRequest},
		{"edit without input", "POST", "/deadletters/1/edit", "ana", `{}`, http.StatusBadRequest},
		{"edit unknown letter", "POST", "/deadletters/999999/edit", "ana", `{"input":"x"}`, http.StatusNotFound},
		{"feed name", "POST", "/feeds", "ada", `{"name":"no spaces allowed","parser":"csv"}`, http.StatusUnprocessableEntity},
		{"feed parser", "POST", "/feeds", "ada", `{"name":"x"}`, http.StatusUnprocessableEntity},
		{"feed accuracy", "POST", "/feeds", "ada", `{"name":"x","parser":"csv","accuracy":101}`, http.StatusUnprocessableEntity},
		{"feed exists", "POST", "/feeds", "ada", `{"name":"inbox","parser":"csv"}`, http.StatusUnprocessableEntity},
		{"feed not found", "GET", "/feeds/nope", "ana", "", http.StatusNotFound},
		{"notification status", "GET", "/notifications?status=lost", "ada", "", http.StatusBadRequest},
		{"organisations offset", "GET", "/organisations?offset=-1", "ana", "", http.StatusBadRequest},
		{"organisation id", "GET", "/organisations/x", "ana", "", http.StatusBadRequest},
		{"organisation not found", "GET", "/organisations/999999", "ana", "", http.StatusNotFound},
		{"organisation AS number", "POST", "/organisations", "ana", `{"handle":"x","name":"X","asns":[true]}`, http.StatusBadRequest},
		{"organisation invalid", "POST", "/organisations", "ana", `{"handle":"Bad Handle","name":"X","country":"XX"}`, http.StatusBadRequest},
		{"organisation handle taken", "POST", "/organisations", "ana", `{"handle":"uni-a","name":"Another"}`, http.StatusBadRequest},
		{"organisation network taken", "POST", "/organisations", "ana", `{"handle":"uni-c","name":"C","networks":["10.1.0.0/16"]}`, http.StatusBadRequest},
		{"organisation handle change", "PUT", "/organisations/" + ids["uni-a"], "ana", `{"handle":"uni-z","name":"University A"}`, http.StatusBadRequest},
		{"organisation with accounts", "DELETE", "/organisations/" + ids["uni-a"], "ana", "", http.StatusConflict},
		{"owners missing", "GET", "/owners", "ana", "", http.StatusBadRequest},
		{"owners bad", "GET", "/owners?q=!!", "ana", "", http.StatusBadRequest},
		{"user not found", "GET", "/users/999999", "ada", "", http.StatusNotFound},
		{"user language", "POST", "/users", "ada", `{"name":"x","role":"analyst","password":"long enough password","language":"xx"}`, http.StatusBadRequest},
		{"user name", "POST", "/users", "ada", `{"name":"a b","role":"analyst","password":"long enough password"}`, http.StatusBadRequest},
		{"user password", "POST", "/users", "ada", `{"name":"x","role":"analyst","password":"short"}`, http.StatusBadRequest},
		{"user role", "POST", "/users", "ada", `{"name":"x","role":"boss","password":"long enough password"}`, http.StatusBadRequest},
		{"user name taken", "POST", "/users", "ada", `{"name":"ana","role":"analyst","password":"long enough password"}`, http.StatusConflict},
		{"user organisation needed", "POST", "/users", "ada", `{"name":"x","role":"constituent","password":"long enough password"}`, http.StatusBadRequest},
		{"user organisation of the team", "POST", "/users", "ada", `{"name":"x","role":"analyst","password":"long enough password","organisation_id":` + ids["uni-a"] + `}`, http.StatusBadRequest},
		{"user organisation unknown", "POST", "/users", "ada", `{"name":"x","role":"constituent","password":"long enough password","organisation_id":999999}`, http.StatusBadRequest},
		{"user nothing to change", "PATCH", "/users/" + ids["ana"], "ada", `{}`, http.StatusBadRequest},
		{"user own account", "PATCH", "/users/" + ids["ada"], "ada", `{"disabled":true}`, http.StatusConflict},
		{"user to constituent", "PATCH", "/users/" + ids["ana"], "ada", `{"role":"constituent"}`, http.StatusBadRequest},
		{"constituent column", "GET", "/constituent/events?format=csv&columns=raw", "ca", "", http.StatusBadRequest},
		{"constituent hash", "GET", "/constituent/events/zz", "ca", "", http.StatusBadRequest},
		{"constituent event not found", "GET", "/constituent/events/" + hash, "ca", "", http.StatusNotFound},
		{"product CPE", "POST", "/organisations/" + ids["uni-a"] + "/products", "ana", `{"cpe":"cpe:2.3:a:apache"}`, http.StatusBadRequest},
		{"product file entry", "PUT", "/organisations/" + ids["uni-a"] + "/products", "ana", `[{"product":"x"},{"purl":"pkg:"}]`, http.StatusBadRequest},
		{"product Package URL", "POST", "/constituent/products", "ca", `{"purl":"left-pad"}`, http.StatusBadRequest},
		{"product not found", "DELETE", "/constituent/products/999999", "ca", "", http.StatusNotFound},
		{"forbidden", "GET", "/users", "ana", "", http.StatusForbidden},
		{"no token", "GET", "/events", "", "", http.StatusUnauthorized},
	}
}

// catalogueKey is what a message ID looks like: a text that is one shows
// a key that is missing from the catalogue.
var catalogueKey = regexp.MustCompile(`^[a-z]+(\.[a-z0-9_]+)+$`)

// TestErrorsInEveryLanguage walks the refusals of errorCalls in Dutch,
// French and German and fails when a message or a problem's reason is
// the English one, or a raw catalogue key: every error text a person
// reads comes from the catalogue.
func TestErrorsInEveryLanguage(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	f.constituency()
	ids := map[string]string{}
	for _, name := range []string{"ada", "ana"} {
		ids[name] = strconv.FormatInt(f.users[name].ID, 10)
	}
	orgs := decode[struct {
		Organisations []struct {
			ID     int64
			Handle string
		}
	}](t, f.get("/organisations?limit=100", "ana"))
	for _, o := range orgs.Organisations {
		ids[o.Handle] = strconv.FormatInt(o.ID, 10)
	}
	if ids["uni-a"] == "" {
		t.Fatalf("no uni-a among %+v", orgs)
	}
	send := func(c errorCall, lang string) errorBody {
		t.Helper()
		var header []string
		if c.body != "" {
			header = append(header, "Content-Type", "application/json")
		}
		if lang != "" {
			header = append(header, "Accept-Language", lang)
		}
		var body io.Reader
		if c.body != "" {
			body = strings.NewReader(c.body)
		}
		r := f.do(c.method, c.path, c.user, body, header...)
		if r.status != c.status {
			t.Fatalf("%s %s (%s): status %d, want %d: %s", c.method, c.path, lang, r.status, c.status, r.body)
		}
		if lang != "" {
			if got := r.header.Get("Content-Language"); !strings.HasPrefix(lang, got) || got == "" {
				t.Errorf("Content-Language %q for %s", got, lang)
			}
		}
		return errorOf(t, r)
	}
	for _, c := range errorCalls(ids) {
		t.Run(c.name, func(t *testing.T) {
			english := send(c, "")
			if english.Error.Message == "" || catalogueKey.MatchString(english.Error.Message) {
				t.Fatalf("English message %q", english.Error.Message)
			}
			for _, lang := range []string{"nl", "fr", "de"} {
				got := send(c, lang)
				if got.Error.Code != english.Error.Code || got.Error.Parameter != english.Error.Parameter {
					t.Errorf("%s: code %s/%s, English %s/%s", lang, got.Error.Code, got.Error.Parameter, english.Error.Code, english.Error.Parameter)
				}
				untranslated(t, lang, "message", got.Error.Message, english.Error.Message)
				if len(got.Error.Problems) != len(english.Error.Problems) {
					t.Fatalf("%s: %d problems, English %d", lang, len(got.Error.Problems), len(english.Error.Problems))
				}
				for i, p := range got.Error.Problems {
					untranslated(t, lang, fmt.Sprintf("problem %d (%s)", i, p.Field), p.Reason, english.Error.Problems[i].Reason)
				}
			}
		})
	}
}

// untranslated fails when text, in lang, is the English one or a key.
func untranslated(t *testing.T, lang, what, text, english string) {
	t.Helper()
	switch {
	case text == english:
		t.Errorf("%s: %s is the English %q", lang, what, text)
	case catalogueKey.MatchString(text) || strings.Contains(text, "api.error."):
		t.Errorf("%s: %s is a catalogue key: %q", lang, what, text)
	}
}

// TestBadQueryInTheCallersLanguage: the web layer's refusal of a
// malformed query string, written by WriteBadQuery, follows
// Accept-Language too.
func TestBadQueryInTheCallersLanguage(t *testing.T) {
	m := i18n.M("api.error.query.parameter", i18n.M("api.error.query.semicolon", "ip=1;x"), "ip")
	answer := func(lang string) string {
		w := httptest.NewRecorder()
		r := httptest.NewRequest("GET", "/api/v1/events?ip=1;x", nil)
		r.Header.Set("Accept-Language", lang)
		WriteBadQuery(w, r, "ip", m)
		if w.Code != http.StatusBadRequest {
			t.Fatalf("status %d", w.Code)
		}
		return errorOf(t, response{w.Code, w.Header(), w.Body.Bytes()}).Error.Message
	}
	english := answer("en")
	if !strings.Contains(english, `";"`) || !strings.Contains(english, "(parameter ip)") {
		t.Errorf("English %q", english)
	}
	for _, lang := range []string{"nl", "fr", "de"} {
		untranslated(t, lang, "message", answer(lang), english)
	}
}
