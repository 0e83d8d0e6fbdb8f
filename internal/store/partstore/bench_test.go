package partstore_test

import (
	"context"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/cputime"
	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/sqlitestore"
)

// BenchmarkStore loads VIGIL_BENCH_ROWS events (default 100,000) into a
// store in the parts layout in VIGIL_BENCH_DIR (default a temporary
// directory, which must be empty) in batches of 2,000, one InsertEvents
// (one durable commit) each, then measures the searches of issue 14.
// Generating and parsing the events is not timed. VIGIL_BENCH_PARTITION
// sets Options.PartitionEvents, VIGIL_BENCH_SYNC Options.Synchronous. It
// does its work once: run it with -benchtime 1x.
//
//	VIGIL_BENCH_ROWS=1000000 VIGIL_BENCH_DIR=/tmp/sqlitepart-bench \
//	  go test -run '^$' -bench Store -benchtime 1x ./internal/store/partstore
func BenchmarkStore(b *testing.B) {
	rows := envInt(b, "VIGIL_BENCH_ROWS", 100_000)
	partition := envInt(b, "VIGIL_BENCH_PARTITION", 0)
	dir := os.Getenv("VIGIL_BENCH_DIR")
	if dir == "" {
		dir = b.TempDir()
	}
	if entries, _ := os.ReadDir(dir); len(entries) > 0 {
		b.Fatalf("%s is not empty", dir)
	}
	opts := sqlitestore.Options{EventLayout: sqlitestore.LayoutParts, PartitionEvents: partition, Synchronous: os.Getenv("VIGIL_BENCH_SYNC")}
	ctx := context.Background()
	path := filepath.Join(dir, "vigil.db")
	for range b.N {
		s := open(b, path, opts)
		g := newGenerator(b, rows, 1)
		const batch = 2000
		var (
			insertWall, insertCPU time.Duration
			samples               []*event.Event
			hashes                []event.Hash
		)
		loadStart, loadCPU := time.Now(), cputime.Process()
		for done := 0; done < rows; done += batch {
			events := g.batch(b, min(batch, rows-done))
			if done/batch%50 == 0 {
				samples = append(samples, events[0])
			}
			hashes = append(hashes, events[len(events)/2].Hash())
			t, c := time.Now(), cputime.Process()
			if _, err := s.InsertEvents(ctx, events, nil); err != nil {
				b.Fatal(err)
			}
			insertWall += time.Since(t)
			insertCPU += cputime.Process() - c
		}
		fmt.Printf("rows %d: Insert %.0f events/s (wall of the Insert calls %v), process CPU during Insert %.2f µs/event\n",
			rows, float64(rows)/insertWall.Seconds(), insertWall.Round(time.Millisecond), float64(insertCPU.Microseconds())/float64(rows))
		fmt.Printf("  whole load with generation and parsing: %v wall, %v process CPU\n",
			time.Since(loadStart).Round(time.Millisecond), (cputime.Process() - loadCPU).Round(time.Millisecond))
		searches(b, s, samples, hashes, "last partition hot, in memory")
		t, c := time.Now(), cputime.Process()
		if err := s.SealEvents(ctx); err != nil {
			b.Fatal(err)
		}
		fmt.Printf("  sealing what the load left unsealed: %v wall, %v CPU\n", time.Since(t).Round(time.Millisecond), (cputime.Process() - c).Round(time.Millisecond))
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		size := diskUsage(b, dir)
		fmt.Printf("  on disk after Close: %d bytes, %.1f bytes/event (%d files)\n", size, float64(size)/float64(rows), countFiles(dir))
		t = time.Now()
		s = open(b, path, opts)
		fmt.Printf("  reopen: %v\n", time.Since(t).Round(time.Millisecond))
		searches(b, s, samples, hashes, "all sealed")
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		fmt.Printf("  peak RSS (VmHWM): %s\n", peakRSS())
	}
}

func open(b *testing.B, path string, opts sqlitestore.Options) *sqlitestore.Store {
	s, err := sqlitestore.Open(context.Background(), path, opts)
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Migrate(context.Background()); err != nil {
		b.Fatal(err)
	}
	return s
}

// searches runs each search of the spec 7 times and prints the median and
// the maximum of its first page.
func searches(b *testing.B, s *sqlitestore.Store, samples []*event.Event, hashes []event.Hash, state string) {
	ctx := context.Background()
	e := samples[len(samples)/2]
	ipText, _ := e.Get("source.ip")
	ip := netip.MustParseAddr(ipText)
	asnText, _ := e.Get("source.asn")
	asn, _ := strconv.Atoi(asnText)
	day := time.Date(2026, 10, 16, 0, 0, 0, 0, time.UTC)
	qs := []struct {
		name string
		q    store.EventQuery
	}{
		{"ip", store.EventQuery{IP: ip}},
		{"cidr /16", store.EventQuery{Prefix: netip.PrefixFrom(ip, 16).Masked()}},
		{"asn", store.EventQuery{ASN: uint32(asn)}},
		{"fqdn d4.example.be", store.EventQuery{FQDN: "d4.example.be"}},
		{"fqdn example.be", store.EventQuery{FQDN: "example.be"}},
		{"one day", store.EventQuery{From: day, To: day.Add(24 * time.Hour)}},
		{"newest", store.EventQuery{}},
	}
	fmt.Printf("  searches (%s), first page of 50, 7 runs:\n", state)
	for _, q := range qs {
		var times, cpu []time.Duration
		n := 0
		for range 7 {
			t, c := time.Now(), cputime.Process()
			page, err := s.SearchEvents(ctx, q.q)
			if err != nil {
				b.Fatal(err)
			}
			times = append(times, time.Since(t))
			cpu = append(cpu, cputime.Process()-c)
			n = len(page.Events)
		}
		slices.Sort(times)
		slices.Sort(cpu)
		fmt.Printf("    %-18s median %8v  max %8v  CPU median %8v  (%d events)\n", q.name, times[3].Round(10*time.Microsecond),
			times[6].Round(10*time.Microsecond), cpu[3].Round(10*time.Microsecond), n)
	}
	var times []time.Duration
	for i := range 7 {
		h := hashes[(i*7919)%len(hashes)]
		t := time.Now()
		if _, err := s.GetEvent(ctx, h); err != nil {
			b.Fatal(err)
		}
		times = append(times, time.Since(t))
	}
	slices.Sort(times)
	fmt.Printf("    %-18s median %8v  max %8v\n", "get by hash", times[3].Round(10*time.Microsecond), times[6].Round(10*time.Microsecond))
}

func envInt(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		b.Fatalf("%s: %v", name, err)
	}
	return n
}

// diskUsage is du of dir: the blocks its files take.
func diskUsage(b *testing.B, dir string) int64 {
	var total int64
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		var st syscall.Stat_t
		if err := syscall.Stat(path, &st); err != nil {
			return err
		}
		total += st.Blocks * 512
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return total
}

func countFiles(dir string) int {
	entries, _ := os.ReadDir(dir)
	return len(entries)
}

// peakRSS reads the process's high-water resident set (Linux).
func peakRSS() string {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}
