package cli

import (
	"bufio"
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vigil-cert/vigil/internal/bus"
	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/enricher"
	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/notify"
	"github.com/vigil-cert/vigil/internal/pgpmime"
	"github.com/vigil-cert/vigil/internal/pipeline"
	"github.com/vigil-cert/vigil/internal/shadowserver"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/pgstore"
	"github.com/vigil-cert/vigil/internal/store/sqlitestore"
)

var cmdBench = &command{
	name:    "bench",
	summary: "measure the pipeline and search speed on this machine",
	usage:   "ingest [--rows N] [--transport local|jetstream] | search [--rows N] | notify [--orgs N --prefixes N --events N]",
	help: `bench ingest generates N synthetic Shadowserver scan_rdp rows, then runs
file → parse → dedup → ASN + GeoIP enrichment → SQLite and prints events/s
and peak RSS; it also times a bare read-and-split of the same file and
prints the ratio. --transport jetstream sends the batches through an
embedded NATS JetStream as 'vigil serve' does.

bench search fills a SQLite database with N synthetic events (kept in
--dir for reuse) and times an IP, a /16 CIDR and an ASN query.

bench notify creates a fresh SQLite store with --orgs organisations owning
--prefixes /24 networks and --events events tagged with their owners, then
times one notifier pass over all of them with every digest due: rendering,
signing (the contacts have no keys, so every message is signed, not
encrypted) and committing to the outbox. --postgres DSN runs it on a new
schema of that PostgreSQL database, dropped afterwards. With --reuse and --dir, the loaded
store is kept as notify-loaded.db and later runs with the same figures time
a pass over a copy of it instead of loading again.

The figures in docs/PERFORMANCE.md come from these commands.`,
	run: runBench,
}

func runBench(ctx context.Context, c *cmdEnv, args []string) error {
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
		return c.parse(args)
	}
	if len(args) == 0 || (args[0] != "ingest" && args[0] != "search" && args[0] != "notify") {
		return fmt.Errorf("want ingest, search or notify: %w", errUsage)
	}
	sub, args := args[0], args[1:]
	rows := c.flags.Int("rows", 1_000_000, "rows or events to generate")
	dir := c.flags.String("dir", "", "work directory (default: a new temporary one, removed afterwards)")
	transport := c.flags.String("transport", "local", "ingest: local (in-process) or jetstream (embedded NATS)")
	sync := c.flags.String("synchronous", "FULL", "SQLite synchronous setting for the store")
	keepRaw := c.flags.Bool("keep-raw", true, "ingest: keep each event's source line in raw (a feed's keep_raw)")
	noStore := c.flags.Bool("no-store", false, "ingest: enrich but do not store (measures the pipeline without the database)")
	cpuProfile := c.flags.String("cpuprofile", "", "write a CPU profile of the run to this file")
	orgs := c.flags.Int("orgs", 10_000, "notify: organisations")
	prefixes := c.flags.Int("prefixes", 100_000, "notify: /24 networks, shared out among the organisations")
	events := c.flags.Int("events", 1_000_000, "notify: stored events")
	workers := c.flags.Int("workers", 0, "notify: organisations prepared at once (default: one per core, as notify.workers)")
	postgres := c.flags.String("postgres", "", "notify: run on a fresh schema of this PostgreSQL database (DSN) instead of SQLite; the schema is dropped afterwards")
	reuse := c.flags.Bool("reuse", false, "notify: keep the loaded store in --dir and start from a copy of it when the figures match")
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
	case "ingest":
		return benchIngest(ctx, c, work, *rows, *transport, *sync, *noStore, *keepRaw)
	case "notify":
		spec := notify.BenchSpec{Organisations: *orgs, Prefixes: *prefixes, Events: *events, Seed: 3}
		if *postgres != "" {
			return benchNotifyPostgres(ctx, c, *postgres, spec, *cpuProfile, *workers)
		}
		return benchNotify(ctx, c, work, spec, *sync, *cpuProfile, *reuse && *dir != "", *workers)
	}
	return benchSearch(ctx, c, work, *rows)
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

