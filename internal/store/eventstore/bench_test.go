package eventstore

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

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
)

// BenchmarkEventStore is issue 14's measurement of design B, run once:
//
//	VIGIL_BENCH_ROWS=1000000 VIGIL_BENCH_DIR=/tmp/pebble-bench \
//	  go test -run '^$' -bench EventStore -benchtime 1x -timeout 2h ./internal/store/eventstore/
//
// It inserts VIGIL_BENCH_ROWS generated events in batches of 2,000 (the
// generating is not timed) and prints events/s of Insert, process CPU per
// event, bytes on disk per event after Close and after a full compaction,
// peak RSS, and the median and maximum of 7 runs of each search's first
// page. VIGIL_BENCH_DIR is emptied first (default: a temporary directory).
func BenchmarkEventStore(b *testing.B) {
	rows := 100_000
	if v := os.Getenv("VIGIL_BENCH_ROWS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			b.Fatal(err)
		}
		rows = n
	}
	dir := os.Getenv("VIGIL_BENCH_DIR")
	if dir == "" {
		dir = b.TempDir()
	} else if err := os.RemoveAll(dir); err != nil {
		b.Fatal(err)
	}
	opts := benchOptions(b)
	ctx := context.Background()
	const batchSize = 2000

	// What generating costs alone, to subtract from the process's CPU.
	calib := min(rows, 100_000)
	genCPU0 := processCPU()
	gc := newGenerator(b, rows)
	for done := 0; done < calib; done += batchSize {
		gc.batch(b, min(batchSize, calib-done))
	}
	genCPUPerEvent := (processCPU() - genCPU0) / time.Duration(calib)

	for b.Loop() {
		s, err := Open(dir, opts)
		if err != nil {
			b.Fatal(err)
		}
		g := newGenerator(b, rows)
		var insertWall time.Duration
		var sample []*event.Event
		cpu0, wall0 := processCPU(), time.Now()
		for done := 0; done < rows; done += batchSize {
			batch := g.batch(b, min(batchSize, rows-done))
			if done/batchSize%(max(rows/batchSize/8, 1)) == 0 {
				sample = append(sample, batch[3], batch[4])
			}
			start := time.Now()
			if _, err := s.Insert(ctx, batch); err != nil {
				b.Fatal(err)
			}
			insertWall += time.Since(start)
		}
		if os.Getenv("VIGIL_BENCH_METRICS") != "" {
			fmt.Println(s.Metrics())
		}
		start := time.Now()
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		insertWall += time.Since(start)
		wall := time.Since(wall0)
		cpu := processCPU() - cpu0 - genCPUPerEvent*time.Duration(rows)
		hwmInsert := peakRSS()
		afterClose := diskUsage(b, dir)
		if os.Getenv("VIGIL_BENCH_LS") != "" {
			listDir(dir)
		}

		fmt.Printf("rows %d, options %+v\n", rows, opts)
		fmt.Printf("insert: %.0f events/s (Insert and Close wall %v); whole run %v wall of which generating ~%v\n",
			float64(rows)/insertWall.Seconds(), insertWall.Round(time.Millisecond), wall.Round(time.Millisecond),
			(genCPUPerEvent * time.Duration(rows)).Round(time.Millisecond))
		fmt.Printf("insert CPU: %.2f µs/event (process CPU less generating, %.2f µs/event)\n",
			float64(cpu.Nanoseconds())/1e3/float64(rows), float64(genCPUPerEvent.Nanoseconds())/1e3)
		fmt.Printf("disk after Close: %d bytes, %.1f bytes/event\n", afterClose, float64(afterClose)/float64(rows))
		fmt.Printf("peak RSS after inserting: %d MB\n", hwmInsert>>20)

		s, err = Open(dir, opts)
		if err != nil {
			b.Fatal(err)
		}
		start = time.Now()
		if err := s.Compact(ctx); err != nil {
			b.Fatal(err)
		}
		compactWall := time.Since(start)
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		compacted := diskUsage(b, dir)
		fmt.Printf("disk after a full compaction (%v): %d bytes, %.1f bytes/event\n", compactWall.Round(time.Millisecond), compacted, float64(compacted)/float64(rows))

		s, err = Open(dir, opts)
		if err != nil {
			b.Fatal(err)
		}
		benchSearches(b, s, sample)
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		fmt.Printf("peak RSS: %d MB\n", peakRSS()>>20)
	}
}

