package collector

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/pipeline"
)

func TestShadowserverAPI(t *testing.T) {
	t.Run("fetches every listed report once, across restarts", testShadowserverAPIFetchesEveryListedReportOnce)
	t.Run("a failed download is retried at the next run and does not stop the others", testShadowserverAPIFailedDownloadRetriedNextRun)
	t.Run("a report is remembered only once the pipeline took it", testShadowserverAPIRemembersOnlyWhatPipelineTook)
	t.Run("a wrong secret is a clear error on the feeds page", testShadowserverAPIWrongSecretClearErrorFeeds)
	t.Run("an unknown API key is a clear error and is not echoed", testShadowserverAPIUnknownAPIKeyClearError)
	t.Run("a report over max_size is refused with a clear error", testShadowserverAPIReportOverMaxSizeRefused)
	t.Run("format json downloads signed through reports/download", testShadowserverAPIFormatJSONDownloadsSigned)
	t.Run("an error object instead of a report is an error, and the others go on", testShadowserverAPIErrorObjectInsteadReportError)
	t.Run("types and reports narrow the list", testShadowserverAPITypesReportsNarrowList)
	t.Run("ids of reports long out of the range are forgotten", testShadowserverAPIForgetsIDsLongOutOfRange)
	t.Run("run repeats on its interval until stopped", testShadowserverAPIRunRepeatsIntervalUntilStopped)
}

// testShadowserverAPIFetchesEveryListedReportOnce: fetches every listed report once, across restarts.
func testShadowserverAPIFetchesEveryListedReportOnce(t *testing.T) {
	ctx := context.Background()
	api := startReportsAPI(t, rdpReport, smbReport, sinkholeReport, oldReport)
	s := openStore(t)
	var rec recorder
	c, _ := newTestReportsCollector(t, s, reportsOptions(api))
	if err := c.Fetch(ctx, rec.deliver); err != nil {
		t.Fatal(err)
	}
	// Oldest first; the report from before the range is not listed.
	want := deliveredOf("shadowserver", sinkholeReport, rdpReport, smbReport)
	if got := rec.all(); !slices.Equal(got, want) {
		t.Fatalf("delivered %v, want %v", got, want)
	}
	lists := api.listRequests()
	if len(lists) != 1 || lists[0]["date"] != "2026-11-18:2026-11-20" || lists[0]["apikey"] != testAPIKey {
		t.Errorf("list requests %v, want one for 2026-11-18:2026-11-20 with the key", lists)
	}
	if st := feedStatus(t, s); st.LastError != "" || !st.LastRun.Equal(fixedNow()) {
		t.Errorf("feed status %+v, want a clean run at %v", st, fixedNow())
	}

	// A restart: a new collector on the same store fetches nothing.
	c, _ = newTestReportsCollector(t, s, reportsOptions(api))
	if err := c.Fetch(ctx, rec.deliver); err != nil {
		t.Fatal(err)
	}
	if got := len(rec.all()); got != 3 {
		t.Errorf("delivered %d reports after the restart, want still 3", got)
	}
	for _, r := range []fakeReport{rdpReport, smbReport, sinkholeReport} {
		if n := api.downloadCount(r.ID); n != 1 {
			t.Errorf("report %s downloaded %d times, want 1", r.ID, n)
		}
	}

	// A new report appears and is the only one fetched.
	later := fakeReport{ID: "e5", Type: "scan_rdp", Date: "2026-11-20", List: "belgium",
		File: "2026-11-20-scan_rdp-belgium-asn.csv", Body: []byte("timestamp,ip,port\n2026-11-20 01:00:00,198.51.100.50,3389\n")}
	api.add(later)
	if err := c.Fetch(ctx, rec.deliver); err != nil {
		t.Fatal(err)
	}
	want = append(want, deliveredOf("shadowserver", later)...)
	if got := rec.all(); !slices.Equal(got, want) {
		t.Errorf("delivered %v, want %v", got, want)
	}
}

