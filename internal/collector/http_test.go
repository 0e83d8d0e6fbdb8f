package collector

import (
	"compress/gzip"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/pipeline"
	"github.com/vigil-cert/vigil/internal/store"
)

// feedServer serves one report with validators and answers conditional
// requests the way a well-behaved feed provider does.
type feedServer struct {
	mu       sync.Mutex
	body     []byte
	modified time.Time
	status   int // when non-zero, answer every request with it
	gzip     bool
	// what the server saw
	full, notModified int
	conditions        []string // "If-None-Match|If-Modified-Since" per request
	authorization     []string
}

func (s *feedServer) set(body string, modified time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.body, s.modified = []byte(body), modified
}

func (s *feedServer) etag() string { return fmt.Sprintf(`"%x"`, sha256.Sum256(s.body)) }

func (s *feedServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	inm, ims := r.Header.Get("If-None-Match"), r.Header.Get("If-Modified-Since")
	s.conditions = append(s.conditions, inm+"|"+ims)
	s.authorization = append(s.authorization, r.Header.Get("Authorization"))
	if s.status != 0 {
		http.Error(w, "feed unavailable", s.status)
		return
	}
	w.Header().Set("ETag", s.etag())
	w.Header().Set("Last-Modified", s.modified.UTC().Format(http.TimeFormat))
	if inm != "" && inm == s.etag() {
		s.notModified++
		w.WriteHeader(http.StatusNotModified)
		return
	}
	s.full++
	if s.gzip && strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		w.Header().Set("Content-Encoding", "gzip")
		zw := gzip.NewWriter(w)
		zw.Write(s.body)
		zw.Close()
		return
	}
	w.Write(s.body)
}

func (s *feedServer) counts() (full, notModified int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.full, s.notModified
}

func (s *feedServer) lastConditions() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conditions[len(s.conditions)-1]
}

func startFeedServer(t *testing.T) (*feedServer, *httptest.Server) {
	fs := &feedServer{}
	fs.set("2026-11-20,192.0.2.1\n", time.Date(2026, 11, 20, 6, 0, 0, 0, time.UTC))
	srv := httptest.NewServer(fs) // listens on 127.0.0.1
	t.Cleanup(srv.Close)
	return fs, srv
}

func newTestHTTP(t *testing.T, s store.Store, opts pipeline.Options) *HTTP {
	t.Helper()
	env := pipeline.Env{Store: s, Logger: testLogger(t), DataDir: t.TempDir(), HTTP: &http.Client{}, Now: fixedNow}
	c, err := pipeline.NewCollector("http", env, "shadowserver", opts)
	if err != nil {
		t.Fatal(err)
	}
	return c.(*HTTP)
}

