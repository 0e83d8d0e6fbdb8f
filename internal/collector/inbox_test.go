package collector

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/pipeline"
	"github.com/vigil-cert/vigil/internal/store"
)

// inboxEnv builds the environment of an inbox test under a fresh data dir.
func inboxEnv(t *testing.T, s store.Store) pipeline.Env {
	return pipeline.Env{Store: s, Logger: testLogger(t), DataDir: t.TempDir(), Now: fixedNow}
}

func newTestInbox(t *testing.T, env pipeline.Env, opts pipeline.Options) *Inbox {
	t.Helper()
	if opts == nil {
		opts = pipeline.Options{}
	}
	if _, ok := opts["poll"]; !ok {
		opts["poll"] = "10ms"
	}
	c, err := pipeline.NewCollector("inbox", env, "shadowserver", opts)
	if err != nil {
		t.Fatal(err)
	}
	return c.(*Inbox)
}

// runInbox runs the collector until stop is called; stop returns Run's error.
func runInbox(t *testing.T, c pipeline.Collector, deliver pipeline.Deliver) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, deliver) }()
	stopped := false
	var result error
	stop = func() error {
		if !stopped {
			stopped = true
			cancel()
			select {
			case result = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("collector did not stop")
			}
		}
		return result
	}
	t.Cleanup(func() { stop() })
	return stop
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o640); err != nil {
		t.Fatal(err)
	}
}

// listDir returns the names in dir, sorted; nil when it does not exist.
func listDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestInbox(t *testing.T) {
	t.Run("delivers in name order and archives", testInboxDeliversNameOrderArchives)
	t.Run("same name twice keeps both copies", testInboxSameNameTwiceKeepsBoth)
	t.Run("keep false deletes delivered files", testInboxKeepFalseDeletesDeliveredFiles)
	t.Run("file left in processing is delivered again first", testInboxProcessingFileDeliveredFirst)
	t.Run("shutdown during delivery leaves the file for the next start", testInboxShutdownLeavesFileForNextStart)
	t.Run("refused file goes to failed with a dead letter", testInboxRefusedFileGoesToFailed)
	t.Run("refuses unknown options", testInboxRefusesUnknownOptions)
}

// testInboxDeliversNameOrderArchives: delivers in name order and archives.
func testInboxDeliversNameOrderArchives(t *testing.T) {
	env := inboxEnv(t, nil)
	inbox := filepath.Join(env.DataDir, "inbox", "shadowserver")
	// Files present before the start, written out of order.
	writeFile(t, filepath.Join(inbox, "2026-11-20-scan_rdp.csv"), []byte("rdp\n"))
	writeFile(t, filepath.Join(inbox, "2026-11-19-scan_ftp.csv.gz"), gzipped(t, "ftp\n"))
	writeFile(t, filepath.Join(inbox, "2026-11-21-scan_vnc.csv.part"), []byte("half"))
	writeFile(t, filepath.Join(inbox, "2026-11-21-scan_ssh.csv.tmp"), []byte("half"))
	writeFile(t, filepath.Join(inbox, ".2026-11-21-scan_smb.csv"), []byte("half"))
	if err := os.MkdirAll(filepath.Join(inbox, "subdir"), 0o750); err != nil {
		t.Fatal(err)
	}

	var rec recorder
	stop := runInbox(t, newTestInbox(t, env, nil), rec.deliver)
	waitFor(t, "two files", func() bool { return len(rec.all()) == 2 })

	// A file arriving later is picked up at the next poll.
	writeFile(t, filepath.Join(inbox, "2026-11-22-scan_telnet.csv"), []byte("telnet\n"))
	waitFor(t, "the late file", func() bool { return len(rec.all()) == 3 })
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}

	want := []delivered{
		{"shadowserver", "2026-11-19-scan_ftp.csv", "ftp\n"},
		{"shadowserver", "2026-11-20-scan_rdp.csv", "rdp\n"},
		{"shadowserver", "2026-11-22-scan_telnet.csv", "telnet\n"},
	}
	if got := rec.all(); !slices.Equal(got, want) {
		t.Errorf("delivered\n%v\nwant\n%v", got, want)
	}
	archive := filepath.Join(env.DataDir, "archive", "shadowserver", "2026-11-20")
	wantArchive := []string{"2026-11-19-scan_ftp.csv.gz", "2026-11-20-scan_rdp.csv", "2026-11-22-scan_telnet.csv"}
	if got := listDir(t, archive); !slices.Equal(got, wantArchive) {
		t.Errorf("archive holds %v, want %v", got, wantArchive)
	}
	wantLeft := []string{".2026-11-21-scan_smb.csv", ".processing", "2026-11-21-scan_ssh.csv.tmp", "2026-11-21-scan_vnc.csv.part", "subdir"}
	if got := listDir(t, inbox); !slices.Equal(got, wantLeft) {
		t.Errorf("inbox holds %v, want %v", got, wantLeft)
	}
	if got := listDir(t, filepath.Join(inbox, processingDir)); len(got) != 0 {
		t.Errorf(".processing holds %v, want nothing", got)
	}
}