// testShadowserverAPIFailedDownloadRetriedNextRun: a failed download is retried at the next run and does not stop the others.
func testShadowserverAPIFailedDownloadRetriedNextRun(t *testing.T) {
	ctx := context.Background()
	api := startReportsAPI(t, rdpReport, smbReport, sinkholeReport)
	api.failDownloads(rdpReport.ID, 1)
	s := openStore(t)
	var rec recorder
	c, _ := newTestReportsCollector(t, s, reportsOptions(api))
	err := c.Fetch(ctx, rec.deliver)
	if err == nil || !strings.Contains(err.Error(), rdpReport.File) || !strings.Contains(err.Error(), "503") {
		t.Fatalf("err = %v, want the failed report named with the server's answer", err)
	}
	if got, want := rec.all(), deliveredOf("shadowserver", sinkholeReport, smbReport); !slices.Equal(got, want) {
		t.Fatalf("delivered %v, want %v", got, want)
	}
	if st := feedStatus(t, s); !strings.Contains(st.LastError, rdpReport.File) {
		t.Errorf("feed error %q, want the failed report named", st.LastError)
	}

	if err := c.Fetch(ctx, rec.deliver); err != nil {
		t.Fatal(err)
	}
	if got, want := rec.all(), deliveredOf("shadowserver", sinkholeReport, smbReport, rdpReport); !slices.Equal(got, want) {
		t.Errorf("delivered %v, want %v", got, want)
	}
	if st := feedStatus(t, s); st.LastError != "" {
		t.Errorf("feed error %q after the retry succeeded, want none", st.LastError)
	}
}

// testShadowserverAPIRemembersOnlyWhatPipelineTook: a report is remembered only once the pipeline took it.
func testShadowserverAPIRemembersOnlyWhatPipelineTook(t *testing.T) {
	ctx := context.Background()
	api := startReportsAPI(t, rdpReport, smbReport)
	s := openStore(t)
	refuse := true
	rec := recorder{fail: func(in pipeline.Input) error {
		if refuse && in.Name == rdpReport.File {
			return errors.New("bus unavailable")
		}
		return nil
	}}
	c, _ := newTestReportsCollector(t, s, reportsOptions(api))
	if err := c.Fetch(ctx, rec.deliver); err == nil || !strings.Contains(err.Error(), "bus unavailable") {
		t.Fatalf("err = %v, want the delivery's error", err)
	}
	refuse = false
	c, _ = newTestReportsCollector(t, s, reportsOptions(api))
	if err := c.Fetch(ctx, rec.deliver); err != nil {
		t.Fatal(err)
	}
	if got, want := rec.all(), deliveredOf("shadowserver", smbReport, rdpReport); !slices.Equal(got, want) {
		t.Errorf("delivered %v, want %v", got, want)
	}
	if n := api.downloadCount(rdpReport.ID); n != 2 {
		t.Errorf("refused report downloaded %d times, want 2", n)
	}
}

// testShadowserverAPIWrongSecretClearErrorFeeds: a wrong secret is a clear error on the feeds page.
func testShadowserverAPIWrongSecretClearErrorFeeds(t *testing.T) {
	ctx := context.Background()
	api := startReportsAPI(t, rdpReport)
	s := openStore(t)
	opts := reportsOptions(api)
	opts["secret"] = "the-wrong-secret-value"
	var rec recorder
	c, logs := newTestReportsCollector(t, s, opts)
	err := c.Fetch(ctx, rec.deliver)
	var apiErr *ReportsAPIError
	if !errors.As(err, &apiErr) || !apiErr.Credentials() || apiErr.Status != http.StatusUnauthorized {
		t.Fatalf("err = %v, want a refusal of the credentials", err)
	}
	st := feedStatus(t, s)
	if !strings.Contains(st.LastError, "the Reports API refused the request signature: check secret") {
		t.Errorf("feed error %q, want the cause named", st.LastError)
	}
	if len(rec.all()) != 0 || api.downloadCount(rdpReport.ID) != 0 {
		t.Error("a report was downloaded with a refused signature")
	}
	for where, text := range map[string]string{"feed error": st.LastError, "log": logs.String()} {
		for _, secret := range []string{"the-wrong-secret-value", testSecret, testAPIKey} {
			if strings.Contains(text, secret) {
				t.Errorf("%s holds a credential: %s", where, text)
			}
		}
	}
	if !strings.Contains(logs.String(), "check secret") {
		t.Errorf("the log does not name the cause:\n%s", logs.String())
	}
}

