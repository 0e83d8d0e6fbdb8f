package csaf

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigil-cert/vigil/internal/pgpmime"
	"github.com/vigil-cert/vigil/internal/publication"
)

// Source is where the provider reads publications; the publication store
// (publication.Publications) is one.
type Source interface {
	ListPublications(ctx context.Context, q publication.Query) (publication.Page, error)
	Revisions(ctx context.Context, id int64) ([]publication.Revision, error)
	// Generation moves whenever what is public changes.
	Generation(ctx context.Context) (int64, error)
}

// Config says what the provider publishes and how.
type Config struct {
	Publisher Publisher
	// Lang is the language of the documents; "" takes each
	// publication's primary language.
	Lang string
	// Identity returns the team's OpenPGP key, which signs the documents
	// (notify.LoadIdentity); nil, or a nil key, makes a provider without
	// signatures, role csaf_provider rather than csaf_trusted_provider.
	Identity func(context.Context) (*pgpmime.Identity, error)
	// Interval is how long the provider trusts its files before it asks
	// the Source's Generation again; default one second.
	Interval time.Duration
	Logger   *slog.Logger
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Provider serves the CSAF provider under /.well-known/csaf/. It is safe
// for concurrent use.
type Provider struct {
	src Source
	cfg Config
	// mu serialises rebuilds; snap is what requests read.
	mu   sync.Mutex
	snap atomic.Pointer[snapshot]
	// sigs are the signatures of the last build by the documents'
	// SHA-256, made by the key sigKey, so that an unchanged document
	// keeps its signature (and its ETag) across builds; under mu.
	sigs   map[[32]byte][]byte
	sigKey string
}

// snapshot is one build: its files, the generation and key it was built
// from, and when the Generation was last asked.
type snapshot struct {
	files       fileSet
	generation  int64
	fingerprint string
	checked     time.Time
	skipped     int
}

// NewProvider returns the provider of src's public advisories and
// warnings. Mount it at /.well-known/csaf/ of the https site
// (mux.Handle("/.well-known/csaf/", p)).
func NewProvider(src Source, cfg Config) *Provider {
	if cfg.Interval <= 0 {
		cfg.Interval = time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Provider{src: src, cfg: cfg}
}

// ServeHTTP serves GET and HEAD of the provider's files.
func (p *Provider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}
	rel, ok := strings.CutPrefix(r.URL.Path, "/"+wellKnown)
	if !ok {
		if r.URL.Path == "/"+strings.TrimSuffix(wellKnown, "/") {
			http.Redirect(w, r, "/"+wellKnown, http.StatusMovedPermanently)
			return
		}
		http.NotFound(w, r)
		return
	}
	snap, err := p.current(r.Context())
	if err != nil {
		p.cfg.Logger.Error("csaf provider: build", "err", err)
		http.Error(w, http.StatusText(http.StatusServiceUnavailable), http.StatusServiceUnavailable)
		return
	}
	f := snap.files[rel]
	if f == nil {
		if snap.files[rel+"/"] != nil {
			http.Redirect(w, r, "/"+wellKnown+rel+"/", http.StatusMovedPermanently)
			return
		}
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", f.ctype)
	h.Set("ETag", f.etag)
	h.Set("Cache-Control", "public, max-age=60")
	h.Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, r, "", f.modified, bytes.NewReader(f.body))
}

// Refresh rebuilds the provider now if the Source's Generation or the
// team key moved, without waiting for the interval.
func (p *Provider) Refresh(ctx context.Context) error {
	_, err := p.refresh(ctx, true)
	return err
}

// Skipped is how many public advisories and warnings the last build left
// out because they would make an invalid document (each is logged).
func (p *Provider) Skipped() int {
	if s := p.snap.Load(); s != nil {
		return s.skipped
	}
	return 0
}

// current returns the files to serve, rebuilding them when the
// generation moved and the interval passed. While one request rebuilds,
// the others are served the last build rather than wait.
func (p *Provider) current(ctx context.Context) (*snapshot, error) {
	s := p.snap.Load()
	if s != nil && p.cfg.Now().Sub(s.checked) < p.cfg.Interval {
		return s, nil
	}
	if s != nil {
		if !p.mu.TryLock() {
			return s, nil
		}
		defer p.mu.Unlock()
		return p.refreshLocked(ctx, false)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.refreshLocked(ctx, false)
}

// refresh asks the generation and the key, and rebuilds when either
// moved.
func (p *Provider) refresh(ctx context.Context, force bool) (*snapshot, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.refreshLocked(ctx, force)
}

// refreshLocked is refresh with p.mu held. When it fails with files built
// before, it logs and serves those.
func (p *Provider) refreshLocked(ctx context.Context, force bool) (*snapshot, error) {
	now := p.cfg.Now()
	old := p.snap.Load()
	if old != nil && !force && now.Sub(old.checked) < p.cfg.Interval {
		return old, nil // another request refreshed it meanwhile
	}
	s, err := p.rebuild(ctx, old, now)
	if err != nil {
		if old == nil {
			return nil, err
		}
		p.cfg.Logger.Error("csaf provider: rebuild, serving the last build", "err", err)
		stale := *old
		stale.checked = now
		p.snap.Store(&stale)
		return &stale, nil
	}
	p.snap.Store(s)
	return s, nil
}

// rebuild builds a new snapshot, or returns old with a new check time
// when nothing moved.
func (p *Provider) rebuild(ctx context.Context, old *snapshot, now time.Time) (*snapshot, error) {
	gen, err := p.src.Generation(ctx)
	if err != nil {
		return nil, err
	}
	var id *pgpmime.Identity
	if p.cfg.Identity != nil {
		if id, err = p.cfg.Identity(ctx); err != nil {
			return nil, err
		}
	}
	fingerprint := ""
	if id != nil {
		fingerprint = id.Fingerprint()
	}
	if old != nil && old.generation == gen && old.fingerprint == fingerprint {
		s := *old
		s.checked = now
		return &s, nil
	}
	entries, skipped, err := p.documents(ctx)
	if err != nil {
		return nil, err
	}
	sigs := map[[32]byte][]byte{}
	sign := func(body []byte) ([]byte, error) {
		sum := sha256.Sum256(body)
		sig := p.sigs[sum]
		if sig == nil || p.sigKey != fingerprint {
			var err error
			if sig, err = detachSign(id, body); err != nil {
				return nil, err
			}
		}
		sigs[sum] = sig
		return sig, nil
	}
	files, err := buildFiles(p.cfg.Publisher, entries, id, sign, now)
	if err != nil {
		return nil, err
	}
	p.sigs, p.sigKey = sigs, fingerprint
	return &snapshot{files: files, generation: gen, fingerprint: fingerprint, checked: now, skipped: skipped}, nil
}

// documents builds the documents of every public advisory and warning.
func (p *Provider) documents(ctx context.Context) ([]entry, int, error) {
	var entries []entry
	skipped := 0
	seen := map[string]string{}
	const pageSize = 1000
	for offset := 0; ; offset += pageSize {
		page, err := p.src.ListPublications(ctx, publication.Query{Public: true, Limit: pageSize, Offset: offset})
		if err != nil {
			return nil, 0, err
		}
		for i := range page.Publications {
			pub := &page.Publications[i]
			// Public is the one rule of every public channel; asked again
			// here so that a Source that filters wrongly leaks nothing.
			if !pub.Public() || Category(pub.Kind) == "" {
				continue
			}
			e, err := p.document(ctx, pub)
			if err == nil && seen[e.path] != "" {
				err = errors.New("file name " + e.path + " already used by " + seen[e.path])
			}
			if err != nil {
				skipped++
				p.cfg.Logger.Warn("csaf provider: publication left out", "ident", pub.Ident, "err", err)
				continue
			}
			seen[e.path] = pub.Ident
			entries = append(entries, e)
		}
		if len(page.Publications) < pageSize {
			break
		}
	}
	return entries, skipped, nil
}

// document builds one publication's document and its entry.
func (p *Provider) document(ctx context.Context, pub *publication.Publication) (entry, error) {
	revs, err := p.src.Revisions(ctx, pub.ID)
	if err != nil {
		return entry{}, err
	}
	doc, err := build(pub, p.cfg.Publisher, p.cfg.Lang, revs)
	if err != nil {
		return entry{}, err
	}
	if doc.Document.Distribution.TLP.Label != "WHITE" {
		return entry{}, errors.New("not TLP:WHITE")
	}
	body, err := encode(doc)
	if err != nil {
		return entry{}, err
	}
	t := doc.Document.Tracking
	text, _ := pub.Text(p.cfg.Lang)
	return entry{
		path: t.InitialReleaseDate[:4] + "/" + FileName(t.ID), id: t.ID,
		title: doc.Document.Title, summary: text.Summary, category: doc.Document.Category,
		initial: t.InitialReleaseDate, current: t.CurrentReleaseDate, body: body,
	}, nil
}
