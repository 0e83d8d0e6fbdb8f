package enricher

import (
	"context"
	"errors"
	"maps"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/pipeline"
)

// ptrServer is a real DNS server on 127.0.0.1 answering PTR queries from a
// table; addresses not in it get NXDOMAIN, "slow" ones no answer in time.
type ptrServer struct {
	addr     string
	names    map[string]string // reverse name → PTR target
	ttl      uint32
	slow     map[string]bool
	servfail map[string]bool
	queries  atomic.Int64
	// delay holds every answer back, to see how many queries overlap.
	delay          time.Duration
	inflight, peak atomic.Int64
	mu             sync.Mutex
	asked          map[string]int
}

// startPTRServer starts the server after setup (if any) configured it:
// the handler reads its settings without locks.
func startPTRServer(t *testing.T, names map[string]string, setup ...func(*ptrServer)) *ptrServer {
	t.Helper()
	s := &ptrServer{names: map[string]string{}, ttl: 3600, slow: map[string]bool{}, servfail: map[string]bool{}, asked: map[string]int{}}
	for ip, name := range names {
		rev, err := dns.ReverseAddr(ip)
		if err != nil {
			t.Fatal(err)
		}
		s.names[rev] = name
	}
	for _, f := range setup {
		f(s)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = pc.LocalAddr().String()
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(s.serve)}
	started := make(chan struct{})
	srv.NotifyStartedFunc = func() { close(started) }
	go srv.ActivateAndServe()
	<-started
	t.Cleanup(func() { srv.Shutdown() })
	return s
}

func (s *ptrServer) reverse(ip string) string {
	rev, _ := dns.ReverseAddr(ip)
	return rev
}

func (s *ptrServer) serve(w dns.ResponseWriter, req *dns.Msg) {
	s.queries.Add(1)
	if s.delay > 0 {
		n := s.inflight.Add(1)
		for p := s.peak.Load(); n > p && !s.peak.CompareAndSwap(p, n); p = s.peak.Load() {
		}
		time.Sleep(s.delay)
		s.inflight.Add(-1)
	}
	q := req.Question[0]
	s.mu.Lock()
	s.asked[q.Name]++
	slow, servfail := s.slow[q.Name], s.servfail[q.Name]
	s.mu.Unlock()
	if slow {
		return // never answer: the client times out
	}
	m := new(dns.Msg)
	m.SetReply(req)
	if servfail {
		m.Rcode = dns.RcodeServerFailure
	} else if name, ok := s.names[q.Name]; ok && q.Qtype == dns.TypePTR {
		m.Answer = append(m.Answer, &dns.PTR{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypePTR, Class: dns.ClassINET, Ttl: s.ttl}, Ptr: name})
	} else {
		m.Rcode = dns.RcodeNameError
	}
	w.WriteMsg(m)
}

func (s *ptrServer) timesAsked(ip string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.asked[s.reverse(ip)]
}

