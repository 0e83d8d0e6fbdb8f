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
	"time"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/storetest"
)

// crashPartition is the partition size of the crash tests' child: a
// partition is sealed every four batches.
const crashPartition = 2000

// TestPartsCrash kills a process writing to a parts store with SIGKILL,
// once while it inserts and once while it seals a partition (its indexes
// built, its summary not yet committed), then reopens the store: every
// acknowledged batch is there, the interrupted seal is done again, and
// delivering every batch again stores nothing twice.
func TestPartsCrash(t *testing.T) {
	if path := os.Getenv("VIGIL_PARTS_CRASH_DB"); path != "" {
		partsCrashChild(path, os.Getenv("VIGIL_PARTS_CRASH_WHEN"))
		return
	}
	if testing.Short() {
		t.Skip("spawns a process")
	}
	for _, when := range []string{"insert", "seal"} {
		t.Run(when, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "crash.db")
			cmd := exec.Command(os.Args[0], "-test.run=^TestPartsCrash$")
			cmd.Env = append(os.Environ(), "VIGIL_PARTS_CRASH_DB="+path, "VIGIL_PARTS_CRASH_WHEN="+when)
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			acked, sealing := 0, false
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				if n, ok := strings.CutPrefix(sc.Text(), "acked "); ok {
					acked, _ = strconv.Atoi(n)
				}
				sealing = sc.Text() == "sealing"
				if (when == "insert" && acked >= 9000) || (when == "seal" && sealing) {
					break
				}
			}
			cmd.Process.Kill()
			cmd.Wait()
			if acked == 0 || (when == "seal" && !sealing) {
				t.Fatalf("child acknowledged %d events, sealing %v", acked, sealing)
			}
			checkAfterCrash(t, path, acked)
		})
	}
}

func checkAfterCrash(t *testing.T, path string, acked int) {
	ctx := t.Context()
	s := openLayout(t, path, Options{PartitionEvents: crashPartition})
	defer s.Close()
	if s.EventLayout() != LayoutParts {
		t.Fatalf("layout %q after the crash", s.EventLayout())
	}
	n, err := s.CountEvents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n < int64(acked) {
		t.Fatalf("%d events stored after the crash, %d were acknowledged", n, acked)
	}
	// Every partition but the last is sealed again (in the background).
	for {
		s.parts.mu.RLock()
		unsealed := 0
		for _, p := range s.parts.list[:len(s.parts.list)-1] {
			if !p.sealed {
				unsealed++
			}
		}
		s.parts.mu.RUnlock()
		if unsealed == 0 {
			break
		}
		if err := ctx.Err(); err != nil {
			t.Fatalf("%d partitions never sealed: %v", unsealed, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Deliver every batch again, and more: the stored ones store nothing.
	g := storetest.NewGenerator(11)
	var all []*event.Event
	total := int64(0)
	for total < n+1000 {
		batch := g.Batch(500)
		all = append(all, batch...)
		added, err := s.InsertBatch(ctx, store.EventBatch{ID: store.BatchID(batch), Events: batch})
		if err != nil {
			t.Fatal(err)
		}
		if total < n && added != 0 {
			t.Fatalf("a stored batch delivered again stored %d events", added)
		}
		total += 500
	}
	count, err := s.CountEvents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if count != int64(len(all)) {
		t.Fatalf("%d events stored, %d delivered", count, len(all))
	}
	seen := map[event.Hash]int{}
	q := store.EventQuery{Limit: 10000}
	for {
		page, err := s.SearchEvents(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, se := range page.Events {
			seen[se.Hash]++
		}
		if page.Next == "" {
			break
		}
		q.After = page.Next
	}
	for i, e := range all {
		if seen[e.Hash()] != 1 {
			t.Fatalf("event %d found %d times", i, seen[e.Hash()])
		}
	}
}

func partsCrashChild(path, when string) {
	ctx := context.Background()
	s, err := Open(ctx, path, Options{EventLayout: LayoutParts, PartitionEvents: crashPartition})
	if err != nil {
		panic(err)
	}
	if err := s.Migrate(ctx); err != nil {
		panic(err)
	}
	if when == "seal" {
		sealHook = func() {
			fmt.Println("sealing")
			time.Sleep(time.Hour) // killed here
		}
	}
	g := storetest.NewGenerator(11)
	total := 0
	for {
		batch := g.Batch(500)
		n, err := s.InsertBatch(ctx, store.EventBatch{ID: store.BatchID(batch), Events: batch})
		if err != nil {
			panic(err)
		}
		total += n
		fmt.Printf("acked %d\n", total)
	}
}