func benchIngest(ctx context.Context, c *cmdEnv, work string, rows int, transportName, sync string, noStore, keepRaw bool) error {
	out := c.stdout
	input, tableFile, mmdbFile, err := benchInput(out, work, rows)
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
	fmt.Fprintf(out, "bare read-and-split: %d lines, %d fields in %v (%.0f lines/s)\n", rows+1, fields, bare.Round(time.Millisecond), float64(rows+1)/bare.Seconds())

	b, err := newIngestBench(ctx, c, work, tableFile, mmdbFile, transportName, sync, noStore, keepRaw)
	if err != nil {
		return err
	}
	defer b.close()
	elapsed, stored, err := b.run(ctx, input, rows)
	if err != nil {
		return err
	}
	what := "stored"
	if noStore {
		what = "enriched, not stored"
	}
	rate := float64(stored) / elapsed.Seconds()
	fmt.Fprintf(out, "pipeline (%s): %d events %s in %v\n", transportName, stored, what, elapsed.Round(time.Millisecond))
	fmt.Fprintf(out, "pipeline / bare read-and-split: %.1f× the time\n", elapsed.Seconds()/bare.Seconds())
	fmt.Fprintf(out, "events/s: %.0f\n", rate)
	fmt.Fprintf(out, "peak RSS: %s\n", peakRSS())
	if stored != int64(rows) {
		return fmt.Errorf("stored %d events of %d rows", stored, rows)
	}
	return nil
}

// ingestBench is the pipeline bench ingest times: a store in work/data,
// the bench enrichers, the store output (or one that counts, with
// --no-store) and a runner on the chosen transport.
type ingestBench struct {
	db        *sqlitestore.Store
	output    pipeline.Output
	runner    *pipeline.Runner
	jetstream bool
	noStore   bool
	closers   []func()
}

func newIngestBench(ctx context.Context, c *cmdEnv, work, tableFile, mmdbFile, transportName, sync string, noStore, keepRaw bool) (_ *ingestBench, err error) {
	b := &ingestBench{jetstream: transportName == "jetstream", noStore: noStore}
	defer func() {
		if err != nil {
			b.close()
		}
	}()
	dataDir := filepath.Join(work, "data")
	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		return nil, err
	}
	if b.db, err = sqlitestore.Open(ctx, filepath.Join(dataDir, "vigil.db"), sqlitestore.Options{Synchronous: sync}); err != nil {
		return nil, err
	}
	b.closers = append(b.closers, func() { b.db.Close() })
	if err := b.db.Migrate(ctx); err != nil {
		return nil, err
	}
	env := pipeline.Env{Store: b.db, DataDir: dataDir, Now: time.Now}
	enrichers, err := benchEnrichers(env, tableFile, mmdbFile)
	if err != nil {
		return nil, err
	}
	b.output = &countingOutput{}
	if !noStore {
		if b.output, err = pipeline.NewOutput("store", env, pipeline.Options{}); err != nil {
			return nil, err
		}
	}
	parser, err := pipeline.NewParser("shadowserver", env, pipeline.Options{})
	if err != nil {
		return nil, err
	}
	var transport pipeline.Transport = pipeline.NewLocal(4)
	if b.jetstream {
		bs, err := bus.Open(ctx, bus.Config{StoreDir: filepath.Join(work, "jetstream"), Stream: "BENCH", MaxBytes: 1 << 30}, envLogger(c))
		if err != nil {
			return nil, err
		}
		b.closers = append(b.closers, func() { bs.Close() })
		transport = bs
	} else if transportName != "local" {
		return nil, fmt.Errorf("--transport: want local or jetstream: %w", errUsage)
	}
	b.runner = pipeline.NewRunner(pipeline.RunnerConfig{Env: env, Transport: transport,
		Feeds:     []*pipeline.Feed{{Name: "bench", KeepRaw: keepRaw, ParserID: "shadowserver", Parser: parser}},
		Enrichers: enrichers, Outputs: []pipeline.Output{b.output}, BatchSize: 2000, Workers: 2})
	wctx, stop := context.WithCancel(ctx)
	b.closers = append(b.closers, stop)
	go b.runner.Work(wctx)
	return b, nil
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
		for {
			n, err := b.done(ctx)
			if err != nil {
				return 0, 0, err
			}
			if n >= int64(rows) {
				break
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
		return b.output.(*countingOutput).n.Load(), nil
	}
	return b.db.CountEvents(ctx)
}

