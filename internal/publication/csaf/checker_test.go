package csaf

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/pgpmime"
	"github.com/vigil-cert/vigil/internal/publication"
)

// checkerReport is the part of csaf_checker's JSON report the test reads.
type checkerReport struct {
	Domains []struct {
		Name         string `json:"name"`
		Role         string `json:"role"`
		Passed       bool   `json:"passed"`
		Requirements []struct {
			Num         int    `json:"num"`
			Description string `json:"description"`
			Messages    []struct {
				Type int    `json:"type"`
				Text string `json:"text"`
			} `json:"messages"`
		} `json:"requirements"`
	} `json:"domains"`
}

// errorType is the checker's MessageType of an error.
const errorType = 2

// buildChecker builds gocsaf's csaf_checker from the module cache (the
// module is a tool of go.mod, at v3.7.0).
func buildChecker(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to build csaf_checker: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "csaf_checker")
	cmd := exec.Command(goTool, "build", "-o", bin, "github.com/gocsaf/csaf/v3/cmd/csaf_checker")
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local", "GOFLAGS=-mod=readonly")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build csaf_checker: %v\n%s", err, out)
	}
	return bin
}

// runChecker checks the provider-metadata.json at url and returns the
// report.
func runChecker(t *testing.T, bin, url string) checkerReport {
	t.Helper()
	out := filepath.Join(t.TempDir(), "report.json")
	cmd := exec.Command(bin, "--insecure", "-f", "json", "-o", out, url)
	cmd.Env = append(os.Environ(), "HTTPS_PROXY=", "https_proxy=", "NO_PROXY=*")
	if log, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("csaf_checker: %v\n%s", err, log)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv("CSAF_DUMP") != "" {
		t.Logf("%s", data)
	}
	var r checkerReport
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatalf("report: %v\n%s", err, data)
	}
	if len(r.Domains) != 1 {
		t.Fatalf("report has %d domains:\n%s", len(r.Domains), data)
	}
	return r
}

// errorsOf lists the requirements with errors, as "num description: text".
func errorsOf(r checkerReport) []string {
	var out []string
	for _, req := range r.Domains[0].Requirements {
		for _, m := range req.Messages {
			if m.Type == errorType {
				out = append(out, req.Description+": "+m.Text)
			}
		}
	}
	return out
}

// checkerServer serves the provider and security.txt over HTTPS on
// 127.0.0.1, with two advisories, a warning, and publications that are
// not public (GREEN, AMBER, withdrawn, news); tamper, when set, breaks
// the .sha512 files.
func checkerServer(t *testing.T, id *pgpmime.Identity, tamper *atomic.Bool) (*httptest.Server, *Provider) {
	t.Helper()
	src := &fakeSource{revs: map[int64][]publication.Revision{}}
	var prov *Provider
	mux := http.NewServeMux()
	mux.Handle("/.well-known/csaf/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tamper.Load() && strings.HasSuffix(r.URL.Path, ".sha512") {
			w.Header().Set("Content-Type", "text/plain")
			_, _ = w.Write([]byte(strings.Repeat("ab", 64) + "  x.json\n"))
			return
		}
		prov.ServeHTTP(w, r)
	}))
	srv := httptest.NewUnstartedServer(mux)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	mux.HandleFunc("/.well-known/security.txt", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("Contact: mailto:cert@cert.example\nExpires: 2030-01-01T00:00:00Z\nCSAF: " + ProviderMetadataURL(srv.URL) + "\n"))
	})
	src.add(testAdvisory("VIGIL-2025-0107", time.Date(2025, 11, 2, 8, 0, 0, 0, time.UTC)))
	src.revs[1] = []publication.Revision{{Number: 1, Published: time.Date(2025, 11, 2, 8, 0, 0, 0, time.UTC), Note: "First version"},
		{Number: 2, Published: time.Date(2025, 11, 4, 8, 0, 0, 0, time.UTC), Note: "Fixed version named", Content: publication.Content{TLP: publication.TLPClear}}}
	src.add(testAdvisory("VIGIL-2026-0042", t0))
	src.add(testWarning("VIGIL-2026-0043", t0.Add(time.Hour)))
	green := testAdvisory("VIGIL-2026-0044", t0)
	green.TLP = publication.TLPGreen
	src.add(green)
	amber := testWarning("VIGIL-2026-0045", t0)
	amber.TLP = publication.TLPAmber
	src.add(amber)
	news := testWarning("VIGIL-2026-0046", t0)
	news.Kind = publication.KindNews
	src.add(news)
	withdrawn := testAdvisory("VIGIL-2026-0047", t0)
	withdrawn.Status = publication.StatusWithdrawn
	src.add(withdrawn)
	prov = NewProvider(src, Config{
		Publisher: testPublisher(srv.URL),
		Identity:  func(context.Context) (*pgpmime.Identity, error) { return id, nil },
	})
	return srv, prov
}

// TestCheckerPassesTrustedProvider is the acceptance test:
// gocsaf's csaf_checker, built from the module, finds the provider a
// trusted provider without a single error; with broken hashes it fails.
func TestCheckerPassesTrustedProvider(t *testing.T) {
	bin := buildChecker(t)
	id := testIdentity(t)
	var tamper atomic.Bool
	srv, prov := checkerServer(t, id, &tamper)
	url := ProviderMetadataURL(srv.URL)

	r := runChecker(t, bin, url)
	d := r.Domains[0]
	if errs := errorsOf(r); len(errs) > 0 || !d.Passed {
		t.Fatalf("checker: passed=%v, errors:\n%s", d.Passed, strings.Join(errs, "\n"))
	}
	if d.Role != "csaf_trusted_provider" {
		t.Errorf("role = %q", d.Role)
	}
	if got := len(d.Requirements); got < 20 {
		t.Errorf("the checker reported %d requirements, want all 20 of a trusted provider", got)
	}
	for _, req := range d.Requirements {
		for _, m := range req.Messages {
			if m.Type == errorType-1 && m.Text != "No remote validator configured" {
				t.Errorf("checker warns: %s: %s", req.Description, m.Text)
			}
		}
	}
	if prov.Skipped() != 0 {
		t.Errorf("%d publications left out", prov.Skipped())
	}

	// Given the domain rather than the file, the checker also reads
	// security.txt and the .well-known path; only the DNS name
	// csaf.data.security.127.0.0.1 cannot exist here.
	r = runChecker(t, bin, strings.TrimPrefix(srv.URL, "https://"))
	if !r.Domains[0].Passed {
		t.Errorf("checker, by domain: not passed: %v", errorsOf(r))
	}
	for _, req := range r.Domains[0].Requirements {
		for _, m := range req.Messages {
			if m.Type == errorType && req.Num != 10 {
				t.Errorf("checker, by domain: %s: %s", req.Description, m.Text)
			}
		}
	}

	// The same provider with wrong hashes must fail: the test can fail.
	tamper.Store(true)
	r = runChecker(t, bin, url)
	if r.Domains[0].Passed || !strings.Contains(strings.Join(errorsOf(r), "\n"), "SHA512 hash of") {
		t.Errorf("checker passed a provider with wrong hashes: %v", errorsOf(r))
	}
}
