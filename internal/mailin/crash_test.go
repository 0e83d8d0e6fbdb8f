package mailin_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/mailin"
	"github.com/vigil-cert/vigil/internal/mailin/mailindb"
	"github.com/vigil-cert/vigil/internal/store/sqlitestore"
)

// crashChild names the database of the listener run in a child process
// by TestCrashAfter250.
const crashChild = "VIGIL_MAILIN_CRASH_CHILD"

func TestMain(m *testing.M) {
	if path := os.Getenv(crashChild); path != "" {
		runChild(path)
		return
	}
	os.Exit(m.Run())
}

// runChild serves a listener on the SQLite database at path, as vigil
// serve would (synchronous=FULL), prints its address and serves until it
// is killed.
func runChild(path string) {
	ctx := context.Background()
	st, err := sqlitestore.Open(ctx, path, sqlitestore.Options{Synchronous: "FULL"})
	if err == nil {
		err = st.Migrate(ctx, mailindb.Schema)
	}
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	srv, err := mailin.NewServer(testConfig(), mailindb.New(st.DB()), nil)
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println(l.Addr())
	srv.Serve(ctx, l)
	os.Exit(1)
}

// TestCrashAfter250: the listener runs in a child process; the client
// gets its 250; the child is killed with SIGKILL at once; the message is
// in the spool, pending: a 250 is a promise kept across a crash.
func TestCrashAfter250(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vigil.db")
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
	line, err := bufio.NewReader(stdout).ReadString('\n')
	addr := strings.TrimSpace(line)
	if err != nil || strings.HasPrefix(addr, "error:") {
		t.Fatalf("child: %q, %v", line, err)
	}
	var sent [][]byte
	for i := range 3 {
		msg := message(fmt.Sprintf("before-the-crash-%d", i), 20<<10)
		if err := send(addr, "reporter@example.org", []string{"report@cert.example"}, msg); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
		sent = append(sent, msg)
	}
	if err := child.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := child.Wait(); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("child ended with %v, want killed", err)
	}
	st, err := sqlitestore.Open(t.Context(), path, sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	got := pendingMail(t, mailindb.New(st.DB()))
	if len(got) != len(sent) {
		t.Fatalf("after SIGKILL the spool has %d messages pending, want the %d acknowledged", len(got), len(sent))
	}
	for i, m := range got {
		if m.SHA256 != hash(sent[i]) || string(m.Raw) != string(sent[i]) {
			t.Errorf("message %d is not as sent", i)
		}
	}
}
