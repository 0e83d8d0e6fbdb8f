package cli

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/incident"
	"github.com/vigil-cert/vigil/internal/incident/incidentdb"
	"github.com/vigil-cert/vigil/internal/mailin"
	"github.com/vigil-cert/vigil/internal/mailin/mailindb"
	"github.com/vigil-cert/vigil/internal/store/sqlitestore"
)

// TestServeMailIn runs the real `vigil serve` with mail_in configured: a
// phishing forward sent with swaks is acknowledged, written to the spool
// of the database and made a report; a bad mail_in section stops serve at
// start with an error naming the key.
func TestServeMailIn(t *testing.T) {
	bin := buildVigil(t)
	data := t.TempDir()
	smtpAddr := freeAddr(t)
	cfg := filepath.Join(data, "vigil.yml")
	yml := "mail_in:\n  listen: " + smtpAddr + "\n  hostname: mx.cert.example\n  recipients: [report@, suspicious@]\n"
	if err := os.WriteFile(cfg, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	startServeWith(t, bin, data, "--config", cfg)
	var out []byte
	waitFor(t, 60*time.Second, func() bool {
		var err error
		out, err = exec.Command("swaks", "--server", smtpAddr, "--from", "reporter@example.org",
			"--to", "suspicious@cert.example", "--header", "Subject: Fwd: your parcel", "--body", "see below").CombinedOutput()
		return err == nil
	})
	if !strings.Contains(string(out), "250 2.0.0") {
		t.Fatalf("swaks:\n%s", out)
	}
	st, err := sqlitestore.Open(context.Background(), filepath.Join(data, "vigil.db"), sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// The mail becomes a report (serve's mail reports job) and is marked
	// done in the same commit.
	reports := incidentdb.New(st.DB())
	var page incident.ReportPage
	waitFor(t, 30*time.Second, func() bool {
		page, err = reports.ListReports(context.Background(), incident.ReportQuery{})
		return err == nil && len(page.Reports) == 1
	})
	if r := page.Reports[0]; r.Subject != "Fwd: your parcel" || r.Kind != incident.KindPhishing || r.Channel != incident.ChannelEmail ||
		r.Reporter.Email != "reporter@example.org" {
		t.Errorf("report of the mail: %+v", r)
	}
	counts, err := mailindb.New(st.DB()).CountMail(context.Background())
	if err != nil || counts[mailin.Done] != 1 || counts[mailin.Pending] != 0 {
		t.Fatalf("spool after the report: %v (%v), want one mail done", counts, err)
	}

	bad := filepath.Join(data, "bad.yml")
	if err := os.WriteFile(bad, []byte("mail_in:\n  listen: "+freeAddr(t)+"\n  recipients: [\"@cert.example\"]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	msg, err := exec.Command(bin, "serve", "--data", t.TempDir(), "--config", bad).CombinedOutput()
	if err == nil || !strings.Contains(string(msg), `config: mail_in.recipients[0]: "@cert.example": give an address`) {
		t.Fatalf("serve with a bad mail_in: %v\n%s", err, msg)
	}
}

// TestBenchIntake runs `vigil bench intake` small, with both clients:
// every message acknowledged, found in the spool, the figures printed;
// with --reports every mail then becomes a report, the 300 mails about
// 200 sites (two about each of the first 100) grouped into 100 incidents.
func TestBenchIntake(t *testing.T) {
	for _, client := range []string{"chunking", "data"} {
		t.Run(client, func(t *testing.T) {
			code, out, errOut := run(t, "", "bench", "intake", "--dir", t.TempDir(), "--messages", "300", "--connections", "8",
				"--size", "4096", "--client", client, "--synchronous", "NORMAL", "--reports")
			if code != 0 {
				t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
			}
			for _, want := range []string{"300 messages of 4096 bytes over 8 connections, on SQLite synchronous=NORMAL", "300 messages acknowledged in ",
				" group commits, ", "Every acknowledged message (300) is in the spool",
				"Reports: 300 mails made into reports in ", "300 reports, grouped into 100 incidents"} {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
		})
	}
	t.Run("postgres", func(t *testing.T) {
		dsn := os.Getenv("VIGIL_TEST_POSTGRES")
		if dsn == "" {
			if os.Getenv("VIGIL_SKIP_POSTGRES") == "1" {
				t.Skip("VIGIL_SKIP_POSTGRES=1")
			}
			t.Fatal("VIGIL_TEST_POSTGRES is not set (see internal/store/pgstore)")
		}
		code, out, errOut := run(t, "", "bench", "intake", "--postgres", dsn, "--messages", "200", "--connections", "8", "--size", "4096", "--reports")
		if code != 0 || !strings.Contains(out, "on PostgreSQL schema vigil_bench_") || !strings.Contains(out, "Every acknowledged message (200) is in the spool") ||
			!strings.Contains(out, "200 reports, grouped into 0 incidents") {
			t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
		}
	})
	if code, _, errOut := run(t, "", "bench", "intake", "--client", "smoke-signals"); code != 2 || !strings.Contains(errOut, "--client: want chunking or data") {
		t.Errorf("a bad --client: exit %d\n%s", code, errOut)
	}
}

// TestOutputLanguage: the bench's output, as every command's
// (cliLanguage), follows LC_ALL, LC_MESSAGES or LANG when the catalogue
// has the language, English otherwise.
func TestOutputLanguage(t *testing.T) {
	catalog := i18n.Embedded()
	for env, want := range map[string]string{"LANG=nl_BE.UTF-8": "nl", "LC_ALL=fr_FR.UTF-8 LANG=nl_BE": "fr",
		"LC_MESSAGES=de_DE": "de", "LANG=C.UTF-8": "en", "": "en", "LC_ALL=ja_JP LANG=fr_FR": "en"} {
		vars := map[string]string{}
		for _, kv := range strings.Fields(env) {
			k, v, _ := strings.Cut(kv, "=")
			vars[k] = v
		}
		if got := cliLanguage(func(k string) string { return vars[k] }); got != want {
			t.Errorf("%q: %s, want %s", env, got, want)
		}
	}
	if got := catalog.T("nl", "bench.intake.verified", 3); !strings.Contains(got, "spool") || strings.Contains(got, "Every") {
		t.Errorf("Dutch: %q", got)
	}
}