func feedStatus(t *testing.T, s store.Store) store.FeedStatus {
	t.Helper()
	status, err := s.ListFeedStatus(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// The feed's totals over its own row and its report types' rows.
	for _, f := range store.SumFeeds(status) {
		if f.Name == "shadowserver" {
			return f.FeedStatus
		}
	}
	return store.FeedStatus{}
}

func TestHTTP(t *testing.T) {
	t.Run("conditional get survives a restart", testHTTPConditionalGetSurvivesRestart)
	t.Run("validators are kept only after delivery succeeds", testHTTPValidatorsKeptAfterDelivery)
	t.Run("server error is recorded and retried next interval", testHTTPServerErrorRetriedNextInterval)
	t.Run("gzip by content encoding and by name", testHTTPGzipByEncodingAndName)
	t.Run("headers and input name options", testHTTPHeadersAndInputName)
	t.Run("max size is enforced while streaming", testHTTPMaxSizeEnforcedWhileStreaming)
	t.Run("refuses bad options", testHTTPRefusesBadOptions)
}

// testHTTPConditionalGetSurvivesRestart: conditional get survives a restart.
func testHTTPConditionalGetSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	fs, srv := startFeedServer(t)
	s := openStore(t)
	opts := pipeline.Options{"url": srv.URL + "/reports/2026-11-20-scan_rdp-belgium-geo.csv"}
	var rec recorder
	c := newTestHTTP(t, s, opts)
	if err := c.Fetch(ctx, rec.deliver); err != nil {
		t.Fatal(err)
	}
	if got := fs.lastConditions(); got != "|" {
		t.Errorf("first request sent conditions %q, want none", got)
	}
	want := []delivered{{"shadowserver", "2026-11-20-scan_rdp-belgium-geo.csv", "2026-11-20,192.0.2.1\n"}}
	if got := rec.all(); !slices.Equal(got, want) {
		t.Fatalf("delivered %v, want %v", got, want)
	}

	// Unchanged: the server answers 304 and nothing is delivered.
	if err := c.Fetch(ctx, rec.deliver); err != nil {
		t.Fatal(err)
	}
	wantCond := fs.etag() + "|Fri, 20 Nov 2026 06:00:00 GMT"
	if got := fs.lastConditions(); got != wantCond {
		t.Errorf("conditions %q, want %q", got, wantCond)
	}

	// A new collector on the same store (a restart) still knows the
	// validators.
	c = newTestHTTP(t, s, opts)
	if err := c.Fetch(ctx, rec.deliver); err != nil {
		t.Fatal(err)
	}
	if full, notModified := fs.counts(); full != 1 || notModified != 2 {
		t.Errorf("server sent %d full answers and %d 304s, want 1 and 2", full, notModified)
	}
	if got := len(rec.all()); got != 1 {
		t.Errorf("delivered %d times, want 1", got)
	}

	// A changed report is downloaded and delivered again.
	fs.set("2026-11-21,192.0.2.2\n", time.Date(2026, 11, 21, 6, 0, 0, 0, time.UTC))
	if err := c.Fetch(ctx, rec.deliver); err != nil {
		t.Fatal(err)
	}
	if got := rec.all(); len(got) != 2 || got[1].Body != "2026-11-21,192.0.2.2\n" {
		t.Errorf("delivered %v, want the new report second", got)
	}
	if st := feedStatus(t, s); st.LastError != "" || !st.LastRun.Equal(fixedNow()) {
		t.Errorf("feed status %+v, want a clean run at %v", st, fixedNow())
	}
}

// testHTTPValidatorsKeptAfterDelivery: validators are kept only after delivery succeeds.
func testHTTPValidatorsKeptAfterDelivery(t *testing.T) {
	ctx := context.Background()
	fs, srv := startFeedServer(t)
	s := openStore(t)
	c := newTestHTTP(t, s, pipeline.Options{"url": srv.URL + "/feed.csv"})
	refuse := func(context.Context, pipeline.Input) error { return errors.New("bus unavailable") }
	if err := c.Fetch(ctx, refuse); err == nil || !strings.Contains(err.Error(), "bus unavailable") {
		t.Fatalf("err = %v, want the delivery's error", err)
	}
	var rec recorder
	if err := c.Fetch(ctx, rec.deliver); err != nil {
		t.Fatal(err)
	}
	if got := fs.lastConditions(); got != "|" {
		t.Errorf("retry sent conditions %q, want none", got)
	}
	if full, _ := fs.counts(); full != 2 || len(rec.all()) != 1 {
		t.Errorf("server sent %d full answers, delivered %d; want 2 and 1", full, len(rec.all()))
	}
}

