package collector

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/pipeline"
	"github.com/vigil-cert/vigil/internal/store"
)

// saysInEveryLanguage checks that a feed's last error is want: in
// English as its text, and said in each language by its message, which
// in NL, FR and DE is not the English.
func saysInEveryLanguage(t *testing.T, st store.FeedStatus, want i18n.Message) {
	t.Helper()
	c := i18n.Embedded()
	if st.LastError != want.String() {
		t.Errorf("last error %q, want %q", st.LastError, want.String())
	}
	for _, lang := range i18n.Codes {
		said := want.In(c, lang)
		if lang != i18n.Source && said == want.String() {
			t.Errorf("%s says %s in English: %q", lang, want.ID, said)
		}
		if got := st.LastReason(c, lang); got != said {
			t.Errorf("last reason in %s = %q, want %q", lang, got, said)
		}
	}
}

// Credentials that a broken or hostile Reports API echoes back.
const (
	echoedKey    = "key-0123456789abcdef"
	echoedSecret = "secret-fedcba9876543210"
)

// TestShadowserverAPIErrorsRedactedInEveryLanguage: the Reports API
// collector's failures are said in every language, and neither the API
// key nor the secret reaches the feed's last error, its stored message,
// a language's rendering of it or a feed run's problem, whether the API
// echoes them in its refusal or a listed link holds them.
func TestShadowserverAPIErrorsRedactedInEveryLanguage(t *testing.T) {
	var links string // the base of the download links the list gives
	mux := http.NewServeMux()
	mux.HandleFunc("/api2/reports/list", func(w http.ResponseWriter, r *http.Request) {
		if links == "" {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprintf(w, `{"error":"HMAC mismatch for apikey %s (secret %s?)"}`, echoedKey, echoedSecret)
			return
		}
		fmt.Fprintf(w, `[{"id":"9","type":"scan_rdp","file":"2026-11-20-scan_rdp-belgium-geo.csv","timestamp":"2026-11-20","url":%q}]`,
			links+"/"+echoedKey+"/"+echoedSecret+".csv")
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	opts := pipeline.Options{"api_key": echoedKey, "secret": echoedSecret, "base_url": srv.URL + "/api2/"}

	check := func(t *testing.T, err error, st store.FeedStatus) {
		t.Helper()
		problem, _ := i18n.Said(err)
		texts := map[string]string{"error": err.Error(), "last error": st.LastError,
			"stored message": st.LastProblem.Encode(), "run's message": problem.Encode()}
		for _, lang := range i18n.Codes {
			texts["last reason in "+lang] = st.LastReason(i18n.Embedded(), lang)
			texts["run's problem in "+lang] = problem.In(i18n.Embedded(), lang)
		}
		for where, text := range texts {
			if strings.Contains(text, echoedKey) || strings.Contains(text, echoedSecret) {
				t.Errorf("%s holds a credential: %s", where, text)
			}
		}
	}

	t.Run("a refusal that echoes the credentials", func(t *testing.T) {
		s := openStore(t)
		c, _ := newTestReportsCollector(t, s, opts)
		var hooked error
		c.OnFailure(func(_ context.Context, err error) { hooked = err })
		err := c.scheduledFetch(t.Context(), (&recorder{}).deliver, c.Fetch)
		var refused *ReportsAPIError
		if !errors.As(err, &refused) || !refused.Credentials() || hooked != err {
			t.Fatalf("err %v, hook %v: want the refusal of the signature, handed to the hook", err, hooked)
		}
		st := feedStatus(t, s)
		saysInEveryLanguage(t, st, i18n.M("collector.shadowserver.refused.signature", "reports/list",
			i18n.M("collector.shadowserver.answer.words", 401, "HMAC mismatch for apikey [redacted] (secret [redacted]?)")))
		check(t, hooked, st)
	})

	t.Run("a listed link that holds the credentials", func(t *testing.T) {
		// A port that listened a moment ago and no longer does: the
		// transport's reason quotes the link.
		closed := httptest.NewServer(http.NotFoundHandler())
		links = closed.URL
		closed.Close()
		defer func() { links = "" }()
		s := openStore(t)
		c, _ := newTestReportsCollector(t, s, opts)
		err := c.Fetch(t.Context(), (&recorder{}).deliver)
		if err == nil {
			t.Fatal("no error")
		}
		st := feedStatus(t, s)
		check(t, err, st)
		if !strings.Contains(st.LastError, "[redacted]") {
			t.Errorf("last error %q: want the link quoted, redacted", st.LastError)
		}
		for lang, words := range map[string]string{"en": "report 2026-11-20-scan_rdp-belgium-geo.csv (id 9): download: ",
			"nl": "rapport 2026-11-20-scan_rdp-belgium-geo.csv (id 9): downloaden: ",
			"fr": "rapport 2026-11-20-scan_rdp-belgium-geo.csv (id 9) : télécharger : ",
			"de": "Bericht 2026-11-20-scan_rdp-belgium-geo.csv (ID 9): herunterladen: "} {
			if got := st.LastReason(i18n.Embedded(), lang); !strings.HasPrefix(got, words) {
				t.Errorf("last reason in %s = %q, want it to start %q", lang, got, words)
			}
		}
	})
}

// failingState is a store whose collector state cannot be read or
// written.
type failingState struct {
	store.Store
	get, put error
}

func (s failingState) GetState(ctx context.Context, key string) ([]byte, error) {
	if s.get != nil {
		return nil, s.get
	}
	return s.Store.GetState(ctx, key)
}

func (s failingState) PutState(ctx context.Context, key string, value []byte) error {
	if s.put != nil {
		return s.put
	}
	return s.Store.PutState(ctx, key, value)
}

// TestHTTPStateErrorsInEveryLanguage: when the HTTP collector cannot load
// or save what it keeps between downloads, the feed's last error says so
// in every language, the store's reason quoted as it came.
func TestHTTPStateErrorsInEveryLanguage(t *testing.T) {
	_, srv := startFeedServer(t)
	url := srv.URL + "/feed.csv"
	reason := errors.New("database is locked (5) (SQLITE_BUSY)")
	for _, tc := range []struct {
		name  string
		store func(store.Store) store.Store
		want  i18n.Message
	}{
		{"load", func(s store.Store) store.Store { return failingState{Store: s, get: reason} },
			i18n.M("collector.http.state.load", url, reason.Error())},
		{"save", func(s store.Store) store.Store { return failingState{Store: s, put: reason} },
			i18n.M("collector.http.state.save", url, reason.Error())},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openStore(t)
			c := newTestHTTP(t, tc.store(s), pipeline.Options{"url": url, "interval": "1h"})
			var rec recorder
			stop := runInbox(t, c, rec.deliver)
			waitFor(t, "the feed's last error", func() bool { return feedStatus(t, s).LastError != "" })
			stop()
			saysInEveryLanguage(t, feedStatus(t, s), tc.want)
		})
	}
}

