package web

import (
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/console"
	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/notify"
)

func newServer(t *testing.T, deps Deps) *httptest.Server {
	t.Helper()
	if deps.Console.Store == nil {
		deps.Console.Store = openStore(t)
	}
	if deps.Console.Notifier == nil {
		deps.Console.Notifier = newNotifier(t, deps.Console.Store.(notify.Store))
	}
	h, err := New(deps)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// consoleConfig configures the console over st as `vigil serve` does,
// with a notifier for template previews.
func consoleConfig(t *testing.T, st *database.DB, version string) console.Config {
	t.Helper()
	return console.Config{Store: st, Version: version, Notifier: newNotifier(t, st),
		Products: console.ProductPages{Declarations: st.Products, Publications: st.Publications}}
}

// newNotifier is a notifier over st with the default settings.
func newNotifier(t *testing.T, st notify.Store) *notify.Notifier {
	t.Helper()
	n, err := notify.New(notify.DefaultConfig(), notify.Deps{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func get(t *testing.T, client *http.Client, u string, header ...string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

func TestSecurityHeaders(t *testing.T) {
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"path":"` + r.URL.Path + `"}`))
	})
	metrics := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("vigil_up 1\n")) })
	srv := newServer(t, Deps{Console: console.Config{Version: "1.2.3"}, API: api, Metrics: metrics})
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, path := range []string{"/login", "/", "/events", "/static/vigil.css", "/healthz", "/metrics", "/api/v1/events", "/nope"} {
		t.Run(path, func(t *testing.T) {
			res, _ := get(t, noRedirect, srv.URL+path)
			for name, want := range map[string]string{
				"Content-Security-Policy": ContentSecurityPolicy,
				"X-Content-Type-Options":  "nosniff",
				"X-Frame-Options":         "DENY",
				"Referrer-Policy":         "same-origin",
			} {
				if got := res.Header.Get(name); got != want {
					t.Errorf("%s: %q, want %q", name, got, want)
				}
			}
		})
	}
	if !strings.Contains(ContentSecurityPolicy, "default-src 'none'") || strings.Contains(ContentSecurityPolicy, "unsafe") {
		t.Fatalf("CSP %q", ContentSecurityPolicy)
	}
	t.Run("mounts", func(t *testing.T) {
		if _, body := get(t, http.DefaultClient, srv.URL+"/api/v1/events"); body != `{"path":"/events"}` {
			t.Errorf("api got %s", body)
		}
		if _, body := get(t, http.DefaultClient, srv.URL+"/metrics"); body != "vigil_up 1\n" {
			t.Errorf("metrics got %q", body)
		}
		res, body := get(t, http.DefaultClient, srv.URL+"/static/vigil.css")
		if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/css") || !strings.Contains(body, "--accent") {
			t.Errorf("css: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
		}
	})
	t.Run("no inline script or style", func(t *testing.T) {
		_, body := get(t, http.DefaultClient, srv.URL+"/login")
		for _, bad := range []string{"<script", "style=", "<style", "onclick", "onload"} {
			if strings.Contains(body, bad) {
				t.Errorf("login page contains %q", bad)
			}
		}
	})
}

func TestHealthz(t *testing.T) {
	st := openStore(t)
	srv := newServer(t, Deps{Console: console.Config{Store: st, Version: "1.2.3"}})
	res, body := get(t, http.DefaultClient, srv.URL+"/healthz")
	if res.StatusCode != http.StatusOK || body != "ok\n" {
		t.Fatalf("%d %q", res.StatusCode, body)
	}
	res, body = get(t, http.DefaultClient, srv.URL+"/healthz", "Accept", "application/json")
	var v map[string]string
	if err := json.Unmarshal([]byte(body), &v); err != nil || v["status"] != "ok" || v["version"] != "1.2.3" || res.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("%q %v", body, err)
	}
	st.Close()
	res, body = get(t, http.DefaultClient, srv.URL+"/healthz")
	if res.StatusCode != http.StatusServiceUnavailable || strings.Contains(body, "sql") {
		t.Fatalf("closed store: %d %q", res.StatusCode, body)
	}
}

// TestCrossSitePostRefused checks the browser-header layer in front of
// the console's own CSRF tokens.
func TestCrossSitePostRefused(t *testing.T) {
	srv := newServer(t, Deps{})
	form := url.Values{"name": {"x"}, "password": {"y"}}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site post: %d", res.StatusCode)
	}
}

func TestSecureCookiesOverTLS(t *testing.T) {
	st := openStore(t)
	addUser(t, st, "alice", "analyst", "alice's long passphrase")
	h, err := New(Deps{Console: consoleConfig(t, st, "")})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewTLSServer(h)
	defer srv.Close()
	client := srv.Client()
	client.Transport.(*http.Transport).TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, body := get(t, client, srv.URL+"/login")
	var formCookie *http.Cookie
	for _, c := range res.Cookies() {
		if c.Name == "__Host-vigil-form" {
			formCookie = c
		}
	}
	if formCookie == nil || !formCookie.Secure {
		t.Fatalf("form cookie %+v", res.Cookies())
	}
	if res.Header.Get("Strict-Transport-Security") == "" {
		t.Error("no HSTS over TLS")
	}
	token := strings.SplitN(strings.SplitN(body, `name="csrf" value="`, 2)[1], `"`, 2)[0]
	form := url.Values{"name": {"alice"}, "password": {"alice's long passphrase"}, "csrf": {token}}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(formCookie)
	res, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	var session *http.Cookie
	for _, c := range res.Cookies() {
		if c.Name == "__Host-vigil-session" {
			session = c
		}
	}
	if res.StatusCode != http.StatusSeeOther || session == nil || !session.Secure || !session.HttpOnly || session.Path != "/" || session.SameSite != http.SameSiteLaxMode {
		t.Fatalf("status %d session cookie %+v", res.StatusCode, session)
	}
}
