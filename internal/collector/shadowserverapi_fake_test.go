package collector

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/vigil-cert/vigil/internal/pipeline"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/syncbuf"
)

// Credentials of the fake Reports API.
const (
	testAPIKey = "key-4711-abcdef"
	testSecret = "s3cret-for-the-test-only"
)

// fakeReport is one report the fake Reports API holds.
type fakeReport struct {
	ID, Type, File, Date, List string
	Body                       []byte
}

// fakeReportsAPI is a local stand-in for Shadowserver's Reports API. It
// checks the HMAC2 signature of every API request against its own secret
// and refuses a wrong one as the real API refuses it, lists reports by
// date range, type and list, and serves each report as CSV from a
// download link and as JSON rows from reports/download.
type fakeReportsAPI struct {
	mu      sync.Mutex
	reports []fakeReport
	// badKeyAnswer: refuse an unknown key with an error object and 200,
	// where a bad signature gets 401.
	failNext  map[string]int // id → downloads to fail with 503
	lists     []map[string]any
	downloads map[string]int // id → successful downloads (link or API)
	refused   int
	srv       *httptest.Server
}

func startReportsAPI(t *testing.T, reports ...fakeReport) *fakeReportsAPI {
	t.Helper()
	api := &fakeReportsAPI{reports: reports, failNext: map[string]int{}, downloads: map[string]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api2/reports/list", api.list)
	mux.HandleFunc("POST /api2/reports/download", api.download)
	mux.HandleFunc("GET /dl/{id}", api.link)
	api.srv = httptest.NewServer(mux) // listens on 127.0.0.1
	t.Cleanup(api.srv.Close)
	return api
}

func (a *fakeReportsAPI) baseURL() string { return a.srv.URL + "/api2/" }

func (a *fakeReportsAPI) add(r fakeReport) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.reports = append(a.reports, r)
}

func (a *fakeReportsAPI) failDownloads(id string, n int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.failNext[id] = n
}

func (a *fakeReportsAPI) downloadCount(id string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.downloads[id]
}

func (a *fakeReportsAPI) listRequests() []map[string]any {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.lists)
}