// testShadowserverAPIUnknownAPIKeyClearError: an unknown API key is a clear error and is not echoed.
func testShadowserverAPIUnknownAPIKeyClearError(t *testing.T) {
	ctx := context.Background()
	api := startReportsAPI(t, rdpReport)
	s := openStore(t)
	opts := reportsOptions(api)
	// The fake signs with one secret for every key, as if the key
	// had been revoked: it answers with an error object and 200.
	opts["api_key"] = "revoked-key-0042"
	var rec recorder
	c, _ := newTestReportsCollector(t, s, opts)
	if err := c.Fetch(ctx, rec.deliver); err == nil {
		t.Fatal("no error")
	}
	st := feedStatus(t, s)
	if !strings.Contains(st.LastError, "the Reports API refused the API key: check api_key") {
		t.Errorf("feed error %q, want the cause named", st.LastError)
	}
	if strings.Contains(st.LastError, "revoked-key-0042") {
		t.Errorf("feed error %q holds the API key the API echoed", st.LastError)
	}
}

// testShadowserverAPIReportOverMaxSizeRefused: a report over max_size is refused with a clear error.
func testShadowserverAPIReportOverMaxSizeRefused(t *testing.T) {
	ctx := context.Background()
	big := fakeReport{ID: "f6", Type: "scan_http", Date: "2026-11-20", List: "belgium",
		File: "2026-11-20-scan_http-belgium-geo.csv", Body: []byte("timestamp,ip\n" + strings.Repeat("2026-11-20 00:00:00,198.51.100.1\n", 200))}
	bomb := fakeReport{ID: "g7", Type: "scan_ssl", Date: "2026-11-20", List: "belgium",
		File: "2026-11-20-scan_ssl-belgium-geo.csv.gz", Body: gzipped(t, strings.Repeat("0", 1<<20))}
	api := startReportsAPI(t, big, bomb, rdpReport)
	s := openStore(t)
	opts := reportsOptions(api)
	opts["max_size"] = 2000
	var rec recorder
	c, _ := newTestReportsCollector(t, s, opts)
	err := c.Fetch(ctx, rec.deliver)
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "2 reports failed") {
		t.Fatalf("err = %v, want two reports over the limit", err)
	}
	st := feedStatus(t, s)
	if !strings.Contains(st.LastError, "max_size") || !strings.Contains(st.LastError, "scan_") {
		t.Errorf("feed error %q, want the report and the limit named", st.LastError)
	}
	if got, want := rec.all(), deliveredOf("shadowserver", rdpReport); !slices.Equal(got, want) {
		t.Errorf("delivered %v, want only the small report", got)
	}
	// Not remembered: a larger limit takes them at the next run.
	opts["max_size"] = 2 << 20
	c, _ = newTestReportsCollector(t, s, opts)
	if err := c.Fetch(ctx, rec.deliver); err != nil {
		t.Fatal(err)
	}
	got := rec.all()
	if len(got) != 3 || got[1].Name != big.File || got[2].Name != "2026-11-20-scan_ssl-belgium-geo.csv" || len(got[2].Body) != 1<<20 {
		t.Fatalf("after raising max_size delivered %d reports, want the two refused ones, the gzip one decompressed", len(got))
	}
}

// testShadowserverAPIFormatJSONDownloadsSigned: format json downloads signed through reports/download.
func testShadowserverAPIFormatJSONDownloadsSigned(t *testing.T) {
	ctx := context.Background()
	api := startReportsAPI(t, rdpReport)
	s := openStore(t)
	opts := reportsOptions(api)
	opts["format"] = "json"
	var rec recorder
	c, _ := newTestReportsCollector(t, s, opts)
	if err := c.Fetch(ctx, rec.deliver); err != nil {
		t.Fatal(err)
	}
	got := rec.all()
	if len(got) != 1 || got[0].Name != "2026-11-20-scan_rdp-belgium-geo.json" {
		t.Fatalf("delivered %v, want the report under its .json name", got)
	}
	var rows []map[string]string
	if err := json.Unmarshal([]byte(got[0].Body), &rows); err != nil || len(rows) != 1 || rows[0]["ip"] != "198.51.100.13" {
		t.Errorf("body %q, want the report's row as JSON (%v)", got[0].Body, err)
	}
}

