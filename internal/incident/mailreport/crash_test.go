package mailreport_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/smtp"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/incident"
	"github.com/vigil-cert/vigil/internal/incident/mailreport"
	"github.com/vigil-cert/vigil/internal/mailin"
	"github.com/vigil-cert/vigil/internal/store/sqlitestore"
)

// crashChild names the database of the listener and worker run in a
// child process by TestKillBetween250AndReport.
const crashChild = "VIGIL_MAILREPORT_CRASH_CHILD"

func TestMain(m *testing.M) {
	if path := os.Getenv(crashChild); path != "" {
		runChild(path)
		return
	}
	os.Exit(m.Run())
}

// openFull opens the SQLite database at path as vigil serve does
// (synchronous=FULL), migrated with every capability's schema.
func openFull(ctx context.Context, path string) (*sqlitestore.Store, *database.DB, error) {
	st, err := sqlitestore.Open(ctx, path, sqlitestore.Options{Synchronous: "FULL", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return nil, nil, err
	}
	db, err := database.New(ctx, st)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return st, db, nil
}

func newWorker(st *sqlitestore.Store, db *database.DB) *mailreport.Worker {
	return &mailreport.Worker{DB: st.DB(), Service: &incident.Service{Store: db, Audit: db}, Mails: db,
		Organisations: db, Batch: 10, Log: slog.New(slog.DiscardHandler)}
}

// runChild serves the SMTP listener and runs the worker that makes
// reports of the mails, as vigil serve does, on the database at path. It
// prints the listener's address, then a line for each pass that made
// reports, and runs until it is killed.
func runChild(path string) {
	ctx := context.Background()
	st, db, err := openFull(ctx, path)
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	cfg := mailin.DefaultConfig()
	cfg.Listen, cfg.Hostname, cfg.Recipients = "127.0.0.1:0", "mx.cert.example", []string{"suspicious@"}
	srv, err := mailin.NewServer(cfg, db, nil)
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	l, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println(l.Addr())
	go srv.Serve(ctx, l)
	w := newWorker(st, db)
	for {
		n, err := w.RunOnce(ctx)
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		if n > 0 {
			fmt.Println("reports", n)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestKillBetween250AndReport: the listener and the worker run in a
// child process that is killed with SIGKILL while mails arrive and become
// reports, three times over; then the mails left are made reports. Every
// mail acknowledged with 250 is one report, none twice, none lost, and
// each incident's counter is the number of reports linked to it.
func TestKillBetween250AndReport(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vigil.db")
	var acked []string
	for round := range 3 {
		acked = append(acked, killedRound(t, path, round)...)
	}
	ctx := t.Context()
	st, db, err := openFull(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	w := newWorker(st, db)
	for pass := 0; ; pass++ {
		n, err := w.RunOnce(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if pass == 1000 {
			t.Fatal("the worker still finds pending mails after 1,000 passes")
		}
	}
	counts, err := db.CountMail(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if counts[mailin.Pending] != 0 || counts[mailin.Failed] != 0 {
		t.Fatalf("spool after the last pass: %v, want every mail done", counts)
	}
	page, err := db.ListReports(ctx, incident.ReportQuery{Limit: 10_000})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	linked := map[int64]int{}
	for _, r := range page.Reports {
		seen[r.Subject]++
		if r.IncidentID != 0 {
			linked[r.IncidentID]++
		}
	}
	for s, n := range seen {
		if n > 1 {
			t.Errorf("%q made %d reports, want 1", s, n)
		}
	}
	for _, s := range acked {
		if seen[s] == 0 {
			t.Errorf("%q was acknowledged with 250 and made no report", s)
		}
	}
	if int64(len(page.Reports)) != counts[mailin.Done] {
		t.Errorf("%d reports of %d mails done", len(page.Reports), counts[mailin.Done])
	}
	incidents, err := db.ListIncidents(ctx, incident.IncidentQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(incidents.Incidents) == 0 || len(incidents.Incidents) > len(crashSites) {
		t.Errorf("%d incidents, want one per phishing site at most (%d)", len(incidents.Incidents), len(crashSites))
	}
	for _, inc := range incidents.Incidents {
		if inc.Reports != linked[inc.ID] {
			t.Errorf("incident %s counts %d reports, %d are linked to it", inc.Tag, inc.Reports, linked[inc.ID])
		}
	}
	t.Logf("%d mails acknowledged, %d reports, %d incidents", len(acked), len(page.Reports), len(incidents.Incidents))
}

// crashSites are the phishing sites the mails of the kill test report.
var crashSites = []string{"https://bank-unlock.com/login", "https://parcel-fee.net/pay", "https://tax-refund-now.org/claim"}

// killedRound starts the child on path, sends it mails on four
// connections, kills it once it has made reports of some and returns the
// subjects of the mails it acknowledged.
func killedRound(t *testing.T, path string, round int) []string {
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), crashChild+"="+path)
	stdout, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	child.Stderr = os.Stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer child.Process.Kill()
	out := bufio.NewReader(stdout)
	line, err := out.ReadString('\n')
	addr := strings.TrimSpace(line)
	if err != nil || strings.HasPrefix(addr, "error:") {
		t.Fatalf("child: %q, %v", line, err)
	}
	var mu sync.Mutex
	var acked []string
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for conn := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				subject := fmt.Sprintf("round %d connection %d mail %d", round, conn, i)
				msg := "From: Citizen <citizen" + fmt.Sprint(conn) + "@mail.example.net>\r\nTo: suspicious@cert.example\r\n" +
					"Subject: " + subject + "\r\n\r\nIs this real? " + crashSites[i%len(crashSites)] + "\r\n" +
					strings.Repeat("Dear customer, verify your account today.\r\n", 200)
				if smtp.SendMail(addr, nil, "citizen@mail.example.net", []string{"suspicious@cert.example"}, []byte(msg)) != nil {
					return // the child is gone: this mail was not acknowledged
				}
				mu.Lock()
				acked = append(acked, subject)
				mu.Unlock()
			}
		}()
	}
	// Kill once the worker has made reports four times: mails are then being
	// received, spooled and made reports at the same time.
	passes := 0
	for passes < 4 {
		line, err := out.ReadString('\n')
		if err != nil {
			t.Fatalf("child ended: %v", err)
		}
		if strings.HasPrefix(line, "error:") {
			t.Fatalf("child: %s", line)
		}
		if strings.HasPrefix(line, "reports") {
			passes++
		}
	}
	if err := child.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	close(stop)
	wg.Wait()
	go io.Copy(io.Discard, out)
	if err := child.Wait(); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("child ended with %v, want killed", err)
	}
	return acked
}
