package cli

import (
	"bufio"
	"context"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/incident"
	"github.com/vigil-cert/vigil/internal/shadowserver"
	"github.com/vigil-cert/vigil/internal/store/sqlitestore"
)

// alertState reads the alerts and the events stored of a running (or
// killed) serve's database: the events counted by all alerts, the alert
// reports in the triage queue, and the events stored.
func alertState(t *testing.T, data string) (counted int64, queue []incident.Report, stored int64) {
	t.Helper()
	st, err := sqlitestore.Open(context.Background(), filepath.Join(data, "vigil.db"), sqlitestore.Options{})
	if err != nil {
		return 0, nil, 0
	}
	defer st.Close()
	db := database.On(st)
	list, err := db.Alerts.Alerts(context.Background(), 1000)
	if err != nil {
		return 0, nil, 0
	}
	for _, a := range list {
		counted += a.Events
	}
	page, err := db.ListReports(context.Background(), incident.ReportQuery{Channels: []incident.Channel{incident.ChannelAlert}})
	if err != nil {
		return 0, nil, 0
	}
	stored, _ = st.CountEvents(context.Background())
	return counted, page.Reports, stored
}

// TestServeAlertsExactlyOnce runs the real `vigil serve` with a rule on
// the vulnerable taxonomy, drops a Shadowserver scan_rdp report in the
// inbox, kills serve with SIGKILL while the alert counts, starts it
// again, and expects one alert in the triage queue that counted every
// event exactly once. A bad rule stops serve at start naming its key.
func TestServeAlertsExactlyOnce(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Fatalf("this test needs Linux signals")
	}
	bin := buildVigil(t)
	data := t.TempDir()
	cfg := filepath.Join(data, "vigil.yml")
	yml := "incident_alerts:\n  interval: 100ms\n  rules:\n    - name: RDP open\n      taxonomy: vulnerable\n      severity: high\n"
	if err := os.WriteFile(cfg, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	const rows = 30_000
	staging := filepath.Join(data, "staging.csv")
	f, err := os.Create(staging)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	if err := shadowserver.Generate(w, "scan_rdp", rows, rand.New(rand.NewPCG(7, 8)), shadowserver.GenerateOptions{
		Start: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), Step: 100 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	f.Close()

	serve := startServeWith(t, bin, data, "--config", cfg)
	waitFor(t, 60*time.Second, func() bool { _, err := os.Stat(filepath.Join(data, "inbox")); return err == nil })
	if err := os.Rename(staging, filepath.Join(data, "inbox", "2026-11-20-scan_rdp-alerts-geo.csv")); err != nil {
		t.Fatal(err)
	}
	// Kill it once the alert counts some events.
	var counted int64
	waitFor(t, 2*time.Minute, func() bool {
		counted, _, _ = alertState(t, data)
		return counted > 0
	})
	if err := serve.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	serve.Wait()
	t.Logf("killed with %d of %d events counted", counted, rows)
	killed := serve.Process.Pid
	outlastTheRestart(t, data, "incident-alerts")

	startServeWith(t, bin, data, "--config", cfg)
	var queue []incident.Report
	var stored int64
	waitFor(t, 5*time.Minute, func() bool {
		counted, queue, stored = alertState(t, data)
		return stored == rows && counted >= rows
	})
	if counted != rows || stored != rows {
		out, _ := os.ReadFile(filepath.Join(data, "serve.log"))
		t.Fatalf("%d events stored, alerts counted %d, want %d each; log:\n%s", stored, counted, rows, out)
	}
	if len(queue) != 1 || queue[0].State != incident.ReportNew || queue[0].Reporter.Name != "RDP open" ||
		!strings.Contains(queue[0].Subject, "vulnerable") {
		t.Fatalf("triage queue: %+v, want one alert of the rule", queue)
	}
	tookOverFromTheKilled(t, data, killed, "incident-alerts")

	bad := filepath.Join(data, "bad.yml")
	if err := os.WriteFile(bad, []byte("incident_alerts:\n  rules:\n    - type: rdp\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	msg, err := exec.Command(bin, "serve", "--data", t.TempDir(), "--config", bad).CombinedOutput()
	if err == nil || !strings.Contains(string(msg), `incident_alerts.rules[0].type`) || !strings.Contains(string(msg), `"rdp" is not a classification type`) {
		t.Fatalf("serve with a bad rule: %v\n%s", err, msg)
	}
}