func newTestReverseDNS(t *testing.T, srv *ptrServer, cfg ReverseDNSConfig, now func() time.Time) *ReverseDNS {
	t.Helper()
	cfg.Resolver = srv.addr
	if cfg.Timeout == 0 {
		cfg.Timeout = 300 * time.Millisecond
	}
	r, err := NewReverseDNS(cfg, pipeline.Env{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

var testPTRs = map[string]string{
	"192.0.2.1":         "mail.example.be.",
	"198.51.100.7":      "Scanner-7.Example.NET.",
	"2001:db8::53":      "ns.example.org.",
	"203.0.113.9":       "not a host name.",
	"10.0.0.1":          "intranet.example.",
	"::ffff:192.0.2.66": "mapped.example.",
}

func TestReverseDNS(t *testing.T) {
	srv := startPTRServer(t, testPTRs)
	r := newTestReverseDNS(t, srv, ReverseDNSConfig{}, nil)
	tests := []struct {
		name string
		in   map[string]string
		want map[string]string
	}{
		{"source",
			map[string]string{"source.ip": "192.0.2.1"},
			map[string]string{"source.reverse_dns": "mail.example.be"}},
		{"name normalized",
			map[string]string{"source.ip": "198.51.100.7"},
			map[string]string{"source.reverse_dns": "scanner-7.example.net"}},
		{"IPv6 destination",
			map[string]string{"destination.ip": "2001:db8::53"},
			map[string]string{"destination.reverse_dns": "ns.example.org"}},
		{"both sides",
			map[string]string{"source.ip": "192.0.2.1", "destination.ip": "2001:db8::53"},
			map[string]string{"source.reverse_dns": "mail.example.be", "destination.reverse_dns": "ns.example.org"}},
		{"NXDOMAIN",
			map[string]string{"source.ip": "192.0.2.99"},
			map[string]string{}},
		{"PTR that is no host name",
			map[string]string{"source.ip": "203.0.113.9"},
			map[string]string{}},
		{"feed's reverse_dns kept",
			map[string]string{"source.ip": "192.0.2.1", "source.reverse_dns": "given.example"},
			map[string]string{"source.reverse_dns": "given.example"}},
		{"private address not asked",
			map[string]string{"source.ip": "10.0.0.1"},
			map[string]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEvent(t, tt.in)
			enrichOne(t, r, e)
			if got := fieldsOf(e, "source.reverse_dns", "destination.reverse_dns"); !maps.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	if n := srv.timesAsked("10.0.0.1"); n != 0 {
		t.Errorf("private address asked %d times", n)
	}

	t.Run("lookup_private", func(t *testing.T) {
		r := newTestReverseDNS(t, srv, ReverseDNSConfig{LookupPrivate: true}, nil)
		e := newEvent(t, map[string]string{"source.ip": "10.0.0.1"})
		enrichOne(t, r, e)
		if got := e.Value("source.reverse_dns"); got != "intranet.example" {
			t.Errorf("reverse_dns %q", got)
		}
	})
}

func TestReverseDNSCache(t *testing.T) {
	srv := startPTRServer(t, testPTRs)
	clock := newTestClock(dedupStart)
	r := newTestReverseDNS(t, srv, ReverseDNSConfig{CacheTTL: 10 * time.Minute, NegativeTTL: 5 * time.Minute}, clock.Now)

	// One batch asks once per distinct address, however often it occurs.
	events := make([]*event.Event, 50)
	for i := range events {
		ip := "192.0.2.1"
		if i%2 == 1 {
			ip = "192.0.2.99" // NXDOMAIN
		}
		events[i] = newEvent(t, map[string]string{"source.ip": ip, "destination.ip": "192.0.2.1"})
	}
	enrichBatch(t, r, events...)
	if got := srv.queries.Load(); got != 2 {
		t.Errorf("%d queries for 2 distinct addresses", got)
	}
	for i, e := range events {
		if e.Value("destination.reverse_dns") != "mail.example.be" || (i%2 == 0) != e.Has("source.reverse_dns") {
			t.Fatalf("event %d: %s", i, e.AppendJSON(nil))
		}
	}

	steps := []struct {
		name    string
		advance time.Duration
		ip      string
		queries int64 // total so far
		want    string
	}{
		{"answer cached", time.Minute, "192.0.2.1", 2, "mail.example.be"},
		{"no answer cached too", time.Minute, "192.0.2.99", 2, ""},
		{"negative answer expires", 4 * time.Minute, "192.0.2.99", 3, ""},
		// The record's TTL is an hour, the cap ten minutes.
		{"answer expires at the cap", 9 * time.Minute, "192.0.2.1", 4, "mail.example.be"},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			clock.Advance(s.advance)
			e := newEvent(t, map[string]string{"source.ip": s.ip})
			enrichOne(t, r, e)
			if got := srv.queries.Load(); got != s.queries {
				t.Errorf("%d queries, want %d", got, s.queries)
			}
			if got := e.Value("source.reverse_dns"); got != s.want {
				t.Errorf("reverse_dns %q, want %q", got, s.want)
			}
		})
	}

	t.Run("size bound evicts the least recently used", func(t *testing.T) {
		r := newTestReverseDNS(t, srv, ReverseDNSConfig{CacheSize: 2}, nil)
		for _, ip := range []string{"192.0.2.1", "198.51.100.7", "192.0.2.1", "2001:db8::53"} {
			enrichOne(t, r, newEvent(t, map[string]string{"source.ip": ip}))
		}
		if n := r.cache.len(); n != 2 {
			t.Errorf("cache holds %d", n)
		}
		before := srv.queries.Load()
		enrichOne(t, r, newEvent(t, map[string]string{"source.ip": "192.0.2.1"})) // recently used: cached
		enrichOne(t, r, newEvent(t, map[string]string{"source.ip": "198.51.100.7"}))
		if got := srv.queries.Load() - before; got != 1 {
			t.Errorf("%d queries, want 1 (only the evicted address)", got)
		}
	})
}

func TestReverseDNSFailures(t *testing.T) {
	srv := startPTRServer(t, testPTRs, func(s *ptrServer) {
		s.slow[s.reverse("192.0.2.1")] = true
		s.servfail[s.reverse("198.51.100.7")] = true
	})
	clock := newTestClock(dedupStart)
	r := newTestReverseDNS(t, srv, ReverseDNSConfig{Timeout: 100 * time.Millisecond}, clock.Now)

	e1 := newEvent(t, map[string]string{"source.ip": "192.0.2.1", "destination.ip": "2001:db8::53"})
	e2 := newEvent(t, map[string]string{"source.ip": "198.51.100.7"})
	enrichBatch(t, r, e1, e2)
	if e1.Has("source.reverse_dns") || e2.Has("source.reverse_dns") {
		t.Error("failed lookups set a name")
	}
	if e1.Value("destination.reverse_dns") != "ns.example.org" {
		t.Error("a timeout held up the other addresses of the batch")
	}
	// A failure is remembered for a minute, not hammered every batch.
	asked := srv.timesAsked("192.0.2.1")
	enrichOne(t, r, newEvent(t, map[string]string{"source.ip": "192.0.2.1"}))
	if n := srv.timesAsked("192.0.2.1"); n != asked {
		t.Errorf("asked again within the minute: %d → %d", asked, n)
	}
	clock.Advance(2 * time.Minute)
	enrichOne(t, r, newEvent(t, map[string]string{"source.ip": "192.0.2.1"}))
	if n := srv.timesAsked("192.0.2.1"); n == asked {
		t.Error("failure remembered past its minute")
	}

	t.Run("cancelled context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		b := &pipeline.Batch{Events: []*event.Event{newEvent(t, map[string]string{"source.ip": "192.0.2.200"})}}
		if err := r.Enrich(ctx, b); !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v", err)
		}
	})
}

func TestReverseDNSConcurrency(t *testing.T) {
	const limit = 3
	names := map[string]string{}
	for i := range 40 {
		names["192.0.2."+strconv.Itoa(i+1)] = "h" + strconv.Itoa(i) + ".example."
	}
	srv := startPTRServer(t, names, func(s *ptrServer) { s.delay = 20 * time.Millisecond })
	r := newTestReverseDNS(t, srv, ReverseDNSConfig{Concurrency: limit, Timeout: 2 * time.Second}, nil)
	// Two batches at once share the addresses; each is asked once.
	var wg sync.WaitGroup
	batches := make([][]*event.Event, 2)
	for i := range batches {
		for ip := range names {
			batches[i] = append(batches[i], newEvent(t, map[string]string{"source.ip": ip}))
		}
		wg.Go(func() { enrichBatch(t, r, batches[i]...) })
	}
	wg.Wait()
	if p := srv.peak.Load(); p > limit || p < 2 {
		t.Errorf("at most %d queries in flight, want 2 to %d", p, limit)
	}
	if q := srv.queries.Load(); q != int64(len(names)) {
		t.Errorf("%d queries for %d addresses", q, len(names))
	}
	for _, b := range batches {
		for _, e := range b {
			ip := e.Value("source.ip")
			if want, _ := event.Normalize("source.reverse_dns", names[ip]); e.Value("source.reverse_dns") != want {
				t.Errorf("%s: %q, want %q", ip, e.Value("source.reverse_dns"), want)
			}
		}
	}
}

func TestReverseDNSFactory(t *testing.T) {
	en, err := pipeline.NewEnricher("rdns", pipeline.Env{}, pipeline.Options{"enabled": false, "resolver": "nonsense"})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := en.(nop); !ok {
		t.Errorf("disabled rdns is %T", en)
	}
	if _, err := pipeline.NewEnricher("rdns", pipeline.Env{}, pipeline.Options{"resolver": "127.0.0.1:53", "concurrency": 4, "timeout": "1s", "cache_size": 10, "cache_ttl": "1h", "negative_ttl": "5m"}); err != nil {
		t.Errorf("good options: %v", err)
	}
	for name, opts := range map[string]pipeline.Options{
		"resolver without port": {"resolver": "127.0.0.1"},
		"bad timeout":           {"timeout": "soon"},
		"misspelt option":       {"resolvers": "127.0.0.1:53"},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := pipeline.NewEnricher("rdns", pipeline.Env{}, opts); err == nil {
				t.Error("no error")
			}
		})
	}
}
