package enricher

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/pipeline"
)

func init() {
	pipeline.RegisterEnricher("asn",
		"source/destination asn, as_name and network from a RouteViews pfx2as file (options: file, names_file, reload)",
		func(env pipeline.Env, opts pipeline.Options) (pipeline.Enricher, error) {
			var o struct {
				File      string        `opt:"file"`
				NamesFile string        `opt:"names_file"`
				Reload    time.Duration `opt:"reload"`
			}
			o.Reload = DefaultReload
			if err := opts.Decode(&o); err != nil {
				return nil, fmt.Errorf("asn: %w", err)
			}
			if o.File == "" {
				return nil, fmt.Errorf("asn: %w", pipeline.OptionProblem("enricher.asn.nofile"))
			}
			return OpenASN(o.File, o.NamesFile, o.Reload, env)
		})
}

// DefaultReload is how often the asn and geoip enrichers look whether their
// file changed: a stat is cheap, and a cron job replacing the file is then
// all an operator has to set up.
const DefaultReload = 10 * time.Minute

// ASN sets source.asn, source.as_name and source.network (and the
// destination.* ones when destination.ip is set) from a routing table. It
// never replaces what a feed supplied: when an event has an ASN already,
// only the name of that AS is added, and the network only when the table
// agrees on the origin.
type ASN struct {
	table atomic.Pointer[RoutingTable]

	// Reloading; nil for a table given by NewASN.
	file, namesFile string
	watch           *fileWatch
	reload          *periodic
	logger          *slog.Logger
	now             func() time.Time
}

// NewASN returns an enricher over a fixed table (for `vigil bench` and
// tests).
func NewASN(t *RoutingTable) *ASN {
	a := &ASN{now: time.Now}
	a.table.Store(t)
	return a
}

// OpenASN loads a routing table file and an optional names file, and
// reloads them every reload interval (0: never) when either changed.
func OpenASN(file, namesFile string, reload time.Duration, env pipeline.Env) (*ASN, error) {
	a := &ASN{file: file, namesFile: namesFile, logger: env.Logger, now: env.Now}
	if a.logger == nil {
		a.logger = slog.New(slog.DiscardHandler)
	}
	if a.now == nil {
		a.now = time.Now
	}
	a.watch = newFileWatch(file, namesFile)
	a.watch.changed() // record the current versions
	t, err := loadRoutingFiles(file, namesFile, a.logger)
	if err != nil {
		return nil, fmt.Errorf("asn: %w", err)
	}
	a.table.Store(t)
	a.reload = newPeriodic(reload, a.now())
	return a, nil
}

func loadRoutingFiles(file, namesFile string, logger *slog.Logger) (*RoutingTable, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, pipeline.FileOptionError("file", file, err)
	}
	defer f.Close()
	t, err := LoadRoutingTable(f)
	var empty *noPrefixesError
	switch {
	case errors.As(err, &empty):
		return nil, &pipeline.OptionError{Message: i18n.M("enricher.asn.empty", file, empty.malformed.Count), Err: err}
	case err != nil:
		return nil, pipeline.FileOptionError("file", file, err)
	}
	if t.Malformed.Count > 0 {
		logger.Warn("routing table: malformed lines skipped", "file", file, "malformed", t.Malformed.String())
	}
	if namesFile != "" {
		nf, err := os.Open(namesFile)
		if err != nil {
			return nil, pipeline.FileOptionError("names_file", namesFile, err)
		}
		defer nf.Close()
		if err := t.LoadNames(nf); err != nil {
			return nil, pipeline.FileOptionError("names_file", namesFile, err)
		}
		if t.MalformedNames.Count > 0 {
			logger.Warn("AS names: malformed lines skipped", "file", namesFile, "malformed", t.MalformedNames.String())
		}
	}
	logger.Info("routing table loaded", "file", file, "prefixes", t.Len(), "as_names", len(t.names))
	return t, nil
}

// Table returns the routing table in use.
func (a *ASN) Table() *RoutingTable { return a.table.Load() }

// sideKeys are one side's field names, spelt out once so the hot path does
// not concatenate strings.
type sideKeys struct {
	ip, asn, asName, network, url, fqdn, port, reverseDNS string
	cc, city, latitude, longitude, region                 string
}

func newSideKeys(side string) sideKeys {
	return sideKeys{
		ip: side + ".ip", asn: side + ".asn", asName: side + ".as_name", network: side + ".network",
		url: side + ".url", fqdn: side + ".fqdn", port: side + ".port", reverseDNS: side + ".reverse_dns",
		cc: side + ".geolocation.cc", city: side + ".geolocation.city",
		latitude: side + ".geolocation.latitude", longitude: side + ".geolocation.longitude",
		region: side + ".geolocation.region",
	}
}

