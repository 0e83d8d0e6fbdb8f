package site

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vigil-cert/vigil/internal/publication"
)

// checkEvery is how often, at most, the site asks the source whether
// its publications changed.
const checkEvery = time.Second

// maxEntries bounds a snapshot's cache: searches and filters make many
// keys, and past this many the pages are rendered for each request
// instead of kept.
const maxEntries = 5000

// loadPage is how many publications one ListPublications call of a load
// asks for.
const loadPage = 1000

// snapshot is the public publications at one generation and the pages
// rendered from them. It is never changed after its load, except for
// its cache.
type snapshot struct {
	gen int64
	// at is when it was loaded; expires when a pinned warning stops
	// being pinned (the home page changes without a new generation).
	at      time.Time
	expires time.Time
	// pubs are the public publications, the latest published first.
	pubs    []publication.Publication
	byIdent map[string]*publication.Publication
	pinned  []*publication.Publication
	// search holds each publication's searchable text, lower-cased.
	search []string
	// modified is the latest change of any publication: the pages'
	// Last-Modified.
	modified time.Time

	// cache holds the pages by their normalised key; raw by the address
	// as asked, bounded apart so that junk queries cannot crowd out the
	// pages.
	mu    sync.RWMutex
	cache map[string]*entry
	raw   map[string]*entry
}

// entry is one rendered response.
type entry struct {
	status      int
	contentType string
	body, gz    []byte
	etag        string
	modified    time.Time
	// The headers' values, written once.
	lastModified, length, gzLength string
	// gzETag is the ETag of the gzip form: another representation, so
	// another tag.
	gzETag string
	// cacheControl is the Cache-Control header.
	cacheControl string
}

func (s *snapshot) get(key string) *entry {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.cache[key]
}

func (s *snapshot) put(key string, e *entry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.cache) < maxEntries {
		s.cache[key] = e
	}
}

func (s *snapshot) getRaw(address string) *entry {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.raw[address]
}

func (s *snapshot) putRaw(address string, e *entry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.raw) < maxEntries {
		s.raw[address] = e
	}
}

// newEntry makes an entry of body, with its gzip form and its ETag.
func newEntry(status int, contentType, cacheControl string, body []byte, modified time.Time) *entry {
	sum := sha256.Sum256(body)
	e := &entry{status: status, contentType: contentType, body: body, modified: modified, cacheControl: cacheControl,
		etag: `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`}
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	_, _ = zw.Write(body)
	if zw.Close() == nil && b.Len() < len(body) {
		e.gz = b.Bytes()
	}
	e.lastModified = modified.UTC().Format(http.TimeFormat)
	e.length, e.gzLength = strconv.Itoa(len(e.body)), strconv.Itoa(len(e.gz))
	e.gzETag = strings.TrimSuffix(e.etag, `"`) + `-gz"`
	return e
}

