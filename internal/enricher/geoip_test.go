package enricher

import (
	"maps"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"

	"github.com/vigil-cert/vigil/internal/pipeline"
)

// cityRecord is a GeoIP2-City-shaped record for test databases.
type cityRecord struct {
	cc, city, region string
	lat, lon         float64
}

// writeCityDatabase writes a small City database to a temporary file.
func writeCityDatabase(t testing.TB, path string, nets map[string]cityRecord) {
	t.Helper()
	tree, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: "Test-City", IncludeReservedNetworks: true, RecordSize: 24})
	if err != nil {
		t.Fatal(err)
	}
	for cidr, r := range nets {
		_, ipnet, err := net.ParseCIDR(cidr)
		if err != nil {
			t.Fatal(err)
		}
		rec := mmdbtype.Map{"country": mmdbtype.Map{"iso_code": mmdbtype.String(r.cc)}}
		if r.city != "" {
			rec["city"] = mmdbtype.Map{"names": mmdbtype.Map{"en": mmdbtype.String(r.city), "nl": mmdbtype.String(r.city + " (nl)")}}
		}
		if r.lat != 0 || r.lon != 0 {
			rec["location"] = mmdbtype.Map{"latitude": mmdbtype.Float64(r.lat), "longitude": mmdbtype.Float64(r.lon)}
		}
		if r.region != "" {
			rec["subdivisions"] = mmdbtype.Slice{mmdbtype.Map{"names": mmdbtype.Map{"en": mmdbtype.String(r.region)}}}
		}
		if err := tree.Insert(ipnet, rec); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tree.WriteTo(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

var testCities = map[string]cityRecord{
	"192.0.2.0/24":    {cc: "BE", city: "Brussels", region: "Brussels Capital", lat: 50.8503, lon: 4.3517},
	"198.51.100.0/24": {cc: "NL"},
	"2001:db8::/32":   {cc: "DE", city: "Berlin", region: "Land Berlin", lat: 52.52, lon: 13.405},
	"203.0.113.0/24":  {cc: "Belgium", city: "Liège"}, // a bad country code is dropped, the rest kept
}

func openTestGeoIP(t testing.TB) *GeoIP {
	t.Helper()
	path := filepath.Join(t.TempDir(), "city.mmdb")
	writeCityDatabase(t, path, testCities)
	g, err := OpenGeoIP(path, 0, pipeline.Env{})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestGeoIP(t *testing.T) {
	g := openTestGeoIP(t)
	tests := []struct {
		name string
		in   map[string]string
		want map[string]string
	}{
		{"city record",
			map[string]string{"source.ip": "192.0.2.10"},
			map[string]string{"source.geolocation.cc": "BE", "source.geolocation.city": "Brussels", "source.geolocation.region": "Brussels Capital",
				"source.geolocation.latitude": "50.8503", "source.geolocation.longitude": "4.3517"}},
		{"country only",
			map[string]string{"source.ip": "198.51.100.1"},
			map[string]string{"source.geolocation.cc": "NL"}},
		{"IPv6 destination",
			map[string]string{"destination.ip": "2001:db8::42"},
			map[string]string{"destination.geolocation.cc": "DE", "destination.geolocation.city": "Berlin", "destination.geolocation.region": "Land Berlin",
				"destination.geolocation.latitude": "52.52", "destination.geolocation.longitude": "13.405"}},
		{"bad country code dropped",
			map[string]string{"source.ip": "203.0.113.5"},
			map[string]string{"source.geolocation.city": "Liège"}},
		{"side with a feed's country left alone",
			map[string]string{"source.ip": "192.0.2.10", "source.geolocation.cc": "FR", "destination.ip": "198.51.100.1"},
			map[string]string{"source.geolocation.cc": "FR", "destination.geolocation.cc": "NL"}},
		{"address not in the database",
			map[string]string{"source.ip": "8.8.8.8"},
			map[string]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for round := range 2 { // the second round answers from the cache
				e := newEvent(t, tt.in)
				enrichOne(t, g, e)
				if got := fieldsOf(e, "source.geolocation", "destination.geolocation"); !maps.Equal(got, tt.want) {
					t.Errorf("round %d: got %v, want %v", round, got, tt.want)
				}
			}
		})
	}
}

func TestGeoIPGolden(t *testing.T) { runGolden(t, "geoip", openTestGeoIP(t)) }

func TestGeoIPFactory(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "city.mmdb")
	writeCityDatabase(t, good, testCities)
	notMMDB := filepath.Join(dir, "junk.mmdb")
	if err := os.WriteFile(notMMDB, []byte("not a database"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := pipeline.NewEnricher("geoip", pipeline.Env{}, pipeline.Options{"file": good}); err != nil {
		t.Errorf("good database: %v", err)
	}
	for name, opts := range map[string]pipeline.Options{
		"missing file":    {},
		"absent file":     {"file": filepath.Join(dir, "absent.mmdb")},
		"not a database":  {"file": notMMDB},
		"misspelt option": {"file": good, "relaod": "1h"},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := pipeline.NewEnricher("geoip", pipeline.Env{}, opts); err == nil {
				t.Error("no error")
			}
		})
	}
}

func TestWriteCountryDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "country.mmdb")
	nets := map[netip.Prefix]string{
		netip.MustParsePrefix("10.0.0.0/8"):      "BE",
		netip.MustParsePrefix("10.1.0.0/16"):     "nl", // normalized
		netip.MustParsePrefix("192.0.2.0/24"):    "LU",
		netip.MustParsePrefix("2001:db8::/32"):   "FR",
		netip.MustParsePrefix("2001:db8:1::/48"): "DE",
	}
	if err := WriteCountryDatabase(path, nets); err != nil {
		t.Fatal(err)
	}
	g, err := OpenGeoIP(path, 0, pipeline.Env{})
	if err != nil {
		t.Fatal(err)
	}
	for ip, want := range map[string]string{
		"10.2.3.4":        "BE",
		"10.1.2.3":        "NL", // the more specific prefix wins
		"192.0.2.200":     "LU",
		"2001:db8:2::1":   "FR",
		"2001:db8:1::1":   "DE",
		"::ffff:10.2.3.4": "BE",
		"8.8.8.8":         "",
	} {
		e := newEvent(t, map[string]string{"source.ip": ip})
		enrichOne(t, g, e)
		if got := e.Value("source.geolocation.cc"); got != want {
			t.Errorf("%s: cc %q, want %q", ip, got, want)
		}
	}
	t.Run("bad country code", func(t *testing.T) {
		err := WriteCountryDatabase(filepath.Join(t.TempDir(), "x.mmdb"), map[netip.Prefix]string{netip.MustParsePrefix("10.0.0.0/8"): "Belgium"})
		if err == nil {
			t.Error("no error")
		}
	})
}

func TestGeoIPReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "country.mmdb")
	if err := WriteCountryDatabase(path, map[netip.Prefix]string{netip.MustParsePrefix("192.0.2.0/24"): "BE"}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	var clock atomic.Int64
	clock.Store(start.UnixNano())
	g, err := OpenGeoIP(path, time.Hour, pipeline.Env{Now: func() time.Time { return time.Unix(0, clock.Load()) }})
	if err != nil {
		t.Fatal(err)
	}
	cc := func() string {
		e := newEvent(t, map[string]string{"source.ip": "192.0.2.1"})
		enrichOne(t, g, e)
		return e.Value("source.geolocation.cc")
	}
	if got := cc(); got != "BE" {
		t.Fatalf("cc %q", got)
	}
	if err := WriteCountryDatabase(path, map[netip.Prefix]string{netip.MustParsePrefix("192.0.2.0/24"): "NL"}); err != nil {
		t.Fatal(err)
	}
	later := start.Add(time.Minute)
	if err := os.Chtimes(path, later, later); err != nil {
		t.Fatal(err)
	}
	if got := cc(); got != "BE" {
		t.Errorf("cc %q before the interval passed", got)
	}
	clock.Add(int64(2 * time.Hour))
	deadline := time.Now().Add(5 * time.Second)
	for cc() != "NL" {
		if time.Now().After(deadline) {
			t.Fatal("database not reloaded")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func BenchmarkGeoIP(b *testing.B) {
	// A country database of 50,000 random /16–/24 prefixes and 250
	// countries, the shape of GeoLite2-Country's IPv4 part.
	rng := rand.New(rand.NewPCG(5, 6))
	nets := make(map[netip.Prefix]string, 50_000)
	for len(nets) < 50_000 {
		addr := netip.AddrFrom4([4]byte{byte(1 + rng.IntN(222)), byte(rng.IntN(256)), byte(rng.IntN(256)), 0})
		p, _ := addr.Prefix(16 + rng.IntN(9))
		nets[p] = string([]byte{byte('A' + rng.IntN(26)), byte('A' + rng.IntN(10))})
	}
	path := filepath.Join(b.TempDir(), "country.mmdb")
	if err := WriteCountryDatabase(path, nets); err != nil {
		b.Fatal(err)
	}
	g, err := OpenGeoIP(path, 0, pipeline.Env{})
	if err != nil {
		b.Fatal(err)
	}
	events := benchEvents(b, 1000, func(i int, rng *rand.Rand) map[string]string {
		return map[string]string{"source.ip": netip.AddrFrom4([4]byte{byte(1 + rng.IntN(222)), byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256))}).String()}
	})
	runEnricherBench(b, g, events)
}
