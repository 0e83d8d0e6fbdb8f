package sqlitestore

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/store/storetest"
)

// TestCrashLosesNothing kills a writing process with SIGKILL in the middle
// of its work and checks that every batch it acknowledged is stored. (A
// killed process is not a power loss; synchronous=FULL covers that case,
// which a test cannot provoke.)
func TestCrashLosesNothing(t *testing.T) {
	if path := os.Getenv("VIGIL_CRASH_CHILD_DB"); path != "" {
		crashChild(path)
		return
	}
	if testing.Short() {
		t.Skip("spawns a process")
	}
	path := filepath.Join(t.TempDir(), "crash.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashLosesNothing$")
	cmd.Env = append(os.Environ(), "VIGIL_CRASH_CHILD_DB="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := 0
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if n, ok := strings.CutPrefix(sc.Text(), "acked "); ok {
			acked, _ = strconv.Atoi(n)
			if acked >= 8000 {
				break
			}
		}
	}
	cmd.Process.Kill()
	cmd.Wait()
	if acked == 0 {
		t.Fatal("child acknowledged nothing")
	}

	s, err := Open(t.Context(), path, Options{EventLayout: LayoutRows})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	n, err := s.CountEvents(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if n < int64(acked) {
		t.Fatalf("%d events stored after the crash, %d were acknowledged", n, acked)
	}
	// The acknowledged events are the generator's first ones.
	g := storetest.NewGenerator(11)
	for i := range acked {
		e := g.Event()
		if _, err := s.GetEvent(t.Context(), e.Hash()); err != nil {
			t.Fatalf("acknowledged event %d: %v", i, err)
		}
	}
}

func crashChild(path string) {
	ctx := context.Background()
	s, err := Open(ctx, path, Options{EventLayout: LayoutRows})
	if err != nil {
		panic(err)
	}
	if err := s.Migrate(ctx); err != nil {
		panic(err)
	}
	g := storetest.NewGenerator(11)
	total := 0
	for {
		n, err := s.InsertEvents(ctx, g.Batch(500), nil)
		if err != nil {
			panic(err)
		}
		total += n
		fmt.Printf("acked %d\n", total)
	}
}
