package cli

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/vigil-cert/vigil/internal/bus"
	"github.com/vigil-cert/vigil/internal/enricher"
	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/notify"
	"github.com/vigil-cert/vigil/internal/pipeline"
	"github.com/vigil-cert/vigil/internal/shadowserver"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/sqlitestore"
)

var cmdBench = &command{
	name:    "bench",
	summary: "measure the pipeline and search speed on this machine",
	usage:   "ingest [--rows N] [--transport local|jetstream] [--layout rows|parts] | search [--rows N] [--layout rows|parts] | notify [--orgs N --prefixes N --events N] [--layout rows|parts] | intake [--messages N --connections N --size BYTES] [--client chunking|data] [--reports] | site [--rate N --duration D --clients N --publications N]",
	help: `bench ingest generates N synthetic Shadowserver scan_rdp rows, then runs
file → parse → dedup → ASN + GeoIP enrichment → SQLite and prints events/s
and peak RSS; it also times a bare read-and-split of the same file and
prints the ratio, and then the bytes the store takes on disk per stored
event. --transport jetstream sends the batches through an
embedded NATS JetStream as 'vigil serve' does. --postgres DSN stores into a
new schema of that PostgreSQL database, dropped afterwards.

bench search fills a SQLite database with N synthetic events observed over
30 days (365 above 10 million; kept in --dir for reuse) and times an IP, a
/16 CIDR, an ASN, a domain with its subdomains and a one-day query, once
every partition is sealed.

--layout rows|parts (ingest, search, notify) keeps the SQLite store's events in one
table (rows) or in sealed partitions (parts, the default, as of a new
database).

bench notify creates a fresh SQLite store with --orgs organisations owning
--prefixes /24 networks and --events events tagged with their owners, then
times one notifier pass over all of them with every digest due: rendering,
signing (the contacts have no keys, so every message is signed, not
encrypted) and committing to the outbox. --postgres DSN runs it on a new
schema of that PostgreSQL database, dropped afterwards. With --reuse and --dir, the loaded
store is kept as notify-loaded.db and later runs with the same figures time
a pass over a copy of it instead of loading again. The pass runs under
vigil serve's collector settings (GOGC=200, a 240 MiB soft limit, unless
GOGC or GOMEMLIMIT is set), as serve runs it.

bench intake starts the SMTP listener of mail_in on a new SQLite database
and sends it --messages messages of --size bytes over --connections
concurrent SMTP sessions, each message durable (--synchronous) before its
250; it prints messages/s and the group commits, then checks that every
acknowledged message is in the spool with the same SHA-256. The clients
send as large senders do when offered PIPELINING and CHUNKING (MAIL, RCPT
and BDAT in one write); --client data sends with DATA instead. --postgres
DSN runs it on a new schema of that PostgreSQL database, dropped
afterwards.
--reports then turns the spooled mails into reports, grouped, as vigil
serve does, prints mails/s and the incidents made, and checks that every
mail became one report.

bench site publishes --publications publications through the workflow
into a new SQLite database, serves vigil serve's web handler on
127.0.0.1, and asks an advisory's page --rate times a second for
--duration over --clients connections, each request at its scheduled
time (its latency counts any wait for a connection); it prints the
achieved requests/s and the latency percentiles, then runs wrk (Debian's
package, when installed) against the same page, and checks that every
answer was 200.

--memprofile F samples the resident memory while the command runs and,
at its peak, takes a heap profile (written to F, for go tool pprof) and
the runtime's account: the heap's objects, its spans not in use, stacks,
the runtime's own, and what is resident outside Go (SQLite's page caches).

The figures in docs/PERFORMANCE.md come from these commands.`,
	run:         runBench,
	subcommands: true,
}

