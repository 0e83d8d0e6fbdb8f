package enricher

import (
	"container/list"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/pipeline"
)

func init() {
	pipeline.RegisterEnricher("rdns",
		"source/destination reverse_dns by PTR lookup, cached (options: enabled, resolver, concurrency, timeout, cache_size, cache_ttl, negative_ttl, lookup_private)",
		func(env pipeline.Env, opts pipeline.Options) (pipeline.Enricher, error) {
			cfg, enabled, err := decodeReverseDNSOptions(opts)
			if err != nil {
				return nil, fmt.Errorf("rdns: %w", err)
			}
			if !enabled {
				return nop{}, nil
			}
			return NewReverseDNS(cfg, env)
		})
}

// reverseDNSOptions are the enricher's options: whether it is on, and
// its configuration.
type reverseDNSOptions struct {
	Enabled bool `opt:"enabled"`
	ReverseDNSConfig
}

func decodeReverseDNSOptions(opts pipeline.Options) (ReverseDNSConfig, bool, error) {
	o := reverseDNSOptions{Enabled: true, ReverseDNSConfig: ReverseDNSConfig{
		Concurrency: 16,
		Timeout:     2 * time.Second,
		CacheSize:   100_000,
		CacheTTL:    24 * time.Hour,
		NegativeTTL: time.Hour,
	}}
	if err := opts.Decode(&o); err != nil {
		return ReverseDNSConfig{}, false, err
	}
	return o.ReverseDNSConfig, o.Enabled, nil
}

// nop is what a disabled enricher becomes.
type nop struct{}

func (nop) Enrich(context.Context, *pipeline.Batch) error { return nil }

// MayAdd implements pipeline.FieldAdder: nothing.
func (nop) MayAdd(func(key string) bool) []string { return nil }

// ReverseDNSConfig configures a ReverseDNS; the opt tags name the
// enricher's options.
type ReverseDNSConfig struct {
	// Resolver is the DNS server as host:port; "" uses the first
	// nameserver of /etc/resolv.conf (and the others when it fails).
	Resolver string `opt:"resolver"`
	// Concurrency bounds the queries in flight, across all batches.
	Concurrency int `opt:"concurrency"`
	// Timeout bounds one query to one server.
	Timeout time.Duration `opt:"timeout"`
	// CacheSize bounds the cached answers (least recently used go first).
	CacheSize int `opt:"cache_size"`
	// CacheTTL caps how long an answer is kept; the record's own TTL is
	// used when shorter (but at least a minute).
	CacheTTL time.Duration `opt:"cache_ttl"`
	// NegativeTTL is how long "no PTR record" is kept.
	NegativeTTL time.Duration `opt:"negative_ttl"`
	// LookupPrivate asks for private and other non-global addresses too;
	// only useful with a resolver that knows the local reverse zones.
	LookupPrivate bool `opt:"lookup_private"`
}

const (
	// rdnsMinTTL keeps answers with tiny TTLs from being asked for again
	// in every batch.
	rdnsMinTTL = time.Minute
	// rdnsFailTTL is how long a failed lookup (timeout, SERVFAIL) is
	// remembered: a dead resolver then costs one timeout a minute per
	// address instead of one per batch.
	rdnsFailTTL = time.Minute
)

// ReverseDNS sets a side's reverse_dns from the PTR record of its ip,
// unless the event has one. Each batch asks for its distinct uncached
// addresses at once, sharing queries in flight with concurrent batches, and
// waits for the answers; a failed lookup only leaves the field unset.
//
// Think before enabling it on a CERT's own feeds: the PTR query reaches the
// name server of whoever runs the address's reverse zone, and an attacker
// who runs it learns that someone is looking at the address.
type ReverseDNS struct {
	servers       []string
	udp, tcp      *dns.Client
	timeout       time.Duration
	cacheTTL      time.Duration
	negativeTTL   time.Duration
	lookupPrivate bool
	sem           chan struct{}
	cache         *rdnsCache
	now           func() time.Time
	logger        *slog.Logger

	mu       sync.Mutex
	inflight map[netip.Addr]*rdnsCall

	queries atomic.Int64 // DNS exchanges sent, for tests and metrics
}

type rdnsCall struct {
	done chan struct{}
	name string // "" when there is none
}

