package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/api"
	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/console"
)

func TestCheckQuery(t *testing.T) {
	for _, tc := range []struct {
		name, raw string
		want      *QueryError
	}{
		{"empty", "", nil},
		{"plain", "ip=10.99.1.1&limit=5", nil},
		{"escapes and plus", "q=a%20b+c&name=%C3%A9t%C3%A9", nil},
		{"empty pairs", "&&ip=1&", nil},
		{"semicolon in a value", "ip=10.99.1.1;x", &QueryError{Problem: QuerySemicolon, Text: "ip=10.99.1.1;x", Parameter: "ip"}},
		{"semicolon as separator", "a=1;b=2&c=3", &QueryError{Problem: QuerySemicolon, Text: "a=1;b=2", Parameter: "a"}},
		{"semicolon in a name", "x;y", &QueryError{Problem: QuerySemicolon, Text: "x;y", Parameter: "x"}},
		{"bad escape in a value", "ip=10.99.1.1&q=%zz", &QueryError{Problem: QueryEscape, Text: "%zz", Parameter: "q"}},
		{"escape cut short", "q=abc%4", &QueryError{Problem: QueryEscape, Text: "%4", Parameter: "q"}},
		{"lone percent", "q=100%", &QueryError{Problem: QueryEscape, Text: "%", Parameter: "q"}},
		{"bad escape in a name", "a%g1=2", &QueryError{Problem: QueryEscape, Text: "%g1"}},
		{"too many parameters", strings.Repeat("a=1&", 10_001), &QueryError{Problem: QueryMalformed,
			Text: strings.Repeat("a=1&", 20) + "…", detail: "number of URL query parameters exceeded limit"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := CheckQuery(tc.raw)
			if (got == nil) != (tc.want == nil) || got != nil && *got != *tc.want {
				t.Fatalf("CheckQuery(%.60q)\n got %+v\nwant %+v", tc.raw, got, tc.want)
			}
		})
	}
}

// FuzzCheckQuery holds CheckQuery to its promise: a query passes exactly
// when url.ParseQuery reads it without error, and a refusal names a
// problem found in the query.
func FuzzCheckQuery(f *testing.F) {
	for _, s := range []string{"", "ip=10.99.1.1;x", "a=%zz", "a=%2", "q=a+b&c=%41", "&&;", "%", "a=1&b=2=3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		qerr := CheckQuery(raw)
		_, err := url.ParseQuery(raw)
		if (qerr == nil) != (err == nil) {
			t.Fatalf("CheckQuery(%q) = %v, url.ParseQuery: %v", raw, qerr, err)
		}
		if qerr != nil && qerr.Problem != QueryMalformed && !strings.Contains(raw, qerr.Text) {
			t.Fatalf("CheckQuery(%q) names %q, not in the query", raw, qerr.Text)
		}
	})
}

func TestStrictQueries(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	u, err := auth.NewUser("analyst", "", auth.RoleAnalyst, "the analyst's passphrase", "en")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateUser(ctx, &u); err != nil {
		t.Fatal(err)
	}
	token, _, err := auth.NewAPIToken(ctx, st, u.ID, "script")
	if err != nil {
		t.Fatal(err)
	}
	srv := newServer(t, Deps{Console: console.Config{Store: st}, API: api.New(api.Deps{Store: st})})
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	bearer := []string{"Authorization", "Bearer " + token}

	apiError := func(t *testing.T, path string) (int, map[string]string) {
		t.Helper()
		res, body := get(t, noRedirect, srv.URL+path, bearer...)
		var e struct{ Error map[string]string }
		if err := json.Unmarshal([]byte(body), &e); err != nil {
			t.Fatalf("%s: status %d, not the API's JSON: %.200s", path, res.StatusCode, body)
		}
		return res.StatusCode, e.Error
	}
	t.Run("API: a semicolon is a 400 naming it", func(t *testing.T) {
		status, e := apiError(t, "/api/v1/events?ip=10.99.1.1;x")
		if status != http.StatusBadRequest || e["code"] != "bad_query" || e["parameter"] != "ip" || !strings.Contains(e["message"], `";"`) {
			t.Fatalf("status %d error %v", status, e)
		}
	})
	t.Run("API: a broken escape is a 400 naming it", func(t *testing.T) {
		status, e := apiError(t, "/api/v1/events?ip=10.99.1.1&feed=%zz")
		if status != http.StatusBadRequest || e["parameter"] != "feed" || !strings.Contains(e["message"], `"%zz"`) {
			t.Fatalf("status %d error %v", status, e)
		}
	})
	t.Run("API: a valid query still works", func(t *testing.T) {
		res, body := get(t, noRedirect, srv.URL+"/api/v1/events?ip=10.99.1.1", bearer...)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("status %d: %.300s", res.StatusCode, body)
		}
	})
	t.Run("console: a translated page", func(t *testing.T) {
		for lang, want := range map[string]string{
			"en": "contains a semicolon (in &#34;ip=10.99.1.1;x&#34;)",
			"nl": "bevat een puntkomma (in &#34;ip=10.99.1.1;x&#34;)",
			"fr": "contient un point-virgule (dans « ip=10.99.1.1;x »)",
			"de": "enthält ein Semikolon (in „ip=10.99.1.1;x“)",
		} {
			res, body := get(t, noRedirect, srv.URL+"/events?ip=10.99.1.1;x", "Accept-Language", lang)
			if res.StatusCode != http.StatusBadRequest || !strings.Contains(body, want) {
				t.Errorf("%s: status %d, want 400 with %q: %.1500s", lang, res.StatusCode, want, body)
			}
			if got := res.Header.Get("Content-Security-Policy"); got != ContentSecurityPolicy {
				t.Errorf("%s: the error page lacks the security headers", lang)
			}
		}
	})
	t.Run("portal: a broken escape", func(t *testing.T) {
		res, body := get(t, noRedirect, srv.URL+"/portal/events?q=%zz", "Accept-Language", "en")
		if res.StatusCode != http.StatusBadRequest || !strings.Contains(body, "broken percent-escape (&#34;%zz&#34;)") {
			t.Fatalf("status %d: %.1500s", res.StatusCode, body)
		}
	})
	t.Run("console: a valid query still works", func(t *testing.T) {
		res, _ := get(t, noRedirect, srv.URL+"/login?next=%2Fevents")
		if res.StatusCode != http.StatusOK {
			t.Fatalf("status %d", res.StatusCode)
		}
	})
}
