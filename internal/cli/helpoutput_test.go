package cli

import (
	"crypto/tls"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/demo"
	"github.com/vigil-cert/vigil/internal/i18n"
)

// englishLabel is the text of a message before its first verb, the
// label a person reads ("events/s: " of "events/s: %.0f").
func englishLabel(id string) string {
	s := i18n.Embedded().Text(i18n.Source, id)
	if i := strings.Index(s, "%"); i >= 0 {
		s = s[:i]
	}
	return s
}

// TestBenchOutputTranslated: `vigil bench notify` and `bench ingest` with
// VIGIL_LANG=de label their figures in German, and the figures stay in the
// machine format a script reads (no digit grouping, Go durations).
func TestBenchOutputTranslated(t *testing.T) {
	t.Setenv("VIGIL_LANG", "de")
	dir := t.TempDir()
	code, out, errOut := run(t, "", "bench", "notify", "--dir", dir, "--orgs", "5", "--prefixes", "20", "--events", "2000", "--synchronous", "NORMAL")
	if code != 0 {
		t.Fatalf("bench notify: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out2, errOut := run(t, "", "bench", "ingest", "--dir", dir, "--rows", "1500")
	if code != 0 {
		t.Fatalf("bench ingest: exit %d\n%s\n%s", code, out2, errOut)
	}
	out += out2
	if !regexp.MustCompile(`(?m)^auf der Festplatte: [1-9][0-9]* Bytes, [1-9][0-9]* Bytes pro gespeichertem Ereignis$`).MatchString(out2) {
		t.Errorf("bench ingest does not print the store's size per event:\n%s", out2)
	}
	for _, want := range []string{"Organisationen: 5\n", "Ereignisse: 2000 gespeichert, 2000 bearbeitet", "Nachrichten: 5\n", "Dauer: ", "Ereignisse/s: ", "Spitzenspeicher (RSS): ", "Pipeline (local): 1500 Ereignisse gespeichert in "} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	for _, id := range []string{"bench.notify.organisations", "bench.notify.events", "bench.notify.messages", "bench.notify.reading", "bench.notify.elapsed", "bench.ingest.rate", "bench.peakrss", "bench.ingest.bare", "bench.ingest.size", "bench.generating", "bench.input"} {
		if label := englishLabel(id); strings.Contains(out, label) {
			t.Errorf("%s left in English (%q):\n%s", id, label, out)
		}
	}
	if !regexp.MustCompile(`(?m)^Dauer: [0-9.]+(ms|s|µs)$`).MatchString(out) {
		t.Errorf("the elapsed time is not a Go duration:\n%s", out)
	}
}

// TestDemoBannerTranslated: `vigil serve --demo` with VIGIL_LANG=fr
// prints where the demo runs and its logins in French, and its https
// address, where the CSAF provider passes gocsaf's checker as a trusted
// provider.
func TestDemoBannerTranslated(t *testing.T) {
	bin := buildVigil(t)
	data := t.TempDir()
	t.Setenv("VIGIL_LANG", "fr")
	startServeWith(t, bin, data, "--demo")
	var log string
	waitFor(t, 2*time.Minute, func() bool {
		b, _ := os.ReadFile(filepath.Join(data, "serve.log"))
		log = string(b)
		return strings.Contains(log, "Connectez-vous")
	})
	for _, want := range []string{"La démonstration de Vigil tourne sur http://127.0.0.1:", `Connectez-vous en tant que "` + demo.User + `" avec le mot de passe "` + demo.Password + `"`, `ou en tant que "` + demo.ConstituentUser + `"`, `ou en tant que "` + demo.Publisher + `" (le second regard`, "Les notifications arrivent en fichiers .eml dans "} {
		if !strings.Contains(log, want) {
			t.Errorf("banner lacks %q:\n%s", want, log)
		}
	}
	if label := englishLabel("cli.serve.demo.banner"); strings.Contains(log, label) {
		t.Errorf("banner in English:\n%s", log)
	}
	// The demo serves HTTPS too, with its self-signed certificate, and
	// says where.
	m := regexp.MustCompile(`Aussi en HTTPS \(certificat auto-signé\) : (https://127\.0\.0\.1:[0-9]+),`).FindStringSubmatch(log)
	if m == nil {
		t.Fatalf("banner lacks the https URL:\n%s", log)
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := client.Get(m[1] + "/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.TLS == nil || resp.TLS.PeerCertificates[0].Subject.CommonName != "Vigil demo" {
		t.Errorf("GET %s/login: %s over %v", m[1], resp.Status, resp.TLS != nil)
	}
	checkDemoCSAF(t, m[1])
}

// checkDemoCSAF runs gocsaf's checker (built from the module cache, the
// version go.mod names) against the demo's provider, as the README
// tells a user to, and wants it passed as a trusted provider.
func checkDemoCSAF(t *testing.T, base string) {
	t.Helper()
	dir := t.TempDir()
	checker := csafCheckerBinary(t)
	report := filepath.Join(dir, "report.json")
	out, err := exec.Command(checker, "--insecure", "-f", "json", "-o", report, base+"/.well-known/csaf/provider-metadata.json").CombinedOutput()
	if err != nil {
		t.Fatalf("csaf_checker: %v\n%s", err, out)
	}
	raw, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Domains []struct {
			Passed       bool   `json:"passed"`
			Role         string `json:"role"`
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
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatalf("checker report: %v\n%s", err, raw)
	}
	if len(r.Domains) != 1 || !r.Domains[0].Passed || r.Domains[0].Role != "csaf_trusted_provider" {
		t.Fatalf("the demo's CSAF provider did not pass as a trusted provider:\n%s", raw)
	}
	for _, req := range r.Domains[0].Requirements {
		for _, m := range req.Messages {
			if m.Type >= 2 { // errors; 1 is a warning
				t.Errorf("requirement %d (%s): %s", req.Num, req.Description, m.Text)
			}
		}
	}
}

// TestBenchUsageTranslated: bench's usage errors are in the command
// line's language.
func TestBenchUsageTranslated(t *testing.T) {
	t.Setenv("VIGIL_LANG", "nl")
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"bench", "bogus"}, "verwacht ingest, search, notify, intake of site"},
		{[]string{"bench", "intake", "--client", "smoke"}, `--client: verwacht chunking of data, niet "smoke"`},
		{[]string{"bench", "ingest", "--transport", "pigeon", "--rows", "10", "--dir", t.TempDir()}, "--transport: verwacht local of jetstream"},
	} {
		code, _, errOut := run(t, "", tt.args...)
		if code != 2 || !strings.Contains(errOut, tt.want) || !strings.Contains(errOut, "Gebruik: vigil bench") {
			t.Errorf("vigil %v: exit %d, want 2 and %q:\n%s", tt.args, code, tt.want, errOut)
		}
	}
}