func runBench(ctx context.Context, c *cmdEnv, args []string) (rerr error) {
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
		return c.parse(args)
	}
	if len(args) == 0 || (args[0] != "ingest" && args[0] != "search" && args[0] != "notify" && args[0] != "intake" && args[0] != "site") {
		return c.usageError("cli.bench.unknown")
	}
	sub, args := args[0], args[1:]
	rows := c.flags.Int("rows", 1_000_000, "rows or events to generate")
	dir := c.flags.String("dir", "", "work directory (default: a new temporary one, removed afterwards)")
	transport := c.flags.String("transport", "local", "ingest: local (in-process) or jetstream (embedded NATS)")
	sync := c.flags.String("synchronous", "FULL", "SQLite synchronous setting for the store")
	keepRaw := c.flags.Bool("keep-raw", true, "ingest: keep each event's source line in raw (a feed's keep_raw)")
	layout := c.flags.String("layout", sqlitestore.LayoutParts, "ingest, search, notify: the SQLite store's event layout, rows or parts (default: parts, as a new database)")
	noStore := c.flags.Bool("no-store", false, "ingest: enrich but do not store (measures the pipeline without the database)")
	cpuProfile := c.flags.String("cpuprofile", "", "write a CPU profile of the run to this file")
	memProfile := c.flags.String("memprofile", "", "write a heap profile taken at the run's peak of resident memory to this file, and print where that memory went")
	orgs := c.flags.Int("orgs", 10_000, "notify: organisations")
	prefixes := c.flags.Int("prefixes", 100_000, "notify: /24 networks, shared out among the organisations")
	events := c.flags.Int("events", 1_000_000, "notify: stored events")
	workers := c.flags.Int("workers", 0, "notify: organisations prepared at once (default: one per core, as notify.workers)")
	postgres := c.flags.String("postgres", "", "notify, intake, ingest: run on a fresh schema of this PostgreSQL database (DSN) instead of SQLite; the schema is dropped afterwards")
	reuse := c.flags.Bool("reuse", false, "notify: keep the loaded store in --dir and start from a copy of it when the figures match")
	messages := c.flags.Int("messages", 20_000, "intake: messages to send")
	connections := c.flags.Int("connections", 50, "intake: concurrent SMTP sessions")
	size := c.flags.Int("size", 20<<10, "intake: bytes of each message")
	client := c.flags.String("client", "chunking", "intake: chunking (PIPELINING and BDAT) or data (PIPELINING and DATA)")
	reports := c.flags.Bool("reports", false, "intake: then turn the spooled mails into reports, grouped, as vigil serve does, and time it")
	rate := c.flags.Int("rate", 2000, "site: requests a second, at fixed times")
	duration := c.flags.Duration("duration", 30*time.Second, "site: how long to send them")
	clients := c.flags.Int("clients", 40, "site: HTTP connections at most")
	publications := c.flags.Int("publications", 200, "site: publications to publish first")
	if err := c.parse(args); err != nil {
		return err
	}
	if *cpuProfile != "" && sub != "notify" { // bench notify profiles its timed pass only
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if *memProfile != "" {
		w := watchMemory()
		defer func() {
			peak, err := w.finish(*memProfile)
			if err == nil {
				printPeakMemory(c, peak)
			}
			if rerr == nil {
				rerr = err
			}
		}()
	}
	work := *dir
	if work == "" {
		tmp, err := os.MkdirTemp("", "vigil-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		work = tmp
	} else if err := os.MkdirAll(work, 0o750); err != nil {
		return err
	}
	switch sub {
	case "intake":
		if *client != "chunking" && *client != "data" {
			return c.usageError("cli.bench.client", *client)
		}
		return benchIntake(ctx, c, work, *messages, *connections, *size, *sync, *postgres, *client == "data", *reports)
	case "site":
		return benchSite(ctx, c, work, *publications, *rate, *duration, *clients)
	}
	if *layout != sqlitestore.LayoutRows && *layout != sqlitestore.LayoutParts {
		return c.usageError("cli.bench.layout", *layout)
	}
	switch sub {
	case "ingest":
		return benchIngest(ctx, c, work, *rows, *transport, *sync, *layout, *postgres, *noStore, *keepRaw)
	case "notify":
		spec := notify.BenchSpec{Organisations: *orgs, Prefixes: *prefixes, Events: *events, Seed: 3}
		if *postgres != "" {
			return benchNotifyPostgres(ctx, c, *postgres, spec, *cpuProfile, *workers)
		}
		return benchNotify(ctx, c, work, spec, *sync, *layout, *cpuProfile, *reuse && *dir != "", *workers)
	}
	return benchSearch(ctx, c, work, *rows, *layout)
}

// benchNetworks makes the routing table of the benchmark: 20,000 /20
// prefixes in 16 ASes per country, so every generated address is found.
func benchNetworks() (pfx2as string, countries map[netip.Prefix]string, prefixes []netip.Prefix) {
	var b strings.Builder
	countries = map[netip.Prefix]string{}
	ccs := []string{"BE", "NL", "FR", "DE", "LU", "GB", "US", "JP"}
	for i := range 20000 {
		a := netip.AddrFrom4([4]byte{byte(11 + i/4096), byte(i % 4096 >> 4), byte(i % 16 << 4), 0})
		p := netip.PrefixFrom(a, 20)
		fmt.Fprintf(&b, "%s\t20\t%d\n", a, 64512+i%1000)
		countries[p] = ccs[i%len(ccs)]
		prefixes = append(prefixes, p)
	}
	return b.String(), countries, prefixes
}

func benchIngest(ctx context.Context, c *cmdEnv, work string, rows int, transportName, sync, layout, postgres string, noStore, keepRaw bool) error {
	out := c.stdout
	input, tableFile, mmdbFile, err := benchInput(c, work, rows)
	if err != nil {
		return err
	}
	// The floor: just read the file and split it into fields.
	runtime.GC()
	start := time.Now()
	fields, err := readAndSplit(input)
	if err != nil {
		return err
	}
	bare := time.Since(start)
	fmt.Fprintln(out, c.t("bench.ingest.bare", rows+1, fields, bare.Round(time.Millisecond), float64(rows+1)/bare.Seconds()))

	b, err := newIngestBench(ctx, c, work, tableFile, mmdbFile, transportName, sync, layout, postgres, noStore, keepRaw)
	if err != nil {
		return err
	}
	defer b.close()
	elapsed, stored, err := b.run(ctx, input, rows)
	if err != nil {
		return err
	}
	// The labels are in the command line's language; the figures stay in
	// one machine format (digits without grouping, Go durations), so a
	// script can read them in any language (or set VIGIL_LANG=en).
	pipelineID := "bench.ingest.stored"
	if noStore {
		pipelineID = "bench.ingest.enriched"
	}
	rate := float64(stored) / elapsed.Seconds()
	fmt.Fprintln(out, c.t(pipelineID, transportName, stored, elapsed.Round(time.Millisecond)))
	fmt.Fprintln(out, c.t("bench.ingest.ratio", elapsed.Seconds()/bare.Seconds()))
	fmt.Fprintln(out, c.t("bench.ingest.rate", rate))
	fmt.Fprintln(out, c.t("bench.peakrss", peakRSS()))
	if stored != int64(rows) {
		return fmt.Errorf("stored %d events of %d rows", stored, rows)
	}
	if !noStore && stored > 0 {
		size, err := b.storeBytes(ctx, work, postgres)
		if errors.Is(err, errLogBusy) {
			return errors.New(c.t("bench.ingest.logbusy"))
		}
		if err != nil {
			return err
		}
		fmt.Fprintln(out, c.t("bench.ingest.size", size, float64(size)/float64(stored)))
	}
	return nil
}

// storeBytes is what the store takes on disk once the events are settled
// (a layout that seals partitions in the background has sealed them, so
// their indexes count): the database's files for SQLite (its log
// checkpointed), the tables and indexes of the bench's schema for
// PostgreSQL. It is measured after the timed run.
func (b *ingestBench) storeBytes(ctx context.Context, work, postgres string) (int64, error) {
	if s, ok := b.db.(interface{ SealEvents(context.Context) error }); ok {
		if err := s.SealEvents(ctx); err != nil {
			return 0, err
		}
	}
	if postgres != "" {
		var n int64
		err := b.db.DB().QueryRow(ctx, `SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint
			FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace
			WHERE ns.nspname = current_schema() AND c.relkind IN ('r', 'p')`).Scan(&n)
		return n, err
	}
	// What the write-ahead log holds is moved into the database and the
	// log emptied, so that the pages count once. A checkpoint the store's
	// own is running (after a sealing's pages were given back, say)
	// leaves the log as it is and says busy: asked again for 10 s, then
	// no size is given (it would count the log).
	for try := 0; ; try++ {
		var busy, logPages, moved int64
		if err := b.db.DB().QueryRow(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logPages, &moved); err != nil {
			return 0, err
		}
		if busy == 0 {
			break
		}
		if try == 100 {
			return 0, errLogBusy
		}
		time.Sleep(100 * time.Millisecond)
	}
	files, err := filepath.Glob(filepath.Join(work, "data", "vigil.db*"))
	if err != nil {
		return 0, err
	}
	var n int64
	for _, f := range files {
		fi, err := os.Stat(f)
		if err != nil {
			return 0, err
		}
		n += fi.Size()
	}
	return n, nil
}

// errLogBusy: the store's write-ahead log could not be emptied into the
// database to measure its size.
var errLogBusy = errors.New("the write-ahead log is still busy")

// ingestBench is the pipeline bench ingest times: a store in work/data,
// the bench enrichers, the store output (or one that counts, with
// --no-store) and a runner on the chosen transport.
type ingestBench struct {
	db        store.Store
	output    pipeline.Output
	runner    *pipeline.Runner
	jetstream bool
	noStore   bool
	closers   []func()
}

func newIngestBench(ctx context.Context, c *cmdEnv, work, tableFile, mmdbFile, transportName, sync, layout, postgres string, noStore, keepRaw bool) (_ *ingestBench, err error) {
	b := &ingestBench{jetstream: transportName == "jetstream", noStore: noStore}
	defer func() {
		if err != nil {
			b.close()
		}
	}()
	dataDir := filepath.Join(work, "data")
	if err := benchDirUnused(c, work, postgres == "", b.jetstream); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		return nil, err
	}
	db, where, closeDB, err := openBenchStore(ctx, filepath.Join(dataDir, "vigil.db"), sync, layout, postgres)
	if err != nil {
		return nil, err
	}
	b.db = db
	b.closers = append(b.closers, closeDB)
	fmt.Fprintln(c.stdout, c.t("bench.ingest.store", where))
	env := pipeline.Env{Store: b.db, DataDir: dataDir, Now: time.Now}
	enrichers, err := benchEnrichers(env, tableFile, mmdbFile)
	if err != nil {
		return nil, err
	}
	b.output = &countingOutput{}
	if !noStore {
		out, err := pipeline.NewOutput("store", env, pipeline.Options{})
		if err != nil {
			return nil, err
		}
		sc, ok := out.(insertCounter)
		if !ok {
			return nil, fmt.Errorf("store output %T does not count what it inserts", out)
		}
		b.output = &countedStore{insertCounter: sc}
	}
	parser, err := pipeline.NewParser("shadowserver", env, pipeline.Options{})
	if err != nil {
		return nil, err
	}
	collectLessOften()
	var transport pipeline.Transport = pipeline.NewLocal(4)
	if b.jetstream {
		bs, err := bus.Open(ctx, bus.Config{StoreDir: filepath.Join(work, "jetstream"), Stream: "BENCH", MaxBytes: 1 << 30}, envLogger(c))
		if err != nil {
			return nil, err
		}
		b.closers = append(b.closers, func() { bs.Close() }, makeRoom(bs.HeapRoom()))
		transport = bs
	} else if transportName != "local" {
		return nil, c.usageError("cli.bench.transport")
	}
	b.runner = pipeline.NewRunner(pipeline.RunnerConfig{Env: env, Transport: transport,
		Feeds:     []*pipeline.Feed{{Name: "bench", KeepRaw: keepRaw, ParserID: "shadowserver", Parser: parser}},
		Enrichers: enrichers, Outputs: []pipeline.Output{b.output}, BatchSize: 2000, Workers: 2})
	wctx, stop := context.WithCancel(ctx)
	b.closers = append(b.closers, stop)
	go b.runner.Work(wctx)
	return b, nil
}