// testShadowserverAPIErrorObjectInsteadReportError: an error object instead of a report is an error, and the others go on.
func testShadowserverAPIErrorObjectInsteadReportError(t *testing.T) {
	ctx := context.Background()
	expired := fakeReport{ID: "x9", Type: "scan_smb", Date: "2026-11-19", List: "belgium",
		File: "2026-11-19-scan_smb-belgium-geo.csv"}
	api := startReportsAPI(t, expired, rdpReport)
	s := openStore(t)
	opts := reportsOptions(api)
	opts["format"] = "json"
	var rec recorder
	c, _ := newTestReportsCollector(t, s, opts)
	err := c.Fetch(ctx, rec.deliver)
	want := `report 2026-11-19-scan_smb-belgium-geo.json (id x9): the Reports API refused the request (reports/download answered HTTP 200: "report expired")`
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %s", err, want)
	}
	if got := rec.all(); len(got) != 1 || got[0].Name != "2026-11-20-scan_rdp-belgium-geo.json" {
		t.Errorf("delivered %v, want the other report", got)
	}
}

// testShadowserverAPITypesReportsNarrowList: types and reports narrow the list.
func testShadowserverAPITypesReportsNarrowList(t *testing.T) {
	ctx := context.Background()
	other := fakeReport{ID: "h8", Type: "scan_rdp", Date: "2026-11-20", List: "wallonia",
		File: "2026-11-20-scan_rdp-wallonia-geo.csv", Body: []byte("timestamp,ip,port\n")}
	api := startReportsAPI(t, rdpReport, smbReport, sinkholeReport, other)
	s := openStore(t)
	var rec recorder

	opts := reportsOptions(api)
	opts["types"] = []any{"scan_rdp"}
	opts["reports"] = []any{"belgium"}
	c, _ := newTestReportsCollector(t, s, opts)
	if err := c.Fetch(ctx, rec.deliver); err != nil {
		t.Fatal(err)
	}
	if got, want := rec.all(), deliveredOf("shadowserver", rdpReport); !slices.Equal(got, want) {
		t.Errorf("delivered %v, want %v", got, want)
	}
	req := api.listRequests()[0]
	if req["type"] != "scan_rdp" || !slices.Equal(req["reports"].([]any), []any{"belgium"}) {
		t.Errorf("list request %v, want type scan_rdp and reports [belgium]", req)
	}

	// Several types are picked from the whole list.
	opts["types"] = []any{"scan_smb", "event4_sinkhole"}
	c, _ = newTestReportsCollector(t, s, opts)
	if err := c.Fetch(ctx, rec.deliver); err != nil {
		t.Fatal(err)
	}
	if got, want := rec.all(), deliveredOf("shadowserver", rdpReport, sinkholeReport, smbReport); !slices.Equal(got, want) {
		t.Errorf("delivered %v, want %v", got, want)
	}
}

// testShadowserverAPIForgetsIDsLongOutOfRange: ids of reports long out of the range are forgotten.
func testShadowserverAPIForgetsIDsLongOutOfRange(t *testing.T) {
	ctx := context.Background()
	api := startReportsAPI(t, rdpReport)
	s := openStore(t)
	prefix := "collector/shadowserver_api/shadowserver/"
	for id, date := range map[string]string{"old": "2026-11-01", "recent": "2026-11-15"} {
		raw, _ := json.Marshal(fetchedReport{Date: date, File: date + "-scan_rdp.csv"})
		if err := s.PutState(ctx, prefix+id, raw); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.PutState(ctx, prefix+"unreadable", []byte("{")); err != nil {
		t.Fatal(err)
	}
	var rec recorder
	c, _ := newTestReportsCollector(t, s, reportsOptions(api))
	if err := c.Fetch(ctx, rec.deliver); err != nil {
		t.Fatal(err)
	}
	state, err := s.ListState(ctx, prefix)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for key := range state {
		ids = append(ids, strings.TrimPrefix(key, prefix))
	}
	slices.Sort(ids)
	// The range starts 2026-11-18; a week's margin keeps 2026-11-11 on.
	if want := []string{rdpReport.ID, "recent"}; !slices.Equal(ids, want) {
		t.Errorf("remembered ids %v, want %v", ids, want)
	}
}

// testShadowserverAPIRunRepeatsIntervalUntilStopped: run repeats on its interval until stopped.
func testShadowserverAPIRunRepeatsIntervalUntilStopped(t *testing.T) {
	ctx := context.Background()
	api := startReportsAPI(t, rdpReport)
	s := openStore(t)
	opts := reportsOptions(api)
	opts["interval"] = "20ms"
	var rec recorder
	c, _ := newTestReportsCollector(t, s, opts)
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- c.Run(runCtx, rec.deliver) }()
	waitFor(t, "a first delivery", func() bool { return len(rec.all()) == 1 })
	api.add(smbReport)
	waitFor(t, "the new report at a later run", func() bool { return len(rec.all()) == 2 })
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
	if n := len(api.listRequests()); n < 2 {
		t.Errorf("listed %d times, want at least 2", n)
	}
}