// testHTTPServerErrorRetriedNextInterval: server error is recorded and retried next interval.
func testHTTPServerErrorRetriedNextInterval(t *testing.T) {
	ctx := context.Background()
	fs, srv := startFeedServer(t)
	fs.status = http.StatusServiceUnavailable
	s := openStore(t)
	c := newTestHTTP(t, s, pipeline.Options{"url": srv.URL + "/feed.csv", "interval": "20ms"})
	var rec recorder
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- c.Run(runCtx, rec.deliver) }()

	waitFor(t, "the error on the feeds page", func() bool {
		return strings.Contains(feedStatus(t, s).LastError, "503")
	})
	// Said in every language, the server's status quoted as it came.
	st := feedStatus(t, s)
	url := srv.URL + "/feed.csv"
	for lang, want := range map[string]string{"en": "GET " + url + ": 503 Service Unavailable",
		"nl": url + " ophalen: de server antwoordde 503 Service Unavailable",
		"fr": "télécharger " + url + " : le serveur a répondu 503 Service Unavailable",
		"de": url + " abrufen: der Server antwortete 503 Service Unavailable"} {
		if got := st.LastReason(i18n.Embedded(), lang); got != want {
			t.Errorf("last reason in %s = %q, want %q", lang, got, want)
		}
	}
	if st.LastError != "GET "+url+": 503 Service Unavailable" {
		t.Errorf("last error = %q, want the English as before", st.LastError)
	}
	fs.mu.Lock()
	fs.status = 0
	fs.mu.Unlock()
	waitFor(t, "a delivery after recovery", func() bool { return len(rec.all()) == 1 })
	waitFor(t, "the error cleared", func() bool { return feedStatus(t, s).LastError == "" })
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
}

// testHTTPGzipByEncodingAndName: gzip by content encoding and by name.
func testHTTPGzipByEncodingAndName(t *testing.T) {
	ctx := context.Background()
	fs, srv := startFeedServer(t)
	fs.gzip = true
	s := openStore(t)
	var rec recorder

	// Asking for gzip explicitly turns off the transport's own
	// decompression, so the collector must do it.
	c := newTestHTTP(t, s, pipeline.Options{"url": srv.URL + "/a.csv", "headers": map[string]any{"Accept-Encoding": "gzip"}})
	if err := c.Fetch(ctx, rec.deliver); err != nil {
		t.Fatal(err)
	}

	gz := &http.ServeMux{}
	gz.HandleFunc("/b.csv.gz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/gzip")
		w.Write(gzipped(t, "from a .gz file\n"))
	})
	gzSrv := httptest.NewServer(gz)
	defer gzSrv.Close()
	c = newTestHTTP(t, s, pipeline.Options{"url": gzSrv.URL + "/b.csv.gz"})
	if err := c.Fetch(ctx, rec.deliver); err != nil {
		t.Fatal(err)
	}

	want := []delivered{
		{"shadowserver", "a.csv", "2026-11-20,192.0.2.1\n"},
		{"shadowserver", "b.csv", "from a .gz file\n"},
	}
	if got := rec.all(); !slices.Equal(got, want) {
		t.Errorf("delivered %v, want %v", got, want)
	}
}

// testHTTPHeadersAndInputName: headers and input name options.
func testHTTPHeadersAndInputName(t *testing.T) {
	ctx := context.Background()
	fs, srv := startFeedServer(t)
	s := openStore(t)
	c := newTestHTTP(t, s, pipeline.Options{
		"url":     srv.URL + "/download?id=42",
		"name":    "2026-11-20-scan_rdp-belgium-geo.csv",
		"headers": map[string]any{"Authorization": "Bearer secret"},
	})
	var rec recorder
	if err := c.Fetch(ctx, rec.deliver); err != nil {
		t.Fatal(err)
	}
	if got := rec.all(); len(got) != 1 || got[0].Name != "2026-11-20-scan_rdp-belgium-geo.csv" {
		t.Errorf("delivered %v", got)
	}
	if fs.authorization[0] != "Bearer secret" {
		t.Errorf("Authorization = %q", fs.authorization[0])
	}
}