// serve writes e, or 304 when the client holds it already.
func (e *entry) serve(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	body, etag, length := e.body, e.etag, e.length
	useGzip := e.gz != nil && acceptsGzip(r.Header.Get("Accept-Encoding"))
	if useGzip {
		body, etag, length = e.gz, e.gzETag, e.gzLength
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("Content-Type", e.contentType)
	h.Set("Cache-Control", e.cacheControl)
	h.Set("Vary", "Accept-Encoding")
	h.Set("ETag", etag)
	h.Set("Last-Modified", e.lastModified)
	if e.status == http.StatusOK && e.notModified(r) {
		h.Del("Content-Encoding")
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Length", length)
	w.WriteHeader(e.status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// notModified applies If-None-Match, or without it If-Modified-Since
// (RFC 9110 section 13.1.3).
func (e *entry) notModified(r *http.Request) bool {
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		for tag := range strings.SplitSeq(inm, ",") {
			tag = strings.TrimPrefix(strings.TrimSpace(tag), "W/")
			if tag == "*" || tag == e.etag || tag == e.gzETag {
				return true
			}
		}
		return false
	}
	since, err := http.ParseTime(r.Header.Get("If-Modified-Since"))
	return err == nil && !e.modified.Truncate(time.Second).After(since)
}

// acceptsGzip reports whether an Accept-Encoding header takes gzip (and
// does not refuse it with q=0).
func acceptsGzip(header string) bool {
	for part := range strings.SplitSeq(header, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			q := strings.ReplaceAll(params, " ", "")
			return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
		}
	}
	return false
}

// current returns the snapshot to serve. The first call loads one and
// waits for it; later calls return the one there and, at most once a
// second, check in the background whether the source changed.
func (s *Site) current(ctx context.Context) (*snapshot, error) {
	if snap := s.snap.Load(); snap != nil {
		s.maybeCheck(snap)
		return snap, nil
	}
	s.loading.Lock()
	defer s.loading.Unlock()
	if snap := s.snap.Load(); snap != nil {
		return snap, nil
	}
	snap, err := s.load(ctx)
	if err != nil {
		return nil, err
	}
	s.lastCheck.Store(snap.at.UnixNano())
	s.snap.Store(snap)
	return snap, nil
}

// maybeCheck starts a background Refresh when the last check is a
// second old (or a pinned warning expired) and none is running.
func (s *Site) maybeCheck(snap *snapshot) {
	now := s.deps.Now()
	if now.UnixNano()-s.lastCheck.Load() < int64(checkEvery) && now.Before(snap.expires) {
		return
	}
	if !s.checking.CompareAndSwap(false, true) {
		return
	}
	s.lastCheck.Store(now.UnixNano())
	s.checks.Add(1)
	go func() {
		defer s.checks.Done()
		defer s.checking.Store(false)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := s.Refresh(ctx); err != nil {
			s.log.Error("site: refresh", "err", err)
		}
	}()
}

// Refresh loads a new snapshot when the source's generation moved or a
// pinned warning expired; the pages are rendered again as they are
// asked for.
func (s *Site) Refresh(ctx context.Context) error {
	s.loading.Lock()
	defer s.loading.Unlock()
	old := s.snap.Load()
	if old != nil && s.deps.Now().Before(old.expires) {
		gen, err := s.deps.Source.Generation(ctx)
		if err != nil {
			return fmt.Errorf("generation: %w", err)
		}
		if gen == old.gen {
			return nil
		}
	}
	snap, err := s.load(ctx)
	if err != nil {
		return err
	}
	// What is public changed, perhaps by a withdrawal or a TLP raised,
	// which leaves the newest remaining publication older than the old
	// snapshot's: the pages are as new as the load, so that a reader
	// asking If-Modified-Since gets them again rather than a 304.
	if old != nil && snap.gen != old.gen && !snap.modified.After(old.modified) {
		snap.modified = latest(snap.at, old.modified.Add(time.Second))
	}
	s.snap.Store(snap)
	return nil
}

// waitChecks waits for the background checks started so far (tests).
func (s *Site) waitChecks() { s.checks.Wait() }

// load reads every public publication into a new snapshot.
func (s *Site) load(ctx context.Context) (*snapshot, error) {
	gen, err := s.deps.Source.Generation(ctx)
	if err != nil {
		return nil, fmt.Errorf("generation: %w", err)
	}
	now := s.deps.Now()
	snap := &snapshot{gen: gen, at: now, expires: now.Add(24 * time.Hour), byIdent: map[string]*publication.Publication{},
		cache: map[string]*entry{}, raw: map[string]*entry{}, modified: time.Unix(0, 0).UTC()}
	for offset := 0; ; {
		page, err := s.deps.Source.ListPublications(ctx, publication.Query{Public: true, Limit: loadPage, Offset: offset})
		if err != nil {
			return nil, fmt.Errorf("list publications: %w", err)
		}
		for _, p := range page.Publications {
			// The one rule of every public channel, asked here whatever
			// the source did with Query.Public.
			if p.Public() {
				snap.pubs = append(snap.pubs, p)
			}
		}
		offset += len(page.Publications)
		if len(page.Publications) == 0 || offset >= page.Total {
			break
		}
	}
	if err := s.redactDigests(ctx, snap.pubs); err != nil {
		return nil, err
	}
	slices.SortStableFunc(snap.pubs, func(a, b publication.Publication) int {
		if c := b.Published.Compare(a.Published); c != 0 {
			return c
		}
		return strings.Compare(b.Ident, a.Ident)
	})
	for i := range snap.pubs {
		p := &snap.pubs[i]
		snap.byIdent[p.Ident] = p
		snap.search = append(snap.search, searchText(p))
		snap.modified = latest(snap.modified, p.Updated, p.Published)
		if p.Pinned(now) {
			snap.pinned = append(snap.pinned, p)
			until := p.PinnedUntil
			if until.IsZero() {
				until = p.Published.Add(publication.DefaultPin)
			}
			if until.Before(snap.expires) {
				snap.expires = until
			}
		}
	}
	if len(snap.pubs) == 0 {
		snap.modified = now
	}
	return snap, nil
}

// latest returns the latest of the times.
func latest(ts ...time.Time) time.Time {
	out := ts[0]
	for _, t := range ts[1:] {
		if t.After(out) {
			out = t
		}
	}
	return out
}

// searchText is what a search matches: the ident, the CVEs and every
// language's title, summary and body, lower-cased.
func searchText(p *publication.Publication) string {
	var b strings.Builder
	b.WriteString(p.Ident)
	for _, c := range p.CVEs {
		b.WriteString("\n" + c)
	}
	for _, t := range p.Texts {
		b.WriteString("\n" + t.Title + "\n" + t.Summary + "\n" + t.Body)
	}
	return strings.ToLower(b.String())
}