func TestShadowserverAPICredentials(t *testing.T) {
	ctx := context.Background()
	api := startReportsAPI(t, rdpReport)

	t.Run("from an environment variable", func(t *testing.T) {
		t.Setenv("VIGIL_TEST_SHADOWSERVER_SECRET", testSecret+"\n")
		s := openStore(t)
		var rec recorder
		c, _ := newTestReportsCollector(t, s, pipeline.Options{
			"api_key": testAPIKey, "secret_env": "VIGIL_TEST_SHADOWSERVER_SECRET", "base_url": api.baseURL()})
		if err := c.Fetch(ctx, rec.deliver); err != nil || len(rec.all()) != 1 {
			t.Fatalf("err = %v, delivered %d; want the signature accepted", err, len(rec.all()))
		}
	})

	t.Run("from files", func(t *testing.T) {
		dir := t.TempDir()
		keyFile, secretFile := filepath.Join(dir, "key"), filepath.Join(dir, "secret")
		if err := os.WriteFile(keyFile, []byte(testAPIKey+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(secretFile, []byte(testSecret+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		s := openStore(t)
		var rec recorder
		c, logs := newTestReportsCollector(t, s, pipeline.Options{
			"api_key_file": keyFile, "secret_file": secretFile, "base_url": api.baseURL()})
		if err := c.Fetch(ctx, rec.deliver); err != nil || len(rec.all()) != 1 {
			t.Fatalf("err = %v, delivered %d; want the signature accepted", err, len(rec.all()))
		}
		if strings.Contains(logs.String(), "readable by others") {
			t.Errorf("a warning about files of mode 0600:\n%s", logs.String())
		}

		// A secret file others may read is accepted with a warning.
		if err := os.Chmod(secretFile, 0o644); err != nil {
			t.Fatal(err)
		}
		_, logs = newTestReportsCollector(t, s, pipeline.Options{
			"api_key_file": keyFile, "secret_file": secretFile, "base_url": api.baseURL()})
		if !strings.Contains(logs.String(), "readable by others") || !strings.Contains(logs.String(), "option=secret_file") {
			t.Errorf("no warning about the secret file of mode 0644:\n%s", logs.String())
		}
		if strings.Contains(logs.String(), testSecret) {
			t.Errorf("the log holds the secret:\n%s", logs.String())
		}
	})
}

func TestShadowserverAPIOptions(t *testing.T) {
	s := openStore(t)
	env := pipeline.Env{Store: s, Logger: testLogger(t)}
	t.Setenv("VIGIL_TEST_EMPTY", "")
	good := func(extra pipeline.Options) pipeline.Options {
		opts := pipeline.Options{"api_key": "k", "secret": "top-secret-value"}
		for k, v := range extra {
			opts[k] = v
		}
		return opts
	}
	for name, tc := range map[string]struct {
		opts pipeline.Options
		want string
	}{
		"unknown option":      {good(pipeline.Options{"intervall": "1h"}), "unknown option intervall"},
		"no secret":           {pipeline.Options{"api_key": "k"}, "secret is missing"},
		"no key":              {pipeline.Options{"secret": "s"}, "api_key is missing"},
		"secret twice":        {good(pipeline.Options{"secret_env": "VIGIL_TEST_EMPTY"}), "set only one of the options secret"},
		"empty variable":      {pipeline.Options{"api_key": "k", "secret_env": "VIGIL_TEST_EMPTY"}, "VIGIL_TEST_EMPTY is empty or not set"},
		"missing secret file": {pipeline.Options{"api_key": "k", "secret_file": "/nonexistent/secret"}, "secret_file"},
		"format":              {good(pipeline.Options{"format": "xml"}), "format"},
		"no days":             {good(pipeline.Options{"days": 0}), "option days: want 1 to 60, got 0"},
		"too many days":       {good(pipeline.Options{"days": 61}), "option days: want 1 to 60, got 61"},
		"base url":            {good(pipeline.Options{"base_url": "ftp://example.org/"}), "base_url"},
		"bad interval":        {good(pipeline.Options{"interval": "hourly"}), "interval"},
		"empty type":          {good(pipeline.Options{"types": []any{""}}), "empty name"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := pipeline.NewCollector("shadowserver_api", env, "f", tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to say %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "top-secret-value") {
				t.Errorf("error %q holds the secret", err)
			}
		})
	}

	t.Run("defaults", func(t *testing.T) {
		c, err := pipeline.NewCollector("shadowserver_api", env, "f", good(nil))
		if err != nil {
			t.Fatal(err)
		}
		api := c.(*ShadowserverAPI)
		if api.cfg.BaseURL != DefaultShadowserverAPIURL || api.cfg.Days != 2 || api.cfg.Format != "csv" ||
			api.cfg.Interval != time.Hour || api.cfg.MaxSize != DefaultShadowserverAPIMaxSize {
			t.Errorf("defaults %+v", api)
		}
	})
}

func TestSignShadowserverRequest(t *testing.T) {
	// RFC 4231 test case 2: HMAC-SHA256 of "what do ya want for nothing?"
	// under the key "Jefe".
	got := SignShadowserverRequest("Jefe", []byte("what do ya want for nothing?"))
	if want := "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"; got != want {
		t.Errorf("signature %s, want %s", got, want)
	}
}

func TestShadowserverAPIInputName(t *testing.T) {
	for _, tc := range []struct {
		format string
		entry  reportEntry
		want   string
	}{
		{"csv", reportEntry{ID: "1", Type: "scan_rdp", File: "2026-11-20-scan_rdp-belgium-geo.csv"}, "2026-11-20-scan_rdp-belgium-geo.csv"},
		{"csv", reportEntry{ID: "1", Type: "scan_rdp", File: "2026-11-20-scan_rdp-belgium-geo.csv.gz"}, "2026-11-20-scan_rdp-belgium-geo.csv.gz"},
		{"json", reportEntry{ID: "1", Type: "scan_rdp", File: "2026-11-20-scan_rdp-belgium-geo.csv"}, "2026-11-20-scan_rdp-belgium-geo.json"},
		{"json", reportEntry{ID: "1", Type: "scan_rdp", File: "2026-11-20-scan_rdp-belgium-geo.csv.gz"}, "2026-11-20-scan_rdp-belgium-geo.json"},
		{"csv", reportEntry{ID: "1", Type: "scan_rdp", File: "../../etc/2026-11-20-scan_rdp.csv"}, "2026-11-20-scan_rdp.csv"},
		{"csv", reportEntry{ID: "1", Type: "scan_smb", Timestamp: "2026-11-19", File: "belgium.csv"}, "2026-11-19-scan_smb-belgium.csv"},
		{"csv", reportEntry{ID: "7", Type: "scan_smb", Timestamp: "2026-11-19"}, "2026-11-19-scan_smb-report-7.csv"},
		{"csv", reportEntry{ID: "7"}, "report-7.csv"},
	} {
		c := &ShadowserverAPI{cfg: ShadowserverAPIConfig{Format: tc.format}, now: fixedNow}
		if got := c.inputName(tc.entry); got != tc.want {
			t.Errorf("%s %+v: name %q, want %q", tc.format, tc.entry, got, tc.want)
		}
	}
}