// TestInboxRefusalsInEveryLanguage: the files the inbox's default feed
// refuses (a report type Vigil does not know, a name that says no
// format, a gzip file that is none, one cut short) give a dead letter
// and a last error said in every language, the library's reason quoted
// as it came.
func TestInboxRefusalsInEveryLanguage(t *testing.T) {
	var report bytes.Buffer
	zw := gzip.NewWriter(&report)
	io.WriteString(zw, strings.Repeat("timestamp,ip,port\n2026-11-20 00:00:00,198.51.100.13,3389\n", 200))
	zw.Close()
	cut := report.Bytes()[:report.Len()/2]

	for _, tc := range []struct {
		file string
		body []byte
		// The reason after "deliver <file> to feed shadowserver: ".
		reason i18n.Message
	}{
		{"2026-11-20-scan_nothing-belgium-geo.csv", []byte("timestamp,ip\n"),
			i18n.M("shadowserver.unknownreport", "2026-11-20-scan_nothing-belgium-geo.csv")},
		{"notes.txt", []byte("hello\n"), i18n.M("pipeline.auto.unknown", "notes.txt")},
		{"2026-11-20-scan_rdp-belgium-geo.csv.gz", cut, i18n.M("pipeline.input.read", "unexpected EOF")},
	} {
		t.Run(tc.file, func(t *testing.T) {
			s := openStore(t)
			env := inboxEnv(t, s)
			runner := newAutoRunner(t, s)
			writeFile(t, filepath.Join(env.DataDir, "inbox", "shadowserver", tc.file), tc.body)
			if err := newTestInbox(t, env, nil).Fetch(t.Context(), runner.Deliver); err != nil {
				t.Fatal(err)
			}
			name := strings.TrimSuffix(tc.file, ".gz")
			want := i18n.M("pipeline.deliver.failed", name, "shadowserver", tc.reason)
			letters, err := s.ListDeadLetters(t.Context(), store.DeadLetterQuery{Feed: "shadowserver"})
			if err != nil {
				t.Fatal(err)
			}
			if len(letters) != 1 || letters[0].Problem.Encode() != want.Encode() || letters[0].Error != want.String() {
				t.Fatalf("dead letters %+v, want one that says %q", letters, want.String())
			}
			saysInEveryLanguage(t, feedStatus(t, s), want)
		})
	}
	t.Run("a gzip file that is none", func(t *testing.T) {
		s := openStore(t)
		env := inboxEnv(t, s)
		writeFile(t, filepath.Join(env.DataDir, "inbox", "shadowserver", "list.csv.gz"), []byte{0x1f, 0x8b, 'n', 'o'})
		if err := newTestInbox(t, env, nil).Fetch(t.Context(), newAutoRunner(t, s).Deliver); err != nil {
			t.Fatal(err)
		}
		saysInEveryLanguage(t, feedStatus(t, s), i18n.M("collector.gunzip", "list.csv.gz", "unexpected EOF"))
	})
	t.Run("the inbox cannot be made", func(t *testing.T) {
		env := inboxEnv(t, openStore(t))
		// A file where the inbox's directory should be.
		blocked := filepath.Join(env.DataDir, "inbox")
		writeFile(t, blocked, []byte("x"))
		err := newTestInbox(t, env, nil).Fetch(t.Context(), (&recorder{}).deliver)
		m, ok := i18n.Said(err)
		if !ok || m.ID != "collector.inbox.mkdir" || !strings.Contains(err.Error(), "not a directory") {
			t.Fatalf("err %v, message %v: want the directories that could not be made", err, m)
		}
		for _, lang := range i18n.Codes[1:] {
			if said := m.In(i18n.Embedded(), lang); said == m.String() || !strings.Contains(said, "not a directory") {
				t.Errorf("%s: %q", lang, said)
			}
		}
	})
}

// newAutoRunner is a pipeline whose feed shadowserver reads what the
// default inbox reads: its parser recognises a file by its name.
func newAutoRunner(t *testing.T, s store.Store) *pipeline.Runner {
	t.Helper()
	env := pipeline.Env{Store: s, Logger: testLogger(t), Now: fixedNow}
	parser, err := pipeline.NewParser("auto", env, pipeline.Options{})
	if err != nil {
		t.Fatal(err)
	}
	runner := pipeline.NewRunner(pipeline.RunnerConfig{
		Env:       env,
		Transport: pipeline.NewLocal(2),
		Feeds:     []*pipeline.Feed{{Name: "shadowserver", ParserID: "auto", Parser: parser}},
		BatchSize: 10, Workers: 1,
	})
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		runner.Work(ctx)
	}()
	t.Cleanup(func() {
		stop()
		<-done
	})
	return runner
}
