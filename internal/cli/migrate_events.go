package cli

// vigil migrate-events: the SQLite event store converted from the rows
// layout to the parts layout, in place (sqlitestore.MigrateEventsToParts),
// with a progress bar on a terminal and a line every few seconds
// otherwise.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/store/sqlitestore"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

var cmdMigrateEvents = &command{
	name:    "migrate-events",
	summary: "convert the SQLite event store to the parts layout, in place (stop vigil serve first)",
	usage:   "[--vacuum] [--data DIR] [--config FILE]",
	help: `Converts the events of the SQLite database from one table (the rows layout)
to partitions of compressed blocks (the parts layout), in place, keeping
every event's id. Stop vigil serve (and every other vigil process on the
database) first: until the conversion ends, vigil serve refuses to open
the database and says to finish it.

The events are copied in id order, ten thousand at a time, each step in
one transaction that also deletes the copied rows, so the database grows
by little during the conversion. A kill, a crash or Ctrl-C stops it
safely: run vigil migrate-events again and it goes on where it stopped.
A database in the parts layout already is left as it is.

The file keeps the pages the rows layout took, free for the events to
come; --vacuum then gives them back to the file system (SQLite's VACUUM,
which needs free disk space of the converted database's size).

A progress bar is shown on a terminal, a line every few seconds
otherwise. PostgreSQL databases are not converted: they keep their
events table.`,
	run: runMigrateEvents,
}

// eventConverter is the store that can convert its events: SQLite's.
type eventConverter interface {
	MigrateEventsToParts(ctx context.Context, progress func(done, total int64)) error
	DB() sqlkit.DB
	Close() error
}

func runMigrateEvents(ctx context.Context, c *cmdEnv, args []string) error {
	vacuum := c.flags.Bool("vacuum", false, "then give the space the rows layout took back to the file system (VACUUM)")
	if err := c.parse(args); err != nil {
		return err
	}
	if len(c.flags.Args()) > 0 {
		return c.usageError("cli.migrateevents.args")
	}
	cfg, err := c.loadConfig()
	if err != nil {
		return err
	}
	if strings.HasPrefix(cfg.Database, "postgres") {
		return c.fail("cli.migrateevents.postgres")
	}
	path := cfg.Path("vigil.db")
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return c.fail("cli.migrateevents.nodb", path)
	}
	log := slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	st, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	conv, ok := st.(eventConverter)
	if !ok {
		st.Close()
		return c.fail("cli.migrateevents.postgres")
	}
	bar := newConversionProgress(c, path, time.Now())
	err = conv.MigrateEventsToParts(ctx, bar.update)
	bar.end()
	stopped := errors.Is(err, context.Canceled) // resumable, unlike a VACUUM cut short
	already := errors.Is(err, sqlitestore.ErrAlreadyParts)
	switch {
	case already:
		fmt.Fprintln(c.stdout, c.t("cli.migrateevents.already", path))
		err = nil
	case err == nil:
		fmt.Fprintln(c.stdout, bar.summary())
	case !stopped:
		err = failedTo(err, "cli.migrateevents.failed", path)
	}
	before := fileMiB(path)
	if err == nil && *vacuum {
		fmt.Fprintln(c.stderr, c.t("cli.migrateevents.vacuum"))
		if err = vacuumOnDisk(ctx, conv.DB()); err != nil {
			err = failedTo(err, "cli.migrateevents.vacuum.failed", path)
		}
	}
	if closeErr := conv.Close(); err == nil && closeErr != nil {
		return failedTo(closeErr, "cli.migrateevents.close", path)
	}
	switch {
	case stopped:
		fmt.Fprintln(c.stderr, c.t("cli.migrateevents.stopped"))
		return err
	case err != nil:
		return err
	case *vacuum:
		// The file shrinks when Close folds the log into it.
		fmt.Fprintln(c.stdout, c.t("cli.migrateevents.vacuumed", fileMiB(path), before))
	}
	return nil
}