var sides = [2]sideKeys{newSideKeys("source"), newSideKeys("destination")}

// Enrich implements pipeline.Enricher.
func (a *ASN) Enrich(_ context.Context, b *pipeline.Batch) error {
	t := a.table.Load()
	var near [len(sides)]asnNear
	for _, e := range b.Events {
		for i := range sides {
			enrichASNSide(t, e, &sides[i], &near[i])
		}
	}
	if a.reload.start(a.now()) {
		go func() {
			defer a.reload.done()
			a.reloadIfChanged()
		}()
	}
	return nil
}

// asnNear is where a side's keys were in the batch's last event
// (event.GetNear): a batch's events have their keys at the same places.
type asnNear struct{ ip, asn, asName, network int }

func enrichASNSide(t *RoutingTable, e *event.Event, k *sideKeys, near *asnNear) {
	ipText, ok := e.GetNear(k.ip, &near.ip)
	if !ok {
		return
	}
	given, hasASN := e.GetNear(k.asn, &near.asn)
	hasName, hasNetwork := e.HasNear(k.asName, &near.asName), e.HasNear(k.network, &near.network)
	if hasName && hasNetwork {
		return
	}
	addr, err := netip.ParseAddr(ipText)
	if err != nil {
		return
	}
	r, found := t.prefixes.Lookup(addr)
	if hasASN {
		if !hasName {
			if n, err := strconv.ParseUint(given, 10, 32); err == nil {
				if name := t.names[uint32(n)]; name != "" {
					e.SetTrusted(k.asName, name)
				}
			}
		}
		if found && !hasNetwork && r.origin.text == given {
			e.SetTrusted(k.network, r.network)
		}
		return
	}
	if !found {
		return
	}
	// In key order (as_name, asn, network), set in one move; SetDefaults
	// keeps a name or network the event has.
	all := [3]event.Field{{Key: k.asName, Value: r.origin.name}, {Key: k.asn, Value: r.origin.text}, {Key: k.network, Value: r.network}}
	fields := all[:]
	if r.origin.name == "" {
		fields = fields[1:]
	}
	e.SetDefaults(fields...)
}

// MayAdd implements pipeline.FieldAdder: per side with an address, the
// AS name (when the table has names), number and network it lacks; with
// its number given, the name and the network only.
func (a *ASN) MayAdd(has func(key string) bool) []string {
	names := len(a.table.Load().names) > 0
	var keys []string
	for i := range sides {
		k := &sides[i]
		if !has(k.ip) || has(k.asName) && has(k.network) {
			continue
		}
		if names {
			keys = append(keys, k.asName)
		}
		if !has(k.asn) {
			keys = append(keys, k.asn)
		}
		keys = append(keys, k.network)
	}
	return keys
}

// reloadIfChanged swaps in a new table when a file changed. A file that
// fails to load keeps the old table in use; the next change is tried again.
func (a *ASN) reloadIfChanged() bool {
	if a.watch == nil || !a.watch.changed() {
		return false
	}
	t, err := loadRoutingFiles(a.file, a.namesFile, a.logger)
	if err != nil {
		a.logger.Error("asn: reload failed, keeping the previous routing table", "err", err)
		return false
	}
	a.table.Store(t)
	return true
}

// fileWatch notices a replaced or rewritten file by its modification time
// and size. It is used by one goroutine at a time.
type fileWatch struct {
	paths  []string
	stamps []fileStamp
}

type fileStamp struct {
	mod  int64 // Unix nanoseconds
	size int64
}

func newFileWatch(paths ...string) *fileWatch {
	w := &fileWatch{}
	for _, p := range paths {
		if p != "" {
			w.paths = append(w.paths, p)
		}
	}
	w.stamps = make([]fileStamp, len(w.paths))
	return w
}

// changed reports whether any file differs from the last call, and
// remembers the versions seen. A file that cannot be read does not count as
// changed: a half-finished replacement must not empty the table.
func (w *fileWatch) changed() bool {
	changed := false
	for i, p := range w.paths {
		fi, err := os.Stat(p)
		if err != nil {
			continue
		}
		s := fileStamp{mod: fi.ModTime().UnixNano(), size: fi.Size()}
		if s != w.stamps[i] {
			w.stamps[i] = s
			changed = true
		}
	}
	return changed
}

var (
	_ pipeline.Enricher   = (*ASN)(nil)
	_ pipeline.FieldAdder = (*ASN)(nil)
)