// NewReverseDNS builds the enricher. Zero config fields take the factory's
// defaults.
func NewReverseDNS(cfg ReverseDNSConfig, env pipeline.Env) (*ReverseDNS, error) {
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 16
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 2 * time.Second
	}
	if cfg.CacheSize <= 0 {
		cfg.CacheSize = 100_000
	}
	if cfg.CacheTTL <= 0 {
		cfg.CacheTTL = 24 * time.Hour
	}
	if cfg.NegativeTTL <= 0 {
		cfg.NegativeTTL = time.Hour
	}
	r := &ReverseDNS{
		udp:           &dns.Client{Net: "udp", Timeout: cfg.Timeout},
		tcp:           &dns.Client{Net: "tcp", Timeout: cfg.Timeout},
		timeout:       cfg.Timeout,
		cacheTTL:      cfg.CacheTTL,
		negativeTTL:   cfg.NegativeTTL,
		lookupPrivate: cfg.LookupPrivate,
		sem:           make(chan struct{}, cfg.Concurrency),
		cache:         newRDNSCache(cfg.CacheSize),
		now:           env.Now,
		logger:        env.Logger,
		inflight:      make(map[netip.Addr]*rdnsCall),
	}
	if r.now == nil {
		r.now = time.Now
	}
	if r.logger == nil {
		r.logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Resolver != "" {
		if _, _, err := net.SplitHostPort(cfg.Resolver); err != nil {
			return nil, fmt.Errorf("rdns: %w", &pipeline.OptionError{Message: i18n.M("enricher.rdns.resolver", cfg.Resolver, err.Error()), Err: err})
		}
		r.servers = []string{cfg.Resolver}
	} else {
		conf, err := dns.ClientConfigFromFile("/etc/resolv.conf")
		if err != nil {
			return nil, fmt.Errorf("rdns: %w", &pipeline.OptionError{Message: i18n.M("enricher.rdns.noresolvconf", i18n.FileProblem("/etc/resolv.conf", err)), Err: err})
		}
		for _, s := range conf.Servers {
			r.servers = append(r.servers, net.JoinHostPort(s, conf.Port))
		}
		if len(r.servers) == 0 {
			return nil, fmt.Errorf("rdns: %w", pipeline.OptionProblem("enricher.rdns.noservers"))
		}
	}
	return r, nil
}

// MayAdd implements pipeline.FieldAdder: a side with an address and no
// name may get one.
func (r *ReverseDNS) MayAdd(has func(key string) bool) []string {
	var keys []string
	for i := range sides {
		if has(sides[i].ip) {
			keys = append(keys, sides[i].reverseDNS)
		}
	}
	return keys
}