// benchInput writes the bench's routing table, GeoIP database and a
// generated Shadowserver report of rows rows into work.
func benchInput(out io.Writer, work string, rows int) (input, tableFile, mmdbFile string, err error) {
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
	fmt.Fprintf(out, "generating %d rows into %s\n", rows, input)
	if err := generateReport(input, rows, prefixes); err != nil {
		return "", "", "", err
	}
	st, err := os.Stat(input)
	if err != nil {
		return "", "", "", err
	}
	fmt.Fprintf(out, "input: %d bytes\n", st.Size())
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

// peakRSS reads the process's high-water resident set size (Linux).
func peakRSS() string {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			f := strings.Fields(line)
			if len(f) >= 2 {
				kb, _ := strconv.Atoi(f[1])
				return fmt.Sprintf("%.0f MB", float64(kb)/1024)
			}
		}
	}
	return "unknown"
}

func benchSearch(ctx context.Context, c *cmdEnv, work string, rows int) error {
	out := c.stdout
	path := filepath.Join(work, "search.db")
	// The database is throwaway: loading it without fsyncs saves minutes
	// and does not change how fast it answers.
	db, err := sqlitestore.Open(ctx, path, sqlitestore.Options{Synchronous: "OFF"})
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
	rng := rand.New(rand.NewPCG(7, 7))
	base := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	if have < int64(rows) {
		fmt.Fprintf(out, "loading %d events into %s\n", int64(rows)-have, path)
		start := time.Now()
		batch := make([]*event.Event, 0, 5000)
		for i := have; i < int64(rows); i++ {
			batch = append(batch, searchEvent(rng, i, base))
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
		fmt.Fprintf(out, "loaded in %v\n", time.Since(start).Round(time.Second))
	}
	n, _ := db.CountEvents(ctx)
	fmt.Fprintf(out, "events in the database: %d\n", n)
	// Pick real values to look for from one stored event.
	sample := searchEvent(rand.New(rand.NewPCG(7, 7)), 0, base)
	ip, _ := netip.ParseAddr(sample.Value("source.ip"))
	asn, _ := strconv.ParseUint(sample.Value("source.asn"), 10, 32)
	queries := []struct {
		name string
		q    store.EventQuery
	}{
		{"ip " + ip.String(), store.EventQuery{IP: ip}},
		{"cidr " + netip.PrefixFrom(ip, 16).Masked().String(), store.EventQuery{Prefix: netip.PrefixFrom(ip, 16).Masked()}},
		{"asn " + strconv.FormatUint(asn, 10), store.EventQuery{ASN: uint32(asn)}},
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
		fmt.Fprintf(out, "search %-22s first page %3d events: median %v, max %v\n", q.name, found,
			times[len(times)/2].Round(10*time.Microsecond), times[len(times)-1].Round(10*time.Microsecond))
	}
	return nil
}

// searchEvent makes the i-th synthetic stored event: addresses spread over
// 10.0.0.0/8, 1,000 ASes, 30 days.
func searchEvent(rng *rand.Rand, i int64, base time.Time) *event.Event {
	e := event.New(12)
	ip := netip.AddrFrom4([4]byte{10, byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256))})
	e.SetTrusted("source.ip", ip.String())
	e.SetInt("source.asn", int64(64512+rng.IntN(1000)))
	e.SetInt("source.port", 3389)
	e.SetTrusted("source.geolocation.cc", "BE")
	e.SetTime("time.source", base.Add(time.Duration(rng.Int64N(int64(30*24*time.Hour)))))
	e.SetTrusted("classification.taxonomy", "vulnerable")
	e.SetTrusted("classification.type", "vulnerable-system")
	e.SetTrusted("classification.identifier", "rdp")
	e.SetTrusted("feed.name", "bench")
	e.SetExtra("sequence", strconv.FormatInt(i, 10))
	return e
}

