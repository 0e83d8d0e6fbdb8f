package cli

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vigil-cert/vigil/internal/shadowserver"
	"github.com/vigil-cert/vigil/internal/store/sqlitestore"
)

// buildVigil returns the path of the vigil binary, built once for the
// test binary (CGO_ENABLED=0, as released): the tests that run it only
// run it, and linking it again for each took seconds.
func buildVigil(t *testing.T) string {
	return sharedVigil.path(t)
}

// sharedVigil is the binary buildVigil builds.
var sharedVigil = &sharedBuild{name: "vigil", pkg: "../../cmd/vigil", env: []string{"CGO_ENABLED=0"}}

// sharedBuild is a program built once for the test binary, on first
// use, in a directory of its own that removeSharedBuilds removes.
type sharedBuild struct {
	name, pkg string
	env       []string // added to the environment of go build
	once      sync.Once
	dir, bin  string
	err       error
}

// path builds b on first use and returns its path, failing t if it
// could not be built.
func (b *sharedBuild) path(t *testing.T) string {
	t.Helper()
	b.once.Do(func() {
		dir, err := os.MkdirTemp("", "vigil-test-"+b.name+"-")
		if err != nil {
			b.err = err
			return
		}
		b.dir, b.bin = dir, filepath.Join(dir, b.name)
		cmd := exec.Command("go", "build", "-o", b.bin, b.pkg)
		cmd.Env = append(os.Environ(), b.env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("go build %s: %v\n%s", b.pkg, err, out)
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.bin
}

// remove removes what b built.
func (b *sharedBuild) remove() {
	if b.dir != "" {
		os.RemoveAll(b.dir)
	}
}

// tookOverFromTheKilled fails t unless serve.log in data says that the
// serve started after the one of PID killed took over each of leases
// from it at once, the killed holder being of this machine and gone,
// and that no serve waited for a lease (lease.DefaultTTL, 30 s, for one
// that died): the crash tests' restarts run their jobs without that wait.
func tookOverFromTheKilled(t *testing.T, data string, killed int, leases ...string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(data, "serve.log"))
	if err != nil {
		t.Fatal(err)
	}
	takeover := regexp.MustCompile(`msg="lease: taken over at once from a dead process[^"]*" lease=("[^"]*"|\S+) .*dead_pid=(\d+)`)
	taken := map[string]bool{}
	for _, m := range takeover.FindAllSubmatch(b, -1) {
		if string(m[2]) == strconv.Itoa(killed) {
			taken[strings.Trim(string(m[1]), `"`)] = true
		}
	}
	for _, name := range leases {
		if !taken[name] {
			t.Errorf("the restarted serve did not take the lease %q over at once from the killed one (PID %d); log:\n%s", name, killed, b)
		}
	}
	if waited := regexp.MustCompile(`(?m)^.*waiting to take over.*$`).Find(b); waited != nil {
		t.Errorf("a serve waited for a lease: %s", waited)
	}
}

// outlastTheRestart makes the leases the killed serve of data held last
// ten minutes from now, so that the serve started again meets them
// unexpired and has to take them over from the dead holder, which
// tookOverFromTheKilled then checks. Under load a restart took longer
// than the lease's 30 s to reach one, which had expired by itself and
// was taken without a word (no takeover to check); one not taken over
// would now be waited for, and the test fail.
func outlastTheRestart(t *testing.T, data string, leases ...string) {
	t.Helper()
	st, err := sqlitestore.Open(t.Context(), filepath.Join(data, "vigil.db"), sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, name := range leases {
		var holder string
		err := st.DB().QueryRow(t.Context(), `SELECT holder FROM leases WHERE name = ?`, name).Scan(&holder)
		if st.DB().IsNoRows(err) {
			continue // never taken: tookOverFromTheKilled says so
		}
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.TakeLeaseFrom(t.Context(), name, holder, holder, time.Now(), 10*time.Minute); err != nil {
			t.Fatal(err)
		}
	}
}

func startServe(t *testing.T, bin, data string) *exec.Cmd {
	t.Helper()
	return startServeWith(t, bin, data)
}

// startServeWith starts `vigil serve` on data with more arguments.
func startServeWith(t *testing.T, bin, data string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"serve", "--data", data, "--listen", "127.0.0.1:0"}, args...)...)
	log, err := os.OpenFile(filepath.Join(data, "serve.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Close() })
	cmd.Stdout, cmd.Stderr = log, log
	if err := startChild(cmd); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd
}

func countEvents(t *testing.T, data string) int64 {
	t.Helper()
	path := filepath.Join(data, "vigil.db")
	if _, err := os.Stat(path); err != nil {
		return 0
	}
	st, err := sqlitestore.Open(context.Background(), path, sqlitestore.Options{})
	if err != nil {
		return 0
	}
	defer st.Close()
	n, err := st.CountEvents(context.Background())
	if err != nil {
		return 0
	}
	return n
}

// TestCrashDuringIngest kills `vigil serve` with SIGKILL while it ingests a
// large file, starts it again, and expects every event exactly once.
func TestCrashDuringIngest(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Fatalf("this test needs Linux signals")
	}
	bin := buildVigil(t)
	data := t.TempDir()
	// The kill comes at the first events stored (about 1,000, a batch);
	// the check below fails if the file was all stored by then.
	const rows = 50_000
	staging := filepath.Join(data, "staging.csv")
	f, err := os.Create(staging)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	if err := shadowserver.Generate(w, "scan_rdp", rows, rand.New(rand.NewPCG(3, 4)), shadowserver.GenerateOptions{
		Start: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), Step: 100 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	f.Close()

	serve := startServe(t, bin, data)
	inbox := filepath.Join(data, "inbox")
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := os.Stat(inbox); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("serve did not create the inbox")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := os.Rename(staging, filepath.Join(inbox, "2026-11-20-scan_rdp-crash-geo.csv")); err != nil {
		t.Fatal(err)
	}
	// Kill it once some, but not all, events are stored.
	var before int64
	for deadline = time.Now().Add(120 * time.Second); ; {
		before = countEvents(t, data)
		if before > 0 {
			break
		}
		if time.Now().After(deadline) {
			out, _ := os.ReadFile(filepath.Join(data, "serve.log"))
			t.Fatalf("no event stored within 2 minutes; log:\n%s", out)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := serve.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	serve.Wait()
	if before >= rows {
		t.Fatalf("ingestion finished (%d events) before the kill; make the file larger", before)
	}
	t.Logf("killed with %d of %d events stored", before, rows)

	startServe(t, bin, data)
	var n int64
	for deadline = time.Now().Add(5 * time.Minute); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if n = countEvents(t, data); n >= rows {
			break
		}
	}
	// Give a replay that would duplicate a moment to show itself.
	time.Sleep(2 * time.Second)
	n = countEvents(t, data)
	if n != rows {
		out, _ := os.ReadFile(filepath.Join(data, "serve.log"))
		t.Fatalf("after the restart %d events are stored, want exactly %d; log:\n%s", n, rows, out)
	}
	if left, _ := filepath.Glob(filepath.Join(inbox, ".processing", "*")); len(left) != 0 {
		t.Fatalf("files left in processing: %v", left)
	}
}

// TestWorkersShareTheWork runs `vigil serve` with its embedded NATS open on
// 127.0.0.1 and a second process `vigil serve --role worker` connected to
// it; both must store part of one large file, and together all of it.
func TestWorkersShareTheWork(t *testing.T) {
	bin := buildVigil(t)
	data := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	natsAddr := ln.Addr().String()
	ln.Close()
	ln, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	webAddr := ln.Addr().String()
	ln.Close()
	cfg := filepath.Join(data, "vigil.yml")
	os.WriteFile(cfg, []byte("nats:\n  listen: "+natsAddr+"\npipeline:\n  workers: 1\n  batch_size: 500\n"), 0o600)

	start := func(args ...string) {
		cmd := exec.Command(bin, args...)
		logFile, _ := os.Create(filepath.Join(data, args[len(args)-1]+".log"))
		cmd.Stdout, cmd.Stderr = logFile, logFile
		if err := startChild(cmd); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait(); logFile.Close() })
	}
	start("serve", "--data", data, "--config", cfg, "--listen", webAddr, "main")
	waitFor(t, 60*time.Second, func() bool {
		c, err := net.Dial("tcp", natsAddr)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	os.Setenv("VIGIL_NATS_URL", "nats://"+natsAddr)
	defer os.Unsetenv("VIGIL_NATS_URL")
	start("serve", "--role", "worker", "--data", data, "--config", cfg, "worker")
	logs := func() string {
		var b strings.Builder
		for _, name := range []string{"main", "worker"} {
			out, _ := os.ReadFile(filepath.Join(data, name+".log"))
			fmt.Fprintf(&b, "\n%s.log:\n%s", name, out)
		}
		return b.String()
	}

	// 60 batches of 500 for two processes to share.
	const rows = 30_000
	staging := filepath.Join(data, "staging.csv")
	f, err := os.Create(staging)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	if err := shadowserver.Generate(w, "scan_ssh", rows, rand.New(rand.NewPCG(5, 6)), shadowserver.GenerateOptions{Step: 100 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	// The file goes in once both processes wait for batches on the
	// shared consumer, so that the first batches cannot all go to the
	// one that asked first; and once main's collector has made the
	// inbox, after the web: under load the worker's start and 2 s more
	// came before it, the file was renamed into no directory, and no
	// event was ever stored.
	waitForPullers(t, natsAddr, 2, logs)
	inbox := filepath.Join(data, "inbox")
	for deadline := time.Now().Add(5 * time.Minute); ; time.Sleep(100 * time.Millisecond) {
		if _, err := os.Stat(inbox); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("main did not make the inbox within 5 minutes;%s", logs())
		}
	}
	if err := os.Rename(staging, filepath.Join(inbox, "2026-11-20-scan_ssh-share-geo.csv")); err != nil {
		t.Fatal(err)
	}

	for deadline := time.Now().Add(5 * time.Minute); countEvents(t, data) < rows; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d events stored after 5 minutes;%s", countEvents(t, data), rows, logs())
		}
	}
	if n := countEvents(t, data); n != rows {
		t.Fatalf("%d events stored, want %d;%s", n, rows, logs())
	}
	resp, err := http.Get("http://" + webAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`vigil_pipeline_events_total\{feed="inbox",stage="stored"\} (\d+)`).FindSubmatch(body)
	if m == nil {
		t.Fatalf("no stored counter in /metrics:\n%s", body)
	}
	byMain, _ := strconv.Atoi(string(m[1]))
	t.Logf("main process stored %d, the worker %d", byMain, rows-byMain)
	if byMain == 0 || byMain >= rows {
		t.Fatalf("the work was not shared: main stored %d of %d", byMain, rows)
	}
}

// waitForPullers waits until the pipeline's shared consumer on the
// NATS server at addr has at least n pull requests waiting: n idle
// workers, each of them ready to be handed batches.
func waitForPullers(t *testing.T, addr string, n int, logs func() string) {
	t.Helper()
	nc, err := nats.Connect("nats://"+addr, nats.MaxReconnects(-1))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	var last string
	for deadline := time.Now().Add(5 * time.Minute); ; time.Sleep(100 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		cons, err := js.Consumer(ctx, "VIGIL", "workers")
		var info *jetstream.ConsumerInfo
		if err == nil {
			info, err = cons.Info(ctx)
		}
		cancel()
		switch {
		case err != nil:
			last = err.Error()
		case info.NumWaiting >= n:
			return
		default:
			last = fmt.Sprintf("%d pull requests waiting", info.NumWaiting)
		}
		if time.Now().After(deadline) {
			t.Fatalf("not %d workers pulling within 5 minutes (%s);%s", n, last, logs())
		}
	}
}

func waitFor(t *testing.T, limit time.Duration, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if ok() {
			return
		}
	}
	t.Fatalf("condition not met within %v", limit)
}