// Enrich implements pipeline.Enricher. It returns only ctx's error, when
// the context ends while answers are awaited.
func (r *ReverseDNS) Enrich(ctx context.Context, b *pipeline.Batch) error {
	type want struct {
		e    *event.Event
		key  string
		call *rdnsCall
	}
	var (
		wants []want
		calls map[netip.Addr]*rdnsCall
		fresh []netip.Addr // lookups this batch must start
		now   = r.now()
	)
	for _, e := range b.Events {
		for i := range sides {
			k := &sides[i]
			ipText, ok := e.Get(k.ip)
			if !ok || e.Has(k.reverseDNS) {
				continue
			}
			addr, err := netip.ParseAddr(ipText)
			if err != nil || !r.worthAsking(addr) {
				continue
			}
			if name, ok := r.cache.get(addr, now); ok {
				if name != "" {
					e.SetTrusted(k.reverseDNS, name)
				}
				continue
			}
			if calls == nil {
				calls = make(map[netip.Addr]*rdnsCall)
			}
			c := calls[addr]
			if c == nil {
				var isNew bool
				c, isNew = r.join(addr)
				calls[addr] = c
				if isNew {
					fresh = append(fresh, addr)
				}
			}
			wants = append(wants, want{e: e, key: k.reverseDNS, call: c})
		}
	}
	// Take a concurrency slot before starting each lookup rather than in
	// the lookup's goroutine, so a batch of ten thousand new addresses
	// does not park ten thousand goroutines.
	for i, addr := range fresh {
		select {
		case r.sem <- struct{}{}:
			go r.resolveCall(addr, calls[addr])
		case <-ctx.Done():
			// Other batches may wait for these lookups too: run them
			// anyway, each taking its slot on its own.
			for _, addr := range fresh[i:] {
				go func() {
					r.sem <- struct{}{}
					r.resolveCall(addr, calls[addr])
				}()
			}
			return ctx.Err()
		}
	}
	for _, c := range calls {
		select {
		case <-c.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	for _, w := range wants {
		if w.call.name != "" {
			w.e.SetTrusted(w.key, w.call.name)
		}
	}
	return nil
}

func (r *ReverseDNS) worthAsking(addr netip.Addr) bool {
	if r.lookupPrivate {
		return !addr.IsUnspecified() && !addr.IsMulticast()
	}
	return addr.IsGlobalUnicast() && !addr.IsPrivate()
}

// join returns the lookup of addr in flight, registering a new one when
// there is none; for a new one (isNew) the caller must start resolveCall.
// A lookup runs on its own: a batch that stops waiting for it does not
// cancel it for the others.
func (r *ReverseDNS) join(addr netip.Addr) (c *rdnsCall, isNew bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c := r.inflight[addr]; c != nil {
		return c, false
	}
	c = &rdnsCall{done: make(chan struct{})}
	r.inflight[addr] = c
	return c, true
}

// resolveCall runs a registered lookup holding a concurrency slot, which
// it gives back.
func (r *ReverseDNS) resolveCall(addr netip.Addr, c *rdnsCall) {
	name, ttl := r.resolve(addr)
	<-r.sem
	r.cache.put(addr, name, r.now().Add(ttl))
	c.name = name
	r.mu.Lock()
	delete(r.inflight, addr)
	r.mu.Unlock()
	close(c.done)
}

// resolve asks the servers in turn for the PTR record of addr and returns
// the name ("" for none) and how long to remember the answer.
func (r *ReverseDNS) resolve(addr netip.Addr) (string, time.Duration) {
	qname, err := dns.ReverseAddr(addr.String())
	if err != nil {
		return "", r.negativeTTL
	}
	m := new(dns.Msg)
	m.SetQuestion(qname, dns.TypePTR)
	m.RecursionDesired = true
	var lastErr error
	for _, server := range r.servers {
		in, err := r.exchange(m, server)
		if err != nil {
			lastErr = err
			continue
		}
		switch in.Rcode {
		case dns.RcodeNameError:
			return "", r.negativeTTL
		case dns.RcodeSuccess:
			for _, rr := range in.Answer {
				ptr, ok := rr.(*dns.PTR)
				if !ok {
					continue
				}
				name, err := event.Normalize("source.reverse_dns", ptr.Ptr)
				if err != nil {
					continue // a PTR that is no host name, e.g. with spaces
				}
				ttl := min(max(time.Duration(ptr.Hdr.Ttl)*time.Second, rdnsMinTTL), r.cacheTTL)
				return name, ttl
			}
			return "", r.negativeTTL
		default:
			lastErr = fmt.Errorf("%s answered %s", server, dns.RcodeToString[in.Rcode])
		}
	}
	r.logger.Debug("rdns lookup failed", "ip", addr, "err", lastErr)
	return "", min(rdnsFailTTL, r.negativeTTL)
}

func (r *ReverseDNS) exchange(m *dns.Msg, server string) (*dns.Msg, error) {
	ctx, cancel := context.WithTimeout(context.Background(), r.timeout)
	defer cancel()
	r.queries.Add(1)
	in, _, err := r.udp.ExchangeContext(ctx, m, server)
	if err == nil && in.Truncated {
		r.queries.Add(1)
		in, _, err = r.tcp.ExchangeContext(ctx, m, server)
	}
	if err != nil {
		return nil, fmt.Errorf("query %s: %w", server, err)
	}
	return in, nil
}

// rdnsCache is a size-bounded LRU of answers with expiry. One mutex is
// enough: a hit costs far less than the lookups the enricher exists for.
type rdnsCache struct {
	mu    sync.Mutex
	max   int
	items map[netip.Addr]*list.Element
	order list.List // front: most recently used
}

type rdnsEntry struct {
	addr    netip.Addr
	name    string
	expires time.Time
}

func newRDNSCache(size int) *rdnsCache {
	return &rdnsCache{max: size, items: make(map[netip.Addr]*list.Element)}
}

func (c *rdnsCache) get(addr netip.Addr, now time.Time) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[addr]
	if !ok {
		return "", false
	}
	ent := el.Value.(*rdnsEntry)
	if !now.Before(ent.expires) {
		c.order.Remove(el)
		delete(c.items, addr)
		return "", false
	}
	c.order.MoveToFront(el)
	return ent.name, true
}

func (c *rdnsCache) put(addr netip.Addr, name string, expires time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[addr]; ok {
		ent := el.Value.(*rdnsEntry)
		ent.name, ent.expires = name, expires
		c.order.MoveToFront(el)
		return
	}
	c.items[addr] = c.order.PushFront(&rdnsEntry{addr: addr, name: name, expires: expires})
	for c.order.Len() > c.max {
		el := c.order.Back()
		c.order.Remove(el)
		delete(c.items, el.Value.(*rdnsEntry).addr)
	}
}

func (c *rdnsCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}

var (
	_ pipeline.Enricher   = (*ReverseDNS)(nil)
	_ pipeline.FieldAdder = (*ReverseDNS)(nil)
	_ pipeline.Enricher   = nop{}
	_ pipeline.FieldAdder = nop{}
)
