package cli

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/notify"
	"github.com/vigil-cert/vigil/internal/pgpmime"
	"github.com/vigil-cert/vigil/internal/store/pgstore"
	"github.com/vigil-cert/vigil/internal/store/sqlitestore"
)

// vigil bench notify: a notifier pass over a generated queue, on SQLite or
// PostgreSQL.

// benchNotify loads spec into a fresh store and times one notifier pass
// over every organisation, with every digest due. Loading runs without
// fsyncs (the data is throwaway); the timed pass reopens the store with
// the synchronous setting given, FULL by default, as vigil serve runs.
func benchNotify(ctx context.Context, c *cmdEnv, work string, spec notify.BenchSpec, sync, layout, cpuProfile string, reuse bool, workers int) error {
	out := c.stdout
	// The parts layout (a new database's) keeps the names it always had,
	// so that a store loaded before --layout existed is reused.
	name := "notify"
	if layout != sqlitestore.LayoutParts {
		name += "-" + layout
	}
	path := filepath.Join(work, name+".db")
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Remove(path + suffix); err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	start := time.Now()
	loaded := filepath.Join(work, name+"-loaded.db")
	stamp := fmt.Sprintf("orgs=%d prefixes=%d events=%d seed=%d\n", spec.Organisations, spec.Prefixes, spec.Events, spec.Seed)
	if old, err := os.ReadFile(loaded + ".spec"); reuse && err == nil && string(old) == stamp {
		fmt.Fprintln(out, c.t("bench.notify.copying", loaded, path))
		if err := copyFile(loaded, path); err != nil {
			return err
		}
	} else {
		if err := loadNotifyBench(ctx, c, path, layout, spec, start); err != nil {
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

	// With the layout asked for: a store of the other one is an error.
	db, err := sqlitestore.Open(ctx, path, sqlitestore.Options{Synchronous: sync, EventLayout: layout, Logger: envLogger(c)})
	if err != nil {
		return err
	}
	defer db.Close()
	d, err := database.New(ctx, db) // a store loaded by an older build is migrated
	if err != nil {
		return err
	}
	return timeNotifyPass(ctx, c, d, db.DeferCheckpoints, "synchronous="+strings.ToUpper(sync), cpuProfile, workers)
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
	fmt.Fprintln(c.stdout, c.t("bench.notify.loading.postgres", spec.Organisations, spec.Prefixes, spec.Events, schema))
	start := time.Now()
	spec.Now = start
	if err := notify.LoadBench(ctx, d, spec, nil); err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, c.t("bench.loaded", time.Since(start).Round(time.Second)))
	return timeNotifyPass(ctx, c, d, nil, "PostgreSQL", cpuProfile, workers)
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
// and prints what it did; deferCheckpoints is the store's, as serve
// wires it (nil without).
func timeNotifyPass(ctx context.Context, c *cmdEnv, db *database.DB, deferCheckpoints func() func(), storeNote, cpuProfile string, workers int) error {
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
	// The collector's settings of vigil serve, whose notifier shares its
	// process with the pipeline: the pass is timed as serve runs it.
	collectLessOften()
	n, err := notify.New(cfg, notify.Deps{Store: db, Identity: id, Logger: envLogger(c), Room: makeRoom,
		DeferCheckpoints: deferCheckpoints})
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
	start, cpu := time.Now(), processCPU()
	rep, err := n.RunOnce(ctx, start)
	elapsed, cpu := time.Since(start), processCPU()-cpu
	if err != nil {
		return err
	}
	if len(rep.Errors) > 0 {
		return fmt.Errorf("%d organisations failed, the first %s: %w", len(rep.Errors), rep.Errors[0].Org, rep.Errors[0].Err)
	}
	// Labels in the command line's language, figures in one machine
	// format (digits without grouping, Go durations) for scripts.
	fmt.Fprintln(out, c.t("bench.notify.signing", storeNote))
	fmt.Fprintln(out, c.t("bench.peakrss", peakRSS()))
	fmt.Fprintln(out, c.t("bench.notify.organisations", rep.Organisations))
	fmt.Fprintln(out, c.t("bench.notify.events", stored, rep.Consumed, rep.Notified, rep.Duplicates))
	fmt.Fprintln(out, c.t("bench.notify.messages", rep.Messages))
	fmt.Fprintln(out, c.t("bench.notify.reading", rep.Reading.Round(time.Millisecond)))
	fmt.Fprintln(out, c.t("bench.notify.committing", rep.Committing.Round(time.Millisecond)))
	fmt.Fprintln(out, c.t("bench.notify.elapsed", elapsed.Round(time.Millisecond)))
	fmt.Fprintln(out, c.t("bench.notify.cpu", cpu.Seconds()))
	if rep.Consumed != int(stored) || rep.Waiting != 0 {
		return fmt.Errorf("handled %d of %d events, %d waiting", rep.Consumed, stored, rep.Waiting)
	}
	return nil
}

// loadNotifyBench creates the store of bench notify at path, closed when
// it returns. Loading runs without fsyncs: the data is throwaway.
func loadNotifyBench(ctx context.Context, c *cmdEnv, path, layout string, spec notify.BenchSpec, now time.Time) error {
	db, err := sqlitestore.Open(ctx, path, sqlitestore.Options{Synchronous: "OFF", EventLayout: layout, Logger: envLogger(c)})
	if err != nil {
		return err
	}
	d, err := database.New(ctx, db)
	if err != nil {
		db.Close()
		return err
	}
	fmt.Fprintln(c.stdout, c.t("bench.notify.loading", spec.Organisations, spec.Prefixes, spec.Events, path))
	spec.Now = now
	err = notify.LoadBench(ctx, d, spec, nil)
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, c.t("bench.loaded", time.Since(now).Round(time.Second)))
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
