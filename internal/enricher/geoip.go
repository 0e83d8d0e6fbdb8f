package enricher

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/oschwald/maxminddb-golang/v2"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/pipeline"
)

func init() {
	pipeline.RegisterEnricher("geoip",
		"source/destination geolocation (cc, city, region, latitude, longitude) from a MaxMind-format .mmdb (options: file, reload)",
		func(env pipeline.Env, opts pipeline.Options) (pipeline.Enricher, error) {
			var o struct {
				File   string        `opt:"file"`
				Reload time.Duration `opt:"reload"`
			}
			o.Reload = DefaultReload
			if err := opts.Decode(&o); err != nil {
				return nil, fmt.Errorf("geoip: %w", err)
			}
			if o.File == "" {
				return nil, fmt.Errorf("geoip: %w", pipeline.OptionProblem("enricher.geoip.nofile"))
			}
			return OpenGeoIP(o.File, o.Reload, env)
		})
}

// geoCacheLimit bounds the decoded records kept per database. A country
// database has a few hundred records, a city database some hundred
// thousand; past the limit records are decoded on every lookup.
const geoCacheLimit = 1 << 18

// GeoIP sets a side's geolocation.cc, .city, .region, .latitude and
// .longitude from a MaxMind-format database (GeoLite2/GeoIP2 Country or
// City, DB-IP, IPinfo's mmdb), for source.ip and destination.ip. A side
// whose geolocation.cc a feed already supplied is left alone, so that a
// city from the database never joins a country from the feed.
//
// The database is read into memory rather than mapped, so that a reload can
// swap it while lookups on the old one finish, without unmapping under
// them.
type GeoIP struct {
	db atomic.Pointer[geoDatabase]

	file   string
	watch  *fileWatch
	reload *periodic
	logger *slog.Logger
	now    func() time.Time
}

// geoDatabase is one version of the file with the records decoded from it.
// Decoding with reflection costs microseconds, so each record is decoded
// once, keyed by its offset in the data section, which identifies it for
// this version of the file.
type geoDatabase struct {
	reader     *maxminddb.Reader
	cache      sync.Map // uintptr → *geoValues
	cached     atomic.Int64
	warnedOnce atomic.Bool
}

// geoValues are a record's fields in canonical event form; empty ones are
// not set.
type geoValues struct {
	cc, city, region, latitude, longitude string
}