// vacuumOnDisk runs VACUUM with its copy of the database in a file:
// the store keeps temporary tables in memory, where VACUUM would hold
// the whole converted database.
func vacuumOnDisk(ctx context.Context, db sqlkit.DB) error {
	if _, err := db.Exec(ctx, `PRAGMA temp_store = FILE`); err != nil {
		return err
	}
	_, err := db.Exec(ctx, `VACUUM`)
	_, restore := db.Exec(ctx, `PRAGMA temp_store = MEMORY`)
	return errors.Join(err, restore)
}

// fileMiB is the size of the file at path in MiB, as text.
func fileMiB(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		return "?"
	}
	return fmt.Sprint((fi.Size() + 1<<19) >> 20)
}

// conversionProgress shows a conversion's progress: a bar redrawn in
// place at most ten times a second on a terminal, a line every
// lineEvery otherwise.
type conversionProgress struct {
	c        *cmdEnv
	w        io.Writer
	terminal bool
	path     string
	// start is when the conversion began, startDone the events it found
	// copied already (a resumed conversion), for the rate.
	start     time.Time
	startDone int64
	began     bool
	drawn     time.Time // the last draw
	shown     bool      // a bar is on the terminal's line
	done      int64
	total     int64
}

const (
	redrawEvery = 100 * time.Millisecond
	lineEvery   = 5 * time.Second
)

func newConversionProgress(c *cmdEnv, path string, now time.Time) *conversionProgress {
	p := &conversionProgress{c: c, w: c.stderr, path: path, start: now}
	p.terminal = c.stderrTerminal() != nil
	return p
}

// update is the conversion's progress callback.
func (p *conversionProgress) update(done, total int64) {
	p.updateAt(done, total, time.Now())
}

func (p *conversionProgress) updateAt(done, total int64, now time.Time) {
	p.done, p.total = done, total
	if !p.began {
		// The first call, before any step: say what is to be done.
		p.began, p.startDone, p.start, p.drawn = true, done, now, now
		if done > 0 {
			fmt.Fprintln(p.w, p.c.t("cli.migrateevents.resume", p.path, p.number(done), p.number(total)))
		} else {
			fmt.Fprintln(p.w, p.c.t("cli.migrateevents.start", p.number(total), p.path))
		}
		return
	}
	switch {
	case p.terminal && (now.Sub(p.drawn) >= redrawEvery || done == total):
		fmt.Fprint(p.w, "\r"+p.line(now)+"\x1b[K")
		p.shown = true
	case !p.terminal && now.Sub(p.drawn) >= lineEvery:
		fmt.Fprintln(p.w, p.line(now))
	default:
		return
	}
	p.drawn = now
}

// end ends the bar's line.
func (p *conversionProgress) end() {
	if p.shown {
		fmt.Fprintln(p.w)
		p.shown = false
	}
}

// line is "[#####.....] 45%  450,000 / 1,000,000 events  52,000/s  ETA 12s".
func (p *conversionProgress) line(now time.Time) string {
	const width = 30
	frac := 1.0
	if p.total > 0 {
		frac = float64(p.done) / float64(p.total)
	}
	filled := int(frac * width)
	bar := "[" + strings.Repeat("#", filled) + strings.Repeat(".", width-filled) + "]"
	rate := p.rate(now)
	eta := "?"
	if rate > 0 {
		eta = i18n.Embedded().Duration(p.c.lang, time.Duration(float64(p.total-p.done)/rate*float64(time.Second)))
	}
	return fmt.Sprintf("%s %3d%%  %s", bar, int(frac*100),
		p.c.t("cli.migrateevents.progress", p.number(p.done), p.number(p.total), p.number(int64(rate)), eta))
}

// rate is the events copied a second by this run.
func (p *conversionProgress) rate(now time.Time) float64 {
	if s := now.Sub(p.start).Seconds(); s > 0 {
		return float64(p.done-p.startDone) / s
	}
	return 0
}

// summary is the line said at the end.
func (p *conversionProgress) summary() string {
	now := time.Now()
	return p.c.t("cli.migrateevents.done", p.number(p.done-p.startDone), p.path,
		now.Sub(p.start).Round(time.Millisecond), p.number(int64(p.rate(now))))
}

func (p *conversionProgress) number(n int64) string {
	return i18n.Embedded().Number(p.c.lang, int(n))
}