// benchNotify loads spec into a fresh store and times one notifier pass
// over every organisation, with every digest due. Loading runs without
// fsyncs (the data is throwaway); the timed pass reopens the store with
// the synchronous setting given, FULL by default, as vigil serve runs.
func benchNotify(ctx context.Context, c *cmdEnv, work string, spec notify.BenchSpec, sync, cpuProfile string, reuse bool, workers int) error {
	out := c.stdout
	path := filepath.Join(work, "notify.db")
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Remove(path + suffix); err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	start := time.Now()
	loaded := filepath.Join(work, "notify-loaded.db")
	stamp := fmt.Sprintf("orgs=%d prefixes=%d events=%d seed=%d\n", spec.Organisations, spec.Prefixes, spec.Events, spec.Seed)
	if old, err := os.ReadFile(loaded + ".spec"); reuse && err == nil && string(old) == stamp {
		fmt.Fprintf(out, "copying the store loaded before (%s) to %s\n", loaded, path)
		if err := copyFile(loaded, path); err != nil {
			return err
		}
	} else {
		if err := loadNotifyBench(ctx, c, path, spec, start); err != nil {
			return err
		}
		if reuse {
			if err := copyFile(path, loaded); err != nil {
				return err
			}
			if err := os.WriteFile(loaded+".spec", []byte(stamp), 0o640); err != nil {
				return err
			}
		}
	}

	db, err := sqlitestore.Open(ctx, path, sqlitestore.Options{Synchronous: sync, Logger: envLogger(c)})
	if err != nil {
		return err
	}
	defer db.Close()
	d, err := database.New(ctx, db) // a store loaded by an older build is migrated
	if err != nil {
		return err
	}
	return timeNotifyPass(ctx, c, d, "synchronous="+strings.ToUpper(sync), cpuProfile, workers)
}

// benchNotifyPostgres loads spec into a new schema of the PostgreSQL
// database dsn, times one pass as benchNotify does, and drops the schema.
func benchNotifyPostgres(ctx context.Context, c *cmdEnv, dsn string, spec notify.BenchSpec, cpuProfile string, workers int) error {
	admin, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	defer admin.Close(context.WithoutCancel(ctx))
	var b [6]byte
	crand.Read(b[:])
	schema := "vigil_bench_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	defer admin.Exec(context.WithoutCancel(ctx), "DROP SCHEMA "+schema+" CASCADE")
	scoped, err := withSearchPath(dsn, schema)
	if err != nil {
		return err
	}
	db, err := pgstore.Open(ctx, scoped)
	if err != nil {
		return err
	}
	defer db.Close()
	d, err := database.New(ctx, db)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "loading %d organisations, %d prefixes, %d events into PostgreSQL schema %s\n", spec.Organisations, spec.Prefixes, spec.Events, schema)
	start := time.Now()
	spec.Now = start
	if err := notify.LoadBench(ctx, d, spec, nil); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "loaded in %v\n", time.Since(start).Round(time.Second))
	return timeNotifyPass(ctx, c, d, "PostgreSQL", cpuProfile, workers)
}