// testInboxSameNameTwiceKeepsBoth: same name twice keeps both copies.
func testInboxSameNameTwiceKeepsBoth(t *testing.T) {
	env := inboxEnv(t, nil)
	inbox := filepath.Join(env.DataDir, "inbox", "shadowserver")
	var rec recorder
	runInbox(t, newTestInbox(t, env, nil), rec.deliver)
	for i, body := range []string{"first\n", "second\n", "third\n"} {
		writeFile(t, filepath.Join(inbox, "report.csv.gz"), gzipped(t, body))
		waitFor(t, "delivery", func() bool { return len(rec.all()) == i+1 })
	}
	archive := filepath.Join(env.DataDir, "archive", "shadowserver", "2026-11-20")
	want := []string{"report.1.csv.gz", "report.2.csv.gz", "report.csv.gz"}
	waitFor(t, "archived copies", func() bool { return slices.Equal(listDir(t, archive), want) })
}

// testInboxKeepFalseDeletesDeliveredFiles: keep false deletes delivered files.
func testInboxKeepFalseDeletesDeliveredFiles(t *testing.T) {
	env := inboxEnv(t, nil)
	inbox := filepath.Join(env.DataDir, "drop")
	writeFile(t, filepath.Join(inbox, "a.json"), []byte("{}\n"))
	var rec recorder
	stop := runInbox(t, newTestInbox(t, env, pipeline.Options{"dir": inbox, "keep": false}), rec.deliver)
	waitFor(t, "delivery", func() bool { return len(rec.all()) == 1 })
	stop()
	if got := listDir(t, inbox); !slices.Equal(got, []string{processingDir}) {
		t.Errorf("inbox holds %v, want only %s", got, processingDir)
	}
	if got := listDir(t, filepath.Join(env.DataDir, "archive")); got != nil {
		t.Errorf("archive holds %v, want none", got)
	}
}

// testInboxProcessingFileDeliveredFirst: file left in processing is delivered again first.
func testInboxProcessingFileDeliveredFirst(t *testing.T) {
	env := inboxEnv(t, nil)
	inbox := filepath.Join(env.DataDir, "inbox", "shadowserver")
	// As a crash in the middle of a delivery leaves it.
	writeFile(t, filepath.Join(inbox, processingDir, "2026-11-20-b.csv"), []byte("interrupted\n"))
	writeFile(t, filepath.Join(inbox, "2026-11-19-a.csv"), []byte("waiting\n"))
	var rec recorder
	stop := runInbox(t, newTestInbox(t, env, nil), rec.deliver)
	waitFor(t, "two files", func() bool { return len(rec.all()) == 2 })
	stop()
	want := []delivered{
		{"shadowserver", "2026-11-20-b.csv", "interrupted\n"},
		{"shadowserver", "2026-11-19-a.csv", "waiting\n"},
	}
	if got := rec.all(); !slices.Equal(got, want) {
		t.Errorf("delivered %v, want %v", got, want)
	}
	if got := listDir(t, filepath.Join(inbox, processingDir)); len(got) != 0 {
		t.Errorf(".processing holds %v", got)
	}
}

