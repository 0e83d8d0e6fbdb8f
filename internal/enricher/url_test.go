package enricher

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"net/url"
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/event"
)

func TestURL(t *testing.T) {
	tests := []struct {
		name string
		in   map[string]string
		want map[string]string // the side's fields besides url
	}{
		{"name without port",
			map[string]string{"source.url": "http://example.com/path?q=1"},
			map[string]string{"source.fqdn": "example.com"}},
		{"name with port",
			map[string]string{"source.url": "https://login.example.com:8443/x"},
			map[string]string{"source.fqdn": "login.example.com", "source.port": "8443"}},
		{"upper-case name normalized",
			map[string]string{"source.url": "http://WWW.Example.COM/"},
			map[string]string{"source.fqdn": "www.example.com"}},
		{"IPv4 literal",
			map[string]string{"source.url": "http://192.0.2.1/admin"},
			map[string]string{"source.ip": "192.0.2.1"}},
		{"IPv6 literal with port",
			map[string]string{"source.url": "http://[2001:db8::1]:8080/"},
			map[string]string{"source.ip": "2001:db8::1", "source.port": "8080"}},
		{"IPv6 literal written long",
			map[string]string{"source.url": "http://[2001:DB8:0:0::1]/"},
			map[string]string{"source.ip": "2001:db8::1"}},
		{"IPv4-mapped literal",
			map[string]string{"source.url": "http://[::ffff:192.0.2.7]/"},
			map[string]string{"source.ip": "192.0.2.7"}},
		{"user info skipped",
			map[string]string{"source.url": "http://user:secret@evil.example:81/"},
			map[string]string{"source.fqdn": "evil.example", "source.port": "81"}},
		{"decimal IPv4 host",
			map[string]string{"source.url": "http://3232235777/"},
			map[string]string{"source.ip": "192.168.1.1"}},
		{"hex and octal IPv4 host",
			map[string]string{"source.url": "http://0xc0.0250.1.1/"},
			map[string]string{"source.ip": "192.168.1.1"}},
		{"two-part IPv4 host",
			map[string]string{"source.url": "http://127.1/"},
			map[string]string{"source.ip": "127.0.0.1"}},
		{"numeric host out of range is neither ip nor fqdn",
			map[string]string{"source.url": "http://1.2.3.999/"},
			map[string]string{}},
		{"port out of range left out",
			map[string]string{"source.url": "http://example.com:99999/"},
			map[string]string{"source.fqdn": "example.com"}},
		{"port with leading zero",
			map[string]string{"source.url": "http://example.com:080/"},
			map[string]string{"source.fqdn": "example.com", "source.port": "80"}},
		{"existing fields kept",
			map[string]string{"source.url": "http://example.com:81/", "source.fqdn": "other.example", "source.port": "443"},
			map[string]string{"source.fqdn": "other.example", "source.port": "443"}},
		{"existing ip does not stop the fqdn",
			map[string]string{"source.url": "http://example.com/", "source.ip": "198.51.100.1"},
			map[string]string{"source.fqdn": "example.com", "source.ip": "198.51.100.1"}},
		{"defanged url",
			map[string]string{"source.url": "hxxp://bad[.]example/x"},
			map[string]string{"source.fqdn": "bad.example"}},
		{"destination side",
			map[string]string{"destination.url": "ftp://files.example.org:2121/pub"},
			map[string]string{"destination.fqdn": "files.example.org", "destination.port": "2121"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEvent(t, tt.in)
			enrichOne(t, URL{}, e)
			got := fieldsOf(e, "source.", "destination.")
			delete(got, "source.url")
			delete(got, "destination.url")
			if !maps.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestURLGolden(t *testing.T) { runGolden(t, "url", URL{}) }

func TestURLNoAllocations(t *testing.T) {
	e := newEvent(t, map[string]string{"source.url": "https://login.example.com:8443/x", "destination.url": "http://192.0.2.1/"})
	fresh := event.New(8)
	allocs := testing.AllocsPerRun(100, func() {
		fresh.Reset()
		for _, f := range e.Fields() {
			fresh.SetTrusted(f.Key, f.Value)
		}
		enrichURLSide(fresh, &sides[0])
		enrichURLSide(fresh, &sides[1])
	})
	if allocs != 0 {
		t.Errorf("%v allocations per event, want 0", allocs)
	}
}

// FuzzURL checks that splitting a URL never panics and agrees with
// net/url on the host of URLs the event model accepts.
func FuzzURL(f *testing.F) {
	for _, s := range []string{"http://example.com/", "https://[2001:db8::1]:443/x", "http://u@h:1", "http://0x7f.1/", "hxxp://a[.]b", "http://[::1", "//x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		host, _, _ := splitURLHost(raw)
		if _, isAddr := parseHostAddr(host); !isAddr && plainHostName(host) {
			if v, err := event.Normalize("source.fqdn", host); err != nil || v != host {
				t.Errorf("plain host name %q normalizes to %q, %v", host, v, err)
			}
		}
		e := event.New(4)
		if err := e.Set("source.url", raw); err != nil {
			return
		}
		enrichURLSide(e, &sides[0])
		normalized := e.Value("source.url")
		host, port, ok := splitURLHost(normalized)
		u, err := url.Parse(normalized)
		if err != nil || !ok || strings.Contains(host, "%") {
			return // net/url unescapes hosts; compare plain ones only
		}
		if u.Hostname() != host || u.Port() != port {
			t.Errorf("host %q port %q, net/url says %q %q (url %q)", host, port, u.Hostname(), u.Port(), normalized)
		}
	})
}

func BenchmarkURL(b *testing.B) {
	hosts := []string{"https://secure-login.bank.example.test/verify?id=%d", "http://198.51.100.23:8080/bins/%d.arm7", "http://[2001:db8::7]/x%d.sh", "https://paypa1.example:8443/signin/%d"}
	events := benchEvents(b, 1000, func(i int, _ *rand.Rand) map[string]string {
		return map[string]string{"source.url": fmt.Sprintf(hosts[i%len(hosts)], i)}
	})
	runEnricherBench(b, URL{}, events)
}