// testHTTPMaxSizeEnforcedWhileStreaming: max size is enforced while streaming.
func testHTTPMaxSizeEnforcedWhileStreaming(t *testing.T) {
	ctx := context.Background()
	big := strings.Repeat("192.0.2.1\n", 1000)
	mux := &http.ServeMux{}
	mux.HandleFunc("/known-length.csv", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(big))
	})
	mux.HandleFunc("/chunked.csv", func(w http.ResponseWriter, r *http.Request) {
		for range 10 {
			w.Write([]byte(big[:1000]))
			w.(http.Flusher).Flush()
		}
	})
	mux.HandleFunc("/bomb.csv.gz", func(w http.ResponseWriter, r *http.Request) {
		w.Write(gzipped(t, strings.Repeat("0", 1<<20)))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	s := openStore(t)
	for _, name := range []string{"known-length.csv", "chunked.csv", "bomb.csv.gz"} {
		t.Run(name, func(t *testing.T) {
			c := newTestHTTP(t, s, pipeline.Options{"url": srv.URL + "/" + name, "max_size": 5000})
			var rec recorder
			err := c.Fetch(ctx, rec.deliver)
			if !errors.Is(err, ErrTooLarge) {
				t.Errorf("err = %v, want ErrTooLarge", err)
			}
		})
	}
}

// testHTTPRefusesBadOptions: refuses bad options.
func testHTTPRefusesBadOptions(t *testing.T) {
	s := openStore(t)
	env := pipeline.Env{Store: s, Logger: testLogger(t)}
	for name, opts := range map[string]pipeline.Options{
		"no url":         {},
		"ftp url":        {"url": "ftp://example.org/x"},
		"unknown option": {"url": "https://example.org/x", "intervall": "1h"},
		"bad interval":   {"url": "https://example.org/x", "interval": "hourly"},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := pipeline.NewCollector("http", env, "f", opts); err == nil {
				t.Error("no error")
			}
		})
	}
}

func TestHTTPDefaultName(t *testing.T) {
	s := openStore(t)
	for url, want := range map[string]string{
		"https://dl.example.org/reports/2026-11-20-scan_rdp.csv?token=x": "2026-11-20-scan_rdp.csv",
		"https://feeds.example.org/":                                     "feeds.example.org",
		"https://feeds.example.org":                                      "feeds.example.org",
	} {
		t.Run(url, func(t *testing.T) {
			c := newTestHTTP(t, s, pipeline.Options{"url": url})
			if c.cfg.Name != want {
				t.Errorf("name = %q, want %q", c.cfg.Name, want)
			}
		})
	}
}

// TestHTTPFailureHook: a scheduled download that fails is handed to the
// runner's hook (which records it in the feed's history of runs).
func TestHTTPFailureHook(t *testing.T) {
	s := openStore(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	c := newTestHTTP(t, s, pipeline.Options{"url": srv.URL + "/list.txt", "interval": "1h"})
	failures := make(chan error, 1)
	c.OnFailure(func(_ context.Context, err error) { failures <- err })
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- c.Run(ctx, func(context.Context, pipeline.Input) error { return errors.New("nothing to deliver") })
	}()
	if err := <-failures; !strings.Contains(err.Error(), "503") {
		t.Errorf("hook got %v, want the 503", err)
	}
	cancel()
	<-done
}

// TestFailureHookNotForDelivery: a scheduled fetch whose delivery failed
// is not handed to the hook (the runner records that failure on the
// delivery's own run, and the hook would count it twice); a fetch that
// failed on its own, before or after delivering, is.
func TestFailureHookNotForDelivery(t *testing.T) {
	full := errors.New("the bus is full")
	down := errors.New("503 down for maintenance")
	deliver := func(context.Context, pipeline.Input) error { return full }
	for _, tt := range []struct {
		name  string
		fetch func(ctx context.Context, d pipeline.Deliver) error
		want  error
	}{
		{"delivery failed", func(ctx context.Context, d pipeline.Deliver) error {
			return fmt.Errorf("deliver list.txt: %w", d(ctx, pipeline.Input{}))
		}, nil},
		{"download failed", func(context.Context, pipeline.Deliver) error { return down }, down},
		{"failed after a delivery", func(ctx context.Context, d pipeline.Deliver) error {
			_ = d(ctx, pipeline.Input{})
			return down
		}, down},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var h failureHook
			var got error
			h.OnFailure(func(_ context.Context, err error) { got = err })
			_ = h.scheduledFetch(t.Context(), deliver, tt.fetch)
			if got != tt.want {
				t.Errorf("hook got %v, want %v", got, tt.want)
			}
		})
	}
}
