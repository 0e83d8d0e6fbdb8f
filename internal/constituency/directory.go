package constituency

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultPollInterval is how often Run asks the store whether the
// constituency changed.
const DefaultPollInterval = 5 * time.Second

// DirectoryOptions configure a Directory; the zero value is usable.
type DirectoryOptions struct {
	// PollInterval is how often Run checks ConstituencyVersion
	// (DefaultPollInterval when 0).
	PollInterval time.Duration
	Logger       *slog.Logger
}

// Directory is the constituency as every part of one process sees it: the
// current Table, replaced as a whole when the organisations change, so
// that lookups never wait and never see half an update. The console calls
// Reload after each change it makes; Run follows the changes made by
// other processes (the console of another machine, an import on the
// command line) through the store's constituency version.
type Directory struct {
	source   Organisations
	interval time.Duration
	log      *slog.Logger

	table atomic.Pointer[Table]
	// reload serializes reloads, so that a slow one cannot replace the
	// table of a later one. version is the store's version the table was
	// built from, -1 before the first load.
	reload  sync.Mutex
	version atomic.Int64
}

// NewDirectory returns a directory over source holding an empty table
// until the first Reload.
func NewDirectory(source Organisations, opts DirectoryOptions) *Directory {
	d := &Directory{source: source, interval: opts.PollInterval, log: opts.Logger}
	if d.interval <= 0 {
		d.interval = DefaultPollInterval
	}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	d.table.Store(NewTable(nil))
	d.version.Store(-1)
	return d
}

// Table returns the table in use. It stays valid and unchanged however
// long the caller keeps it.
func (d *Directory) Table() *Table { return d.table.Load() }

// Version is the store's constituency version the table was built from,
// -1 before the first load.
func (d *Directory) Version() int64 { return d.version.Load() }

// OwnerOf answers with the table in use; see Table.OwnerOf.
func (d *Directory) OwnerOf(addr netip.Addr, asn uint32, fqdn string) (string, bool) {
	return d.table.Load().OwnerOf(addr, asn, fqdn)
}

// Reload rebuilds the table from the store and swaps it in. Readers go on
// with the old table until the new one is complete. Problems Check finds
// in the stored organisations (which imports refuse, but other writers
// may let through) are logged; the table is built anyway.
func (d *Directory) Reload(ctx context.Context) error {
	d.reload.Lock()
	defer d.reload.Unlock()
	// The version is read before the organisations: a change between the
	// two reads makes the version seen older than the data, so the next
	// poll reloads once more rather than missing the change.
	version, err := d.source.ConstituencyVersion(ctx)
	if err != nil {
		return fmt.Errorf("constituency version: %w", err)
	}
	orgs, err := d.source.ListOrganisations(ctx, OrganisationQuery{})
	if err != nil {
		return fmt.Errorf("list organisations: %w", err)
	}
	started := time.Now()
	t := NewTable(orgs)
	if problems := Check(orgs); HasErrors(problems) {
		var first Problem
		n := 0
		for _, p := range problems {
			if p.Severity == SeverityError {
				if n == 0 {
					first = p
				}
				n++
			}
		}
		d.log.Warn("the stored constituency breaks the overlap rules; where organisations claim the same resource, the first handle wins",
			"errors", n, "first", first.String())
	}
	d.table.Store(t)
	d.version.Store(version)
	d.log.Info("constituency loaded", "organisations", t.Organisations(), "networks", t.Networks(),
		"version", version, "took", time.Since(started).Round(time.Millisecond))
	return nil
}

// Run loads the table unless it is current already (a Reload before Run
// is not repeated), then checks the store's version every poll interval
// and reloads when it changed, until ctx ends. A failing store is logged
// and retried at the next poll: the old table keeps serving meanwhile. It
// returns nil when ctx ends.
func (d *Directory) Run(ctx context.Context) error {
	if err := d.reloadIfChanged(ctx); err != nil && ctx.Err() == nil {
		d.log.Error("constituency load failed; retrying", "err", err)
	}
	tick := time.NewTicker(d.interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		if err := d.reloadIfChanged(ctx); err != nil && !errors.Is(err, context.Canceled) {
			d.log.Error("constituency reload failed; keeping the current table", "err", err)
		}
	}
}

func (d *Directory) reloadIfChanged(ctx context.Context) error {
	v, err := d.source.ConstituencyVersion(ctx)
	if err != nil {
		return fmt.Errorf("constituency version: %w", err)
	}
	if v == d.version.Load() {
		return nil
	}
	return d.Reload(ctx)
}