// authenticate reads and checks a request the way the real API does:
// the signature is HMAC-SHA256 of the exact body under the key's secret.
// It writes the refusal itself and returns nil when the request fails.
func (a *fakeReportsAPI) authenticate(w http.ResponseWriter, r *http.Request) map[string]any {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "read", http.StatusBadRequest)
		return nil
	}
	mac := hmac.New(sha256.New, []byte(testSecret))
	mac.Write(body)
	want := hex.EncodeToString(mac.Sum(nil))
	if !hmac.Equal([]byte(r.Header.Get("HMAC2")), []byte(want)) {
		a.refused++
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"error":"HMAC validation failed"}`)
		return nil
	}
	var request map[string]any
	if err := json.Unmarshal(body, &request); err != nil {
		http.Error(w, `{"error":"invalid JSON"}`, http.StatusBadRequest)
		return nil
	}
	if request["apikey"] != testAPIKey {
		// The signature matched, so the secret was right for this body,
		// but the key is not one the API knows.
		a.refused++
		io.WriteString(w, `{"error":"Invalid apikey `+request["apikey"].(string)+`"}`)
		return nil
	}
	return request
}

func (a *fakeReportsAPI) list(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	request := a.authenticate(w, r)
	if request == nil {
		return
	}
	a.lists = append(a.lists, request)
	dates, _ := request["date"].(string)
	first, last, ok := strings.Cut(dates, ":")
	if !ok {
		first, last = dates, dates
	}
	var lists []string
	if l, ok := request["reports"].([]any); ok {
		for _, x := range l {
			lists = append(lists, x.(string))
		}
	}
	typ, _ := request["type"].(string)
	out := []map[string]string{}
	for _, rep := range a.reports {
		if rep.Date < first || rep.Date > last || typ != "" && rep.Type != typ ||
			len(lists) > 0 && !slices.Contains(lists, rep.List) {
			continue
		}
		out = append(out, map[string]string{
			"id": rep.ID, "type": rep.Type, "file": rep.File, "report": rep.List,
			"timestamp": rep.Date, "url": a.srv.URL + "/dl/" + rep.ID,
		})
	}
	json.NewEncoder(w).Encode(out)
}

// failing reports whether the next download of id is to fail.
func (a *fakeReportsAPI) failing(id string) bool {
	if a.failNext[id] > 0 {
		a.failNext[id]--
		return true
	}
	return false
}

func (a *fakeReportsAPI) report(id string) (fakeReport, bool) {
	for _, rep := range a.reports {
		if rep.ID == id {
			return rep, true
		}
	}
	return fakeReport{}, false
}

// link serves a report's CSV as dl.shadowserver.org does.
func (a *fakeReportsAPI) link(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	id := r.PathValue("id")
	rep, ok := a.report(id)
	if !ok {
		http.NotFound(w, r)
		return
	}
	if a.failing(id) {
		http.Error(w, "try later", http.StatusServiceUnavailable)
		return
	}
	a.downloads[id]++
	w.Write(rep.Body)
}

// download answers reports/download with the report's rows as a JSON
// array, built here from the CSV so both forms hold the same rows.
func (a *fakeReportsAPI) download(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	request := a.authenticate(w, r)
	if request == nil {
		return
	}
	id, _ := request["id"].(string)
	rep, ok := a.report(id)
	if !ok {
		io.WriteString(w, `{"error":"unknown report id"}`)
		return
	}
	if a.failing(id) {
		http.Error(w, "try later", http.StatusServiceUnavailable)
		return
	}
	if rep.Body == nil {
		io.WriteString(w, `{"error":"report expired"}`)
		return
	}
	a.downloads[id]++
	lines := strings.Split(strings.TrimSpace(string(rep.Body)), "\n")
	header := strings.Split(lines[0], ",")
	var rows []map[string]string
	for _, line := range lines[1:] {
		row := map[string]string{}
		for i, cell := range strings.Split(line, ",") {
			row[header[i]] = cell
		}
		rows = append(rows, row)
	}
	json.NewEncoder(w).Encode(rows)
}

func newTestReportsCollector(t *testing.T, s store.Store, opts pipeline.Options) (*ShadowserverAPI, *syncbuf.Buffer) {
	t.Helper()
	logs := &syncbuf.Buffer{}
	logger := slog.New(slog.NewTextHandler(io.MultiWriter(logs, tWriter{t}), &slog.HandlerOptions{Level: slog.LevelDebug}))
	env := pipeline.Env{Store: s, Logger: logger, DataDir: t.TempDir(), HTTP: &http.Client{}, Now: fixedNow}
	c, err := pipeline.NewCollector("shadowserver_api", env, "shadowserver", opts)
	if err != nil {
		t.Fatal(err)
	}
	return c.(*ShadowserverAPI), logs
}

func reportsOptions(api *fakeReportsAPI) pipeline.Options {
	return pipeline.Options{"api_key": testAPIKey, "secret": testSecret, "base_url": api.baseURL()}
}

// Reports of the tests; fixedNow is 2026-11-20, so with the default two
// days the range listed is 2026-11-18 to 2026-11-20.
var (
	rdpReport = fakeReport{ID: "a1", Type: "scan_rdp", Date: "2026-11-20", List: "belgium",
		File: "2026-11-20-scan_rdp-belgium-geo.csv", Body: []byte("timestamp,ip,port\n2026-11-20 00:00:00,198.51.100.13,3389\n")}
	smbReport = fakeReport{ID: "b2", Type: "scan_smb", Date: "2026-11-20", List: "belgium",
		File: "2026-11-20-scan_smb-belgium-geo.csv", Body: []byte("timestamp,ip,port\n2026-11-20 00:00:05,198.51.100.20,445\n")}
	sinkholeReport = fakeReport{ID: "c3", Type: "event4_sinkhole", Date: "2026-11-19", List: "belgium",
		File: "2026-11-19-event4_sinkhole-belgium-geo.csv", Body: []byte("timestamp,src_ip,infection\n2026-11-19 10:00:00,198.51.100.30,andromeda\n")}
	oldReport = fakeReport{ID: "d4", Type: "scan_rdp", Date: "2026-11-10", List: "belgium",
		File: "2026-11-10-scan_rdp-belgium-geo.csv", Body: []byte("timestamp,ip,port\n2026-11-10 00:00:00,198.51.100.40,3389\n")}
)

func deliveredOf(feed string, reports ...fakeReport) []delivered {
	var out []delivered
	for _, r := range reports {
		out = append(out, delivered{feed, r.File, string(r.Body)})
	}
	return out
}