// withSearchPath returns dsn (URL or key=value form) with its search_path
// set to schema.
func withSearchPath(dsn, schema string) (string, error) {
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme == "" {
		return dsn + " search_path=" + schema, nil
	}
	q := u.Query()
	q.Set("search_path", schema)
	// Spaces as %20: the driver does not read "+" as one (options=-c …).
	u.RawQuery = strings.ReplaceAll(q.Encode(), "+", "%20")
	return u.String(), nil
}

// timeNotifyPass times one notifier pass over db, with every digest due,
// and prints what it did.
func timeNotifyPass(ctx context.Context, c *cmdEnv, db *database.DB, storeNote, cpuProfile string, workers int) error {
	out := c.stdout
	start := time.Now()
	armored, err := pgpmime.GenerateIdentity("Vigil bench", "bench@example.org", start.Add(-time.Hour))
	if err != nil {
		return err
	}
	id, err := pgpmime.ParseIdentity(armored, "")
	if err != nil {
		return err
	}
	cfg := notify.DefaultConfig()
	cfg.Enabled, cfg.From, cfg.Workers = true, "Vigil bench <bench@example.org>", workers
	n, err := notify.New(cfg, notify.Deps{Store: db, Identity: id, Logger: envLogger(c)})
	if err != nil {
		return err
	}
	stored, err := db.CountEvents(ctx)
	if err != nil {
		return err
	}
	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	runtime.GC()
	start = time.Now()
	rep, err := n.RunOnce(ctx, start)
	elapsed := time.Since(start)
	if err != nil {
		return err
	}
	if len(rep.Errors) > 0 {
		return fmt.Errorf("%d organisations failed, the first %s: %w", len(rep.Errors), rep.Errors[0].Org, rep.Errors[0].Err)
	}
	fmt.Fprintf(out, "signing: on (Ed25519 team key; contacts without keys, so signed, not encrypted); %s\n", storeNote)
	fmt.Fprintf(out, "peak RSS: %s\n", peakRSS())
	fmt.Fprintf(out, "organisations: %d\n", rep.Organisations)
	fmt.Fprintf(out, "events: %d stored, %d handled: %d notified, %d duplicates of another event of the pass\n",
		stored, rep.Consumed, rep.Notified, rep.Duplicates)
	fmt.Fprintf(out, "messages: %d\n", rep.Messages)
	fmt.Fprintf(out, "reading the queue at once: %v\n", rep.Reading.Round(time.Millisecond))
	fmt.Fprintf(out, "committing to the store (alongside preparing): %v\n", rep.Committing.Round(time.Millisecond))
	fmt.Fprintf(out, "elapsed: %v\n", elapsed.Round(time.Millisecond))
	if rep.Consumed != int(stored) || rep.Waiting != 0 {
		return fmt.Errorf("handled %d of %d events, %d waiting", rep.Consumed, stored, rep.Waiting)
	}
	return nil
}

// loadNotifyBench creates the store of bench notify at path, closed when
// it returns. Loading runs without fsyncs: the data is throwaway.
func loadNotifyBench(ctx context.Context, c *cmdEnv, path string, spec notify.BenchSpec, now time.Time) error {
	db, err := sqlitestore.Open(ctx, path, sqlitestore.Options{Synchronous: "OFF", Logger: envLogger(c)})
	if err != nil {
		return err
	}
	d, err := database.New(ctx, db)
	if err != nil {
		db.Close()
		return err
	}
	fmt.Fprintf(c.stdout, "loading %d organisations, %d prefixes, %d events into %s\n", spec.Organisations, spec.Prefixes, spec.Events, path)
	spec.Now = now
	err = notify.LoadBench(ctx, d, spec, nil)
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "loaded in %v\n", time.Since(now).Round(time.Second))
	return nil
}

// copyFile copies a closed SQLite database (checkpointed, without -wal).
func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	o, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(o, in); err != nil {
		o.Close()
		return err
	}
	return o.Close()
}