// benchDirUnused refuses a bench directory that holds the store (with
// sqlite) or the stream (with jetstream) of an earlier run: its events
// would be found stored already, none stored again, and the run would
// wait for them for ever.
func benchDirUnused(c *cmdEnv, work string, sqlite, jetstream bool) error {
	var used []string
	if sqlite {
		used = append(used, filepath.Join(work, "data", "vigil.db"))
	}
	if jetstream {
		used = append(used, filepath.Join(work, "jetstream"))
	}
	for _, p := range used {
		if _, err := os.Stat(p); err == nil {
			return errors.New(c.t("bench.ingest.used", work, p))
		}
	}
	return nil
}

// close stops the workers and closes what newIngestBench opened, last
// opened first.
func (b *ingestBench) close() {
	for i := len(b.closers) - 1; i >= 0; i-- {
		b.closers[i]()
	}
}

// run delivers input and times it until its rows are stored (or, with
// --no-store, enriched); it returns how long that took and how many.
func (b *ingestBench) run(ctx context.Context, input string, rows int) (time.Duration, int64, error) {
	f, err := os.Open(input)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	runtime.GC()
	start := time.Now()
	if err := b.runner.Deliver(ctx, pipeline.Input{Feed: "bench", Name: filepath.Base(input), Body: bufio.NewReaderSize(f, 1<<20)}); err != nil {
		return 0, 0, err
	}
	if b.jetstream {
		// Deliver returned once JetStream held every batch; wait for the
		// workers to have stored them all.
		for b.through() < int64(rows) {
			if err := ctx.Err(); err != nil {
				return 0, 0, err
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	elapsed := time.Since(start)
	n, err := b.done(ctx)
	return elapsed, n, err
}

// done is how many events are through: stored, or enriched with
// --no-store.
func (b *ingestBench) done(ctx context.Context) (int64, error) {
	if b.noStore {
		return b.through(), nil
	}
	return b.db.CountEvents(ctx)
}

// through is done without asking the store: what the store output
// inserted, or enriched with --no-store. run polls it while the workers
// drain JetStream; counting the table's rows instead, fifty times a
// second, cost more CPU than the bus (18 s of a run's 106 s at a million
// rows).
func (b *ingestBench) through() int64 {
	if b.noStore {
		return b.output.(*countingOutput).n.Load()
	}
	return b.output.(*countedStore).n.Load()
}

// benchInput writes the bench's routing table, GeoIP database and a
// generated Shadowserver report of rows rows into work.
func benchInput(c *cmdEnv, work string, rows int) (input, tableFile, mmdbFile string, err error) {
	pfx2as, countries, prefixes := benchNetworks()
	tableFile = filepath.Join(work, "pfx2as.txt")
	mmdbFile = filepath.Join(work, "geoip.mmdb")
	if err := os.WriteFile(tableFile, []byte(pfx2as), 0o640); err != nil {
		return "", "", "", err
	}
	if err := enricher.WriteCountryDatabase(mmdbFile, countries); err != nil {
		return "", "", "", err
	}
	input = filepath.Join(work, "2026-11-20-scan_rdp-bench-geo.csv")
	fmt.Fprintln(c.stdout, c.t("bench.generating", rows, input))
	if err := generateReport(input, rows, prefixes); err != nil {
		return "", "", "", err
	}
	st, err := os.Stat(input)
	if err != nil {
		return "", "", "", err
	}
	fmt.Fprintln(c.stdout, c.t("bench.input", st.Size()))
	return input, tableFile, mmdbFile, nil
}

// benchEnrichers are those of a typical feed: deduplication, ASN and
// GeoIP from the bench's own tables.
func benchEnrichers(env pipeline.Env, tableFile, mmdbFile string) ([]pipeline.Enricher, error) {
	var enrichers []pipeline.Enricher
	for _, s := range []struct {
		id   string
		opts pipeline.Options
	}{
		{"dedup", nil},
		{"asn", pipeline.Options{"file": tableFile}},
		{"geoip", pipeline.Options{"file": mmdbFile}},
	} {
		en, err := pipeline.NewEnricher(s.id, env, orEmpty(s.opts))
		if err != nil {
			return nil, err
		}
		enrichers = append(enrichers, en)
	}
	return enrichers, nil
}

// countingOutput stands in for the store when only the stages before it
// are measured.
type countingOutput struct{ n atomic.Int64 }

func (o *countingOutput) Write(ctx context.Context, b *pipeline.Batch) error {
	o.n.Add(int64(len(b.Events)))
	return nil
}

// insertCounter is the store output: its WriteCount says how many events
// of a batch it inserted (the runner prefers it to Write).
type insertCounter interface {
	pipeline.Output
	pipeline.StoreCounter
}

// countedStore is the store output, counting what it inserted.
type countedStore struct {
	insertCounter
	n atomic.Int64
}

func (o *countedStore) Write(ctx context.Context, b *pipeline.Batch) error {
	_, err := o.WriteCount(ctx, b)
	return err
}

func (o *countedStore) WriteCount(ctx context.Context, b *pipeline.Batch) (int, error) {
	n, err := o.insertCounter.WriteCount(ctx, b)
	if err == nil {
		o.n.Add(int64(n))
	}
	return n, err
}

func generateReport(path string, rows int, prefixes []netip.Prefix) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	rng := rand.New(rand.NewPCG(1, 2))
	err = shadowserver.Generate(w, "scan_rdp", rows, rng, shadowserver.GenerateOptions{Prefixes: prefixes,
		Start: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), Step: 100 * time.Millisecond})
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// readAndSplit reads path line by line and splits each line on commas: the
// least any CSV ingestion must do.
func readAndSplit(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	fields := 0
	var cells [][]byte
	for {
		line, err := r.ReadSlice('\n')
		if len(line) > 0 {
			cells = cells[:0]
			for {
				i := bytes.IndexByte(line, ',')
				if i < 0 {
					cells = append(cells, line)
					break
				}
				cells = append(cells, line[:i])
				line = line[i+1:]
			}
			fields += len(cells)
		}
		if err == io.EOF {
			return fields, nil
		}
		if err != nil {
			return fields, err
		}
	}
}

// peakRSS is the process's high-water resident set size (Linux), in MiB.
func peakRSS() string {
	kib := procStatusKiB("VmHWM")
	if kib == 0 {
		return "unknown"
	}
	return fmt.Sprintf("%.0f MiB", float64(kib)/1024)
}

// procStatusKiB reads a line of /proc/self/status given in KiB (VmRSS,
// VmHWM); 0 where there is none.
func procStatusKiB(name string) uint64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, name+":"); ok {
			f := strings.Fields(rest)
			if len(f) >= 1 {
				kib, _ := strconv.ParseUint(f[0], 10, 64)
				return kib
			}
		}
	}
	return 0
}