// mmdbRecord is the part of the GeoIP2 schema Vigil uses.
type mmdbRecord struct {
	Country struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"country"`
	City struct {
		Names map[string]string `maxminddb:"names"`
	} `maxminddb:"city"`
	Subdivisions []struct {
		Names map[string]string `maxminddb:"names"`
	} `maxminddb:"subdivisions"`
	Location struct {
		Latitude  *float64 `maxminddb:"latitude"`
		Longitude *float64 `maxminddb:"longitude"`
	} `maxminddb:"location"`
}

// OpenGeoIP opens a .mmdb file and reloads it every reload interval (0:
// never) when it changed.
func OpenGeoIP(file string, reload time.Duration, env pipeline.Env) (*GeoIP, error) {
	g := &GeoIP{file: file, logger: env.Logger, now: env.Now}
	if g.logger == nil {
		g.logger = slog.New(slog.DiscardHandler)
	}
	if g.now == nil {
		g.now = time.Now
	}
	g.watch = newFileWatch(file)
	g.watch.changed()
	db, err := openGeoDatabase(file)
	if err != nil {
		return nil, fmt.Errorf("geoip: %w", err)
	}
	g.db.Store(db)
	g.reload = newPeriodic(reload, g.now())
	g.logger.Info("geoip database loaded", "file", file, "type", db.reader.Metadata.DatabaseType,
		"built", db.reader.Metadata.BuildTime().UTC().Format(time.DateOnly))
	return g, nil
}

func openGeoDatabase(file string) (*geoDatabase, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, pipeline.FileOptionError("file", file, err)
	}
	r, err := maxminddb.OpenBytes(b)
	if err != nil {
		return nil, &pipeline.OptionError{Message: i18n.M("enricher.geoip.notmmdb", file, err.Error()), Err: err}
	}
	// No r.Verify(): it also refuses databases whose metadata lacks
	// optional parts (a description), which some producers leave out, and
	// reflection decoding bounds its own work on a corrupt record.
	return &geoDatabase{reader: r}, nil
}

// Enrich implements pipeline.Enricher.
func (g *GeoIP) Enrich(_ context.Context, b *pipeline.Batch) error {
	db := g.db.Load()
	var near [len(sides)][2]int // where each side's ip and cc were (event.GetNear)
	for _, e := range b.Events {
		for i := range sides {
			g.enrichSide(db, e, &sides[i], &near[i])
		}
	}
	if g.reload.start(g.now()) {
		go func() {
			defer g.reload.done()
			g.reloadIfChanged()
		}()
	}
	return nil
}

func (g *GeoIP) enrichSide(db *geoDatabase, e *event.Event, k *sideKeys, near *[2]int) {
	ipText, ok := e.GetNear(k.ip, &near[0])
	if !ok || e.HasNear(k.cc, &near[1]) {
		return
	}
	addr, err := netip.ParseAddr(ipText)
	if err != nil {
		return
	}
	v := db.lookup(addr, g.logger)
	if v == nil {
		return
	}
	// In key order (cc, city, latitude, longitude, region) and set in one
	// move; an empty value is not set and SetDefaults keeps what is.
	var found [5]event.Field
	n := 0
	for _, f := range [5]event.Field{
		{Key: k.cc, Value: v.cc}, {Key: k.city, Value: v.city},
		{Key: k.latitude, Value: v.latitude}, {Key: k.longitude, Value: v.longitude},
		{Key: k.region, Value: v.region},
	} {
		if f.Value != "" {
			found[n] = f
			n++
		}
	}
	e.SetDefaults(found[:n]...)
}

// MayAdd implements pipeline.FieldAdder: a side with an address and no
// country may get every geolocation field.
func (g *GeoIP) MayAdd(has func(key string) bool) []string {
	var keys []string
	for i := range sides {
		k := &sides[i]
		if has(k.ip) && !has(k.cc) {
			keys = append(keys, k.cc, k.city, k.latitude, k.longitude, k.region)
		}
	}
	return keys
}

func (db *geoDatabase) lookup(addr netip.Addr, logger *slog.Logger) *geoValues {
	res := db.reader.Lookup(addr)
	if err := res.Err(); err != nil {
		if db.warnedOnce.CompareAndSwap(false, true) {
			logger.Warn("geoip lookup failed; further failures of this database are not logged", "ip", addr, "err", err)
		}
		return nil
	}
	if !res.Found() {
		return nil
	}
	off := res.Offset()
	if v, ok := db.cache.Load(off); ok {
		return v.(*geoValues)
	}
	var rec mmdbRecord
	if err := res.Decode(&rec); err != nil {
		if db.warnedOnce.CompareAndSwap(false, true) {
			logger.Warn("geoip record unreadable; further failures of this database are not logged", "ip", addr, "err", err)
		}
		return nil
	}
	v := rec.values()
	if db.cached.Load() < geoCacheLimit {
		if _, loaded := db.cache.LoadOrStore(off, v); !loaded {
			db.cached.Add(1)
		}
	}
	return v
}

// values turns a record into canonical event values, dropping what would
// not validate (a database is outside input too).
func (rec *mmdbRecord) values() *geoValues {
	v := &geoValues{}
	if cc, err := event.Normalize("source.geolocation.cc", rec.Country.ISOCode); err == nil {
		v.cc = cc
	}
	v.city = cleanName(rec.City.Names["en"])
	if len(rec.Subdivisions) > 0 {
		v.region = cleanName(rec.Subdivisions[0].Names["en"])
	}
	if lat, lon := rec.Location.Latitude, rec.Location.Longitude; lat != nil && lon != nil &&
		*lat >= -90 && *lat <= 90 && *lon >= -180 && *lon <= 180 {
		v.latitude = strconv.FormatFloat(*lat, 'f', -1, 64)
		v.longitude = strconv.FormatFloat(*lon, 'f', -1, 64)
	}
	return v
}

func cleanName(s string) string { return strings.TrimSpace(strings.ToValidUTF8(s, "\uFFFD")) }

func (g *GeoIP) reloadIfChanged() bool {
	if !g.watch.changed() {
		return false
	}
	db, err := openGeoDatabase(g.file)
	if err != nil {
		g.logger.Error("geoip: reload failed, keeping the previous database", "err", err)
		return false
	}
	g.db.Store(db)
	g.logger.Info("geoip database reloaded", "file", g.file, "built", db.reader.Metadata.BuildTime().UTC().Format(time.DateOnly))
	return true
}

var (
	_ pipeline.Enricher   = (*GeoIP)(nil)
	_ pipeline.FieldAdder = (*GeoIP)(nil)
)
