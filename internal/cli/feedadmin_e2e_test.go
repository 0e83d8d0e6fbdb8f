package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/syncbuf"
)

// serveInProcess runs `vigil serve` in the test's process until the test
// ends, and returns its console's address and its log.
func serveInProcess(t *testing.T, data, config string) (string, *syncbuf.Buffer) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	logs := &syncbuf.Buffer{}
	fs := flag.NewFlagSet("vigil serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	env := &cmdEnv{stdin: strings.NewReader(""), stdout: io.Discard, stderr: logs, flags: fs, getenv: func(string) string { return "" }}
	env.dataDir = fs.String("data", "", "")
	env.configFile = fs.String("config", "", "")
	env.database = fs.String("database", "", "")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runServe(ctx, env, []string{"--data", data, "--config", config, "--listen", addr}) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	waitFor(t, time.Minute, func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return "http://" + addr, logs
}

// consoleSession is a signed-in browser: cookies, and the CSRF token of
// the last page.
type consoleSession struct {
	t      *testing.T
	base   string
	client *http.Client
	csrf   string
}

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (s *consoleSession) do(method, path string, form url.Values) (int, string) {
	s.t.Helper()
	var body io.Reader
	if form != nil {
		form.Set("csrf", s.csrf)
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, s.base+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := s.client.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if m := csrfInput.FindSubmatch(b); m != nil {
		s.csrf = string(m[1])
	}
	return res.StatusCode, string(b)
}

// TestFeedsFromTheConsoleEndToEnd: a feed added in the console of a
// running `vigil serve` is picked up by its collectors (an HTTP feed
// served on 127.0.0.1), pausing it stops its collector, and a run asked
// for by hand runs the paused feed once and shows on its page.
func TestFeedsFromTheConsoleEndToEnd(t *testing.T) {
	data := t.TempDir()
	config := filepath.Join(data, "vigil.yml")
	if err := os.WriteFile(config, []byte("feeds:\n  - name: inbox\n    collector: inbox\n    parser: auto\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := run(t, "a long enough passphrase\n", "user", "add", "admin", "--role", "admin", "--password-stdin",
		"--data", data, "--config", config); code != 0 {
		t.Fatalf("user add: %s", errOut)
	}
	var hits atomic.Int64
	list := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := hits.Add(1)
		// No validators: every download is new.
		fmt.Fprintf(w, "192.0.2.%d\n198.51.100.%d\n203.0.113.%d\n", n, n, n)
	}))
	defer list.Close()
	base, logs := serveInProcess(t, data, config)

	jar, _ := cookiejar.New(nil)
	s := &consoleSession{t: t, base: base, client: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	s.do("GET", "/login", nil)
	if code, _ := s.do("POST", "/login", url.Values{"name": {"admin"}, "password": {"a long enough passphrase"}}); code != http.StatusSeeOther {
		t.Fatalf("login: %d", code)
	}
	s.do("GET", "/feeds/new", nil)
	code, body := s.do("POST", "/feeds/new", url.Values{"name": {"blocklist"}, "collector": {"http"}, "parser": {"list"},
		"collector_options": {"url: " + list.URL + "/list.txt\ninterval: 1h\n"}, "parser_options": {"type: scanner\n"},
		"keep_raw": {"1"}, "enabled": {"1"}})
	if code != http.StatusSeeOther {
		t.Fatalf("add the feed: %d %.500s", code, body)
	}

	// The runner picks the feed up and its collector downloads at once.
	page := func() string { _, b := s.do("GET", "/feeds/blocklist", nil); return b }
	waitFor(t, time.Minute, func() bool { return hits.Load() >= 1 })
	runRow := regexp.MustCompile(`(?s)<tr>\s*<td>[^<]*</td>\s*<td>(the schedule|admin, by hand)</td>\s*<td class="num">1</td><td class="num">3</td>\s*<td class="num">3</td>`)
	waitFor(t, time.Minute, func() bool { return strings.Contains(runRow.FindString(page()), "the schedule") })

	// Paused, its collector stops; the page says so.
	s.do("GET", "/feeds/blocklist", nil)
	if code, _ := s.do("POST", "/feeds/blocklist/pause", url.Values{}); code != http.StatusSeeOther {
		t.Fatalf("pause: %d", code)
	}
	waitFor(t, time.Minute, func() bool {
		return strings.Contains(logs.String(), `feed's collector stopped" feed=blocklist`)
	})
	if p := page(); !strings.Contains(p, "paused") || !strings.Contains(p, `id="feed-resume"`) {
		t.Errorf("the paused feed's page does not say so:\n%.2000s", p)
	}
	before := hits.Load()

	// Run now: one download of the paused feed, recorded as asked by hand.
	if code, _ := s.do("POST", "/feeds/blocklist/run", url.Values{}); code != http.StatusSeeOther {
		t.Fatalf("run now: %d", code)
	}
	waitFor(t, time.Minute, func() bool { return strings.Contains(page(), "admin, by hand") })
	waitFor(t, time.Minute, func() bool {
		for _, m := range runRow.FindAllStringSubmatch(page(), -1) {
			if m[1] == "admin, by hand" {
				return true
			}
		}
		return false
	})
	if got := hits.Load(); got != before+1 {
		t.Errorf("run now downloaded %d times, want once", got-before)
	}
	if p := page(); strings.Contains(p, `id="run-requested"`) {
		t.Error("the run request is still shown as waiting after the run")
	}
}