// testInboxShutdownLeavesFileForNextStart: shutdown during delivery leaves the file for the next start.
func testInboxShutdownLeavesFileForNextStart(t *testing.T) {
	env := inboxEnv(t, nil)
	inbox := filepath.Join(env.DataDir, "inbox", "shadowserver")
	writeFile(t, filepath.Join(inbox, "slow.csv"), []byte("x\n"))
	started := make(chan struct{})
	stop := runInbox(t, newTestInbox(t, env, nil), func(ctx context.Context, in pipeline.Input) error {
		close(started)
		<-ctx.Done()
		return ctx.Err()
	})
	<-started
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := listDir(t, filepath.Join(inbox, processingDir)); !slices.Equal(got, []string{"slow.csv"}) {
		t.Fatalf(".processing holds %v, want slow.csv", got)
	}
	if got := listDir(t, filepath.Join(env.DataDir, "failed", "shadowserver")); len(got) != 0 {
		t.Errorf("failed holds %v, want nothing", got)
	}

	var rec recorder
	stop = runInbox(t, newTestInbox(t, env, nil), rec.deliver)
	waitFor(t, "redelivery", func() bool { return len(rec.all()) == 1 })
	stop()
}

// testInboxRefusedFileGoesToFailed: refused file goes to failed with a dead letter.
func testInboxRefusedFileGoesToFailed(t *testing.T) {
	s := openStore(t)
	env := inboxEnv(t, s)
	inbox := filepath.Join(env.DataDir, "inbox", "shadowserver")
	writeFile(t, filepath.Join(inbox, "2026-11-20-unknown_report.csv"), []byte("?\n"))
	writeFile(t, filepath.Join(inbox, "2026-11-21-scan_rdp.csv"), []byte("rdp\n"))
	rec := recorder{fail: func(in pipeline.Input) error {
		if strings.Contains(in.Name, "unknown") {
			return errors.New("unknown report type \"unknown_report\"")
		}
		return nil
	}}
	stop := runInbox(t, newTestInbox(t, env, nil), rec.deliver)
	waitFor(t, "the good file", func() bool { return len(rec.all()) == 1 })
	stop()

	failed := filepath.Join(env.DataDir, "failed", "shadowserver")
	if got := listDir(t, failed); !slices.Equal(got, []string{"2026-11-20-unknown_report.csv"}) {
		t.Errorf("failed holds %v", got)
	}
	letters, err := s.ListDeadLetters(context.Background(), store.DeadLetterQuery{Feed: "shadowserver"})
	if err != nil {
		t.Fatal(err)
	}
	if len(letters) != 1 {
		t.Fatalf("got %d dead letters, want 1: %+v", len(letters), letters)
	}
	if l := letters[0]; string(l.Input) != "2026-11-20-unknown_report.csv" || !strings.Contains(l.Error, "unknown report type") {
		t.Errorf("dead letter = %q %q", l.Input, l.Error)
	}
	status, err := s.ListFeedStatus(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(status) != 1 || !strings.Contains(status[0].LastError, "unknown report type") || status[0].DeadLetters != 1 {
		t.Errorf("feed status = %+v", status)
	}
	// The feed's last error keeps the letter's message, when it has one.
	if len(status) == 1 && status[0].LastProblem.Encode() != letters[0].Problem.Encode() {
		t.Errorf("feed's last problem %s, letter's %s: want the letter's", status[0].LastProblem.Encode(), letters[0].Problem.Encode())
	}
}

// testInboxRefusesUnknownOptions: refuses unknown options.
func testInboxRefusesUnknownOptions(t *testing.T) {
	_, err := pipeline.NewCollector("inbox", inboxEnv(t, nil), "f", pipeline.Options{"directory": "/x"})
	if err == nil || !strings.Contains(err.Error(), "directory") {
		t.Errorf("err = %v, want one naming the option", err)
	}
}