// processCPU reads the CPU time (user and system) the process has used
// (Linux; 0 elsewhere), which a loaded machine changes less than the
// rates.
func processCPU() time.Duration {
	raw, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0
	}
	// The fields after the command's name, which is in parentheses and
	// may hold spaces: utime and stime are the 12th and 13th, in clock
	// ticks of 1/100 s on Linux.
	_, rest, ok := strings.Cut(string(raw), ") ")
	f := strings.Fields(rest)
	if !ok || len(f) < 13 {
		return 0
	}
	user, _ := strconv.ParseInt(f[11], 10, 64)
	sys, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(user+sys) * 10 * time.Millisecond
}

func benchSearch(ctx context.Context, c *cmdEnv, work string, rows int, layout string) error {
	out := c.stdout
	path := filepath.Join(work, "search.db")
	if layout != sqlitestore.LayoutRows {
		path = filepath.Join(work, "search-"+layout+".db")
	}
	// The database is throwaway: loading it without fsyncs saves minutes
	// and does not change how fast it answers.
	db, err := sqlitestore.Open(ctx, path, sqlitestore.Options{Synchronous: "OFF", EventLayout: layout})
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		return err
	}
	have, err := db.CountEvents(ctx)
	if err != nil {
		return err
	}
	// A fixed start a year back, so that a kept database is searched for
	// the same values whatever the day, and no time lies in the future.
	base := time.Date(2025, 11, 1, 0, 0, 0, 0, time.UTC)
	days := searchDays(rows)
	// A kept database goes on loading only the events it was begun with
	// (the same --rows, hence the same days): its stamp says which.
	stamp := path + ".spec"
	spec := fmt.Sprintf("rows=%d days=%d\n", rows, days)
	if have > 0 {
		b, err := os.ReadFile(stamp)
		switch {
		case errors.Is(err, os.ErrNotExist):
			return errors.New(c.t("bench.search.nostamp", path))
		case err != nil:
			return err
		case string(b) != spec:
			return errors.New(c.t("bench.search.spec", path, rows))
		}
	} else if err := os.WriteFile(stamp, []byte(spec), 0o644); err != nil {
		return err
	}
	if have < int64(rows) {
		fmt.Fprintln(out, c.t("bench.search.loading", int64(rows)-have, path))
		start := time.Now()
		batch := make([]*event.Event, 0, 5000)
		for i := have; i < int64(rows); i++ {
			batch = append(batch, searchEvent(i, int64(rows), days, base))
			if len(batch) == cap(batch) || i == int64(rows)-1 {
				if _, err := db.InsertEvents(ctx, batch, nil); err != nil {
					return err
				}
				batch = batch[:0]
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
		fmt.Fprintln(out, c.t("bench.loaded", time.Since(start).Round(time.Second)))
	}
	// The partitions still sealing in the background (and the one last
	// written) are sealed before the clock starts: a search timed while a
	// sealing builds indexes beside it measures the sealing too.
	if layout != sqlitestore.LayoutRows {
		start := time.Now()
		if err := db.SealEvents(ctx); err != nil {
			return err
		}
		fmt.Fprintln(out, c.t("bench.sealed", time.Since(start).Round(time.Millisecond)))
	}
	n, _ := db.CountEvents(ctx)
	fmt.Fprintln(out, c.t("bench.search.count", n))
	// Pick real values to look for from one stored event.
	sample := searchEvent(0, int64(rows), days, base)
	ip, _ := netip.ParseAddr(sample.Value("source.ip"))
	asn, _ := strconv.ParseUint(sample.Value("source.asn"), 10, 32)
	_, domain, _ := strings.Cut(sample.Value("source.fqdn"), ".")
	day := base.AddDate(0, 0, days/2)
	queries := []struct {
		name string
		q    store.EventQuery
	}{
		{"ip " + ip.String(), store.EventQuery{IP: ip}},
		{"cidr " + netip.PrefixFrom(ip, 16).Masked().String(), store.EventQuery{Prefix: netip.PrefixFrom(ip, 16).Masked()}},
		{"asn " + strconv.FormatUint(asn, 10), store.EventQuery{ASN: uint32(asn)}},
		{"fqdn " + domain, store.EventQuery{FQDN: domain}},
		{"day " + day.Format("2006-01-02"), store.EventQuery{From: day, To: day.AddDate(0, 0, 1)}},
	}
	for _, q := range queries {
		var times []time.Duration
		found := 0
		for range 7 {
			start := time.Now()
			page, err := db.SearchEvents(ctx, q.q)
			if err != nil {
				return err
			}
			times = append(times, time.Since(start))
			found = len(page.Events)
		}
		sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
		fmt.Fprintln(out, c.t("bench.search.query", q.name, found,
			times[len(times)/2].Round(10*time.Microsecond), times[len(times)-1].Round(10*time.Microsecond)))
	}
	return nil
}

// searchEvent makes the i-th of rows synthetic stored events: addresses
// spread over 10.0.0.0/8, 1,000 ASes, host names under 10,000 domains,
// observed in order over days (as feeds arrive), each seen up to a day
// before. The i-th event is the same whatever was made before it, so a
// load resumed after a stop makes the events a whole load would have.
func searchEvent(i, rows int64, days int, base time.Time) *event.Event {
	rng := rand.New(rand.NewPCG(7, uint64(i)))
	e := event.New(14)
	ip := netip.AddrFrom4([4]byte{10, byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256))})
	e.SetTrusted("source.ip", ip.String())
	e.SetInt("source.asn", int64(64512+rng.IntN(1000)))
	e.SetInt("source.port", 3389)
	e.SetTrusted("source.fqdn", searchHost(rng.IntN(100000), rng.IntN(10000)))
	e.SetTrusted("source.geolocation.cc", "BE")
	// The step first: i × days × 24 h in nanoseconds overflows int64
	// beyond a few hundred events.
	step := time.Duration(int64(days) * int64(24*time.Hour) / max(rows, 1))
	observed := base.Add(time.Duration(i) * step)
	e.SetTime("time.observation", observed)
	e.SetTime("time.source", observed.Add(-time.Duration(rng.Int64N(int64(24*time.Hour)))))
	e.SetTrusted("classification.taxonomy", "vulnerable")
	e.SetTrusted("classification.type", "vulnerable-system")
	e.SetTrusted("classification.identifier", "rdp")
	e.SetTrusted("feed.name", "bench")
	e.SetExtra("sequence", strconv.FormatInt(i, 10))
	return e
}

// searchHost is host h under domain d.
func searchHost(h, d int) string {
	return "h" + strconv.Itoa(h) + "." + searchDomain(d)
}

// searchDomain is the d-th of the bench's domains.
func searchDomain(d int) string { return "d" + strconv.Itoa(d) + ".example.be" }

// searchDays is how many days the bench's events are spread over: a month
// up to 10 million, a year (a national team's feeds) above.
func searchDays(rows int) int {
	if rows > 10_000_000 {
		return 365
	}
	return 30
}