// benchOptions reads Options from VIGIL_BENCH_* variables, so that a
// setting is measured without editing the code.
func benchOptions(b *testing.B) Options {
	var o Options
	num := func(name string) int64 {
		v := os.Getenv(name)
		if v == "" {
			return 0
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			b.Fatalf("%s: %v", name, err)
		}
		return n
	}
	o.CacheSize = num("VIGIL_BENCH_CACHE_MB") << 20
	o.MemTableSize = uint64(num("VIGIL_BENCH_MEMTABLE_MB") << 20)
	o.BlockEvents = int(num("VIGIL_BENCH_BLOCK_EVENTS"))
	o.NoValueSeparation = os.Getenv("VIGIL_BENCH_NO_VALUE_SEPARATION") != ""
	o.NoDuplicateCheck = os.Getenv("VIGIL_BENCH_NO_DUPLICATE_CHECK") != ""
	return o
}

func benchSearches(b *testing.B, s *Store, sample []*event.Event) {
	ctx := context.Background()
	e := sample[len(sample)/2]
	ip := netip.MustParseAddr(e.Value("source.ip"))
	day := benchStart.Add(15 * 24 * time.Hour)
	var domain string
	for _, e := range sample {
		if f := e.Value("source.fqdn"); f != "" {
			domain = f[strings.IndexByte(f, '.')+1:] // the dNNN.example.be of a host
		}
	}
	queries := []struct {
		name string
		q    store.EventQuery
	}{
		{"ip", store.EventQuery{IP: ip}},
		{"/16", store.EventQuery{Prefix: netip.PrefixFrom(ip, 16).Masked()}},
		{"asn", store.EventQuery{ASN: uint32(64512 + 7)}},
		{"fqdn " + domain, store.EventQuery{FQDN: domain}},
		{"one day", store.EventQuery{From: day, To: day.Add(24 * time.Hour)}},
		{"newest", store.EventQuery{}},
	}
	for _, q := range queries {
		var times []time.Duration
		found := 0
		for range 7 {
			start := time.Now()
			page, err := s.Search(ctx, q.q)
			if err != nil {
				b.Fatal(err)
			}
			times = append(times, time.Since(start))
			found = len(page.Events)
		}
		slices.Sort(times)
		fmt.Printf("search %-24s %3d events  median %8v  max %8v\n", q.name, found, times[3].Round(10*time.Microsecond), times[6].Round(10*time.Microsecond))
	}
	var times []time.Duration
	for _, e := range sample[:7] {
		start := time.Now()
		if _, err := s.Get(ctx, e.Hash()); err != nil {
			b.Fatal(err)
		}
		times = append(times, time.Since(start))
	}
	slices.Sort(times)
	fmt.Printf("get by hash                                  median %8v  max %8v\n", times[3].Round(10*time.Microsecond), times[6].Round(10*time.Microsecond))
}

// processCPU is the user and system time of the process so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// peakRSS is VmHWM from /proc/self/status, in bytes.
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// diskUsage is what du counts: the blocks the directory's files take.
func diskUsage(b *testing.B, dir string) int64 {
	var total int64
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		var st syscall.Stat_t
		if err := syscall.Lstat(path, &st); err != nil {
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

// listDir prints the directory's files by kind, to see what takes the space.
func listDir(dir string) {
	entries, _ := os.ReadDir(dir)
	sizes := map[string]int64{}
	counts := map[string]int{}
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			continue
		}
		kind := filepath.Ext(e.Name())
		sizes[kind] += info.Size()
		counts[kind]++
	}
	for kind, n := range sizes {
		fmt.Printf("  %-10s %4d files %12d bytes\n", kind, counts[kind], n)
	}
}
