package csaf

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	gocsaf "github.com/gocsaf/csaf/v3/csaf"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/vigil-cert/vigil/internal/pgpmime"
	"github.com/vigil-cert/vigil/internal/publication"
)

// get requests path from h.
func get(t testing.TB, h http.Handler, path string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// everyFile fetches every file the provider serves and returns them
// by path.
func everyFile(t testing.TB, p *Provider) map[string]string {
	t.Helper()
	if err := p.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for path := range p.snap.Load().files {
		rec := get(t, p, "/"+wellKnown+path)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: %d", path, rec.Code)
		}
		out[path] = rec.Body.String()
	}
	return out
}

func staticIdentity(id *pgpmime.Identity) func(context.Context) (*pgpmime.Identity, error) {
	return func(context.Context) (*pgpmime.Identity, error) { return id, nil }
}

// TestPublicFilesHoldOnlyClear is the property: whatever publications
// the store holds, no GREEN, AMBER, AMBER+STRICT or RED one, and nothing
// unpublished or withdrawn, appears in any file of the public provider;
// every public advisory and warning does.
func TestPublicFilesHoldOnlyClear(t *testing.T) {
	id := testIdentity(t)
	publicSeen, hiddenSeen := 0, 0
	statuses := []publication.Status{publication.StatusDraft, publication.StatusApproved, publication.StatusPublished, publication.StatusWithdrawn}
	for seed := range uint64(25) {
		rng := rand.New(rand.NewPCG(seed, 13))
		src := &fakeSource{revs: map[int64][]publication.Revision{}}
		type marked struct {
			marker string
			public bool
		}
		var all []marked
		for i := range 2 + rng.IntN(12) {
			var p publication.Publication
			ident := fmt.Sprintf("VIGIL-%d-%04d", 2024+rng.IntN(3), i+1)
			if rng.IntN(2) == 0 {
				p = testAdvisory(ident, t0.AddDate(-rng.IntN(2), 0, rng.IntN(300)))
			} else {
				p = testWarning(ident, t0.AddDate(0, 0, -rng.IntN(400)))
			}
			if rng.IntN(5) == 0 {
				p.Kind = publication.KindNews
			}
			// Half CLEAR and half published, so that both sides are common.
			if rng.IntN(2) == 0 {
				p.TLP = publication.TLPs[1+rng.IntN(len(publication.TLPs)-1)]
			}
			if rng.IntN(2) == 0 {
				p.Status = statuses[rng.IntN(len(statuses))]
			}
			marker := fmt.Sprintf("secret-marker-%d-%d.", seed, i)
			p.Texts[0].Title += " " + marker
			p.Texts[0].Summary += " " + marker
			src.add(p)
			all = append(all, marked{marker, p.Public() && p.Kind != publication.KindNews})
		}
		prov := NewProvider(src, Config{Publisher: testPublisher("https://cert.example"), Identity: staticIdentity(id)})
		files := everyFile(t, prov)
		for _, m := range all {
			found := false
			for path, body := range files {
				if strings.Contains(body, m.marker) {
					found = true
					if !m.public {
						t.Fatalf("seed %d: %s of a non-public publication is in %s", seed, m.marker, path)
					}
				}
			}
			if m.public {
				publicSeen++
			} else {
				hiddenSeen++
			}
			if m.public && !found {
				t.Errorf("seed %d: public %s is in no file", seed, m.marker)
			}
		}
		for path := range files {
			if !strings.HasPrefix(path, whiteFolder) && strings.HasSuffix(path, ".json") && path != metadataName && path != serviceName {
				t.Errorf("seed %d: a document outside the white folder: %s", seed, path)
			}
		}
	}
	if publicSeen < 10 || hiddenSeen < 10 {
		t.Errorf("the generator made %d public and %d hidden publications; want both often", publicSeen, hiddenSeen)
	}
}

// TestProviderFiles checks the files' contents: the schemas of
// provider-metadata.json and the ROLIE feed, changes.csv newest first,
// the hashes and the signatures under the published key.
func TestProviderFiles(t *testing.T) {
	id := testIdentity(t)
	src := &fakeSource{revs: map[int64][]publication.Revision{}}
	src.add(testAdvisory("VIGIL-2025-0107", time.Date(2025, 11, 2, 8, 0, 0, 0, time.UTC)))
	src.add(testAdvisory("VIGIL-2026-0042", t0))
	src.add(testWarning("VIGIL-2026-0043", t0.Add(time.Hour)))
	prov := NewProvider(src, Config{Publisher: testPublisher("https://cert.example"), Identity: staticIdentity(id)})
	files := everyFile(t, prov)

	for name, validate := range map[string]func(any) ([]string, error){
		metadataName:                      gocsaf.ValidateProviderMetadata,
		whiteFolder + feedName:            gocsaf.ValidateROLIE,
		"white/2026/vigil-2026-0042.json": gocsaf.ValidateCSAF,
	} {
		doc, err := jsonschema.UnmarshalJSON(strings.NewReader(files[name]))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if errs, err := validate(doc); err != nil || len(errs) > 0 {
			t.Errorf("%s: %v %v", name, err, errs)
		}
	}
	var pm struct {
		Role string `json:"role"`
		Keys []struct {
			Fingerprint string `json:"fingerprint"`
			URL         string `json:"url"`
		} `json:"public_openpgp_keys"`
	}
	if err := json.Unmarshal([]byte(files[metadataName]), &pm); err != nil {
		t.Fatal(err)
	}
	if pm.Role != "csaf_trusted_provider" || len(pm.Keys) != 1 || pm.Keys[0].Fingerprint != id.Fingerprint() ||
		pm.Keys[0].URL != "https://cert.example/.well-known/csaf/openpgp/"+id.Fingerprint()+".asc" {
		t.Errorf("provider metadata: %+v", pm)
	}
	wantChanges := `"2026/vigil-2026-0042.json","2026-03-16T09:30:00Z"` + "\n" +
		`"2026/vigil-2026-0043.json","2026-03-14T10:30:00Z"` + "\n" +
		`"2025/vigil-2025-0107.json","2025-11-04T08:00:00Z"` + "\n"
	if files["white/changes.csv"] != wantChanges {
		t.Errorf("changes.csv = %q, want %q", files["white/changes.csv"], wantChanges)
	}
	if files["white/index.txt"] == "" || !strings.Contains(files["white/index.txt"], "2025/vigil-2025-0107.json\n") {
		t.Errorf("index.txt = %q", files["white/index.txt"])
	}
	keyring, err := openpgp.ReadArmoredKeyRing(strings.NewReader(files["openpgp/"+id.Fingerprint()+".asc"]))
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range []string{"white/2026/vigil-2026-0042.json", "white/2026/vigil-2026-0043.json", "white/2025/vigil-2025-0107.json"} {
		body := files[doc]
		if _, err := openpgp.CheckArmoredDetachedSignature(keyring, strings.NewReader(body), strings.NewReader(files[doc+".asc"]), nil); err != nil {
			t.Errorf("%s.asc: %v", doc, err)
		}
		tampered := strings.Replace(body, "Vigil Test CERT", "Vigil Fake CERT", 1)
		if _, err := openpgp.CheckArmoredDetachedSignature(keyring, strings.NewReader(tampered), strings.NewReader(files[doc+".asc"]), nil); err == nil {
			t.Errorf("%s.asc verifies a changed document", doc)
		}
		if !strings.HasSuffix(files[doc+".sha256"], "  "+doc[strings.LastIndex(doc, "/")+1:]+"\n") || len(files[doc+".sha512"]) != 128+2+len(doc[11:])+1 {
			t.Errorf("%s hashes: %q %q", doc, files[doc+".sha256"], files[doc+".sha512"])
		}
	}
}

// TestProviderHTTP checks what the handler answers: content types,
// ETag and Last-Modified with conditional requests, methods, redirects.
func TestProviderHTTP(t *testing.T) {
	src := &fakeSource{revs: map[int64][]publication.Revision{}}
	src.add(testAdvisory("VIGIL-2026-0042", t0))
	prov := NewProvider(src, Config{Publisher: testPublisher("https://cert.example")})
	for path, ctype := range map[string]string{
		"/.well-known/csaf/provider-metadata.json":          "application/json",
		"/.well-known/csaf/white/2026/vigil-2026-0042.json": "application/json",
		"/.well-known/csaf/white/index.txt":                 "text/plain; charset=utf-8",
		"/.well-known/csaf/white/changes.csv":               "text/csv; charset=utf-8",
		"/.well-known/csaf/white/":                          "text/html; charset=utf-8",
	} {
		rec := get(t, prov, path)
		if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != ctype {
			t.Errorf("%s: %d %q, want 200 %q", path, rec.Code, rec.Header().Get("Content-Type"), ctype)
		}
	}
	doc := get(t, prov, "/.well-known/csaf/white/2026/vigil-2026-0042.json")
	etag, modified := doc.Header().Get("ETag"), doc.Header().Get("Last-Modified")
	if etag == "" || modified != "Mon, 16 Mar 2026 09:30:00 GMT" {
		t.Errorf("ETag %q, Last-Modified %q", etag, modified)
	}
	if rec := get(t, prov, "/.well-known/csaf/white/2026/vigil-2026-0042.json", "If-None-Match", etag); rec.Code != http.StatusNotModified {
		t.Errorf("If-None-Match: %d", rec.Code)
	}
	if rec := get(t, prov, "/.well-known/csaf/white/2026/vigil-2026-0042.json", "If-Modified-Since", modified); rec.Code != http.StatusNotModified {
		t.Errorf("If-Modified-Since: %d", rec.Code)
	}
	// Without a key, no signatures: a provider, not a trusted one.
	if rec := get(t, prov, "/.well-known/csaf/white/2026/vigil-2026-0042.json.asc"); rec.Code != http.StatusNotFound {
		t.Errorf(".asc without a key: %d", rec.Code)
	}
	if !strings.Contains(get(t, prov, "/.well-known/csaf/provider-metadata.json").Body.String(), `"role": "csaf_provider"`) {
		t.Error("a provider without a key claims to be trusted")
	}
	if rec := get(t, prov, "/.well-known/csaf/white"); rec.Code != http.StatusMovedPermanently || rec.Header().Get("Location") != "/.well-known/csaf/white/" {
		t.Errorf("folder without a slash: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	for _, path := range []string{"/.well-known/csaf/green/", "/.well-known/csaf/../../etc/passwd", "/.well-known/csaf/white/2026/nothing.json"} {
		if rec := get(t, prov, path); rec.Code != http.StatusNotFound {
			t.Errorf("%s: %d", path, rec.Code)
		}
	}
	rec := httptest.NewRecorder()
	prov.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/.well-known/csaf/provider-metadata.json", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", rec.Code)
	}
	rec = httptest.NewRecorder()
	prov.ServeHTTP(rec, httptest.NewRequest(http.MethodHead, "/.well-known/csaf/provider-metadata.json", nil))
	if rec.Code != http.StatusOK || rec.Body.Len() != 0 {
		t.Errorf("HEAD: %d with %d bytes", rec.Code, rec.Body.Len())
	}
}

// TestProviderCache: the provider rebuilds only when the generation
// moved, asks at most once an interval, and serves concurrent readers.
func TestProviderCache(t *testing.T) {
	src := &fakeSource{revs: map[int64][]publication.Revision{}}
	src.add(testAdvisory("VIGIL-2026-0042", t0))
	var mu sync.Mutex
	now := t0
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	prov := NewProvider(src, Config{Publisher: testPublisher("https://cert.example"), Now: clock})
	const index = "/.well-known/csaf/white/index.txt"

	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				if rec := get(t, prov, index); rec.Code != http.StatusOK {
					t.Errorf("concurrent GET: %d", rec.Code)
				}
			}
		}()
	}
	wg.Wait()
	if src.lists != 1 {
		t.Errorf("%d builds for one generation, want 1", src.lists)
	}
	src.add(testAdvisory("VIGIL-2026-0043", t0))
	if body := get(t, prov, index).Body.String(); strings.Contains(body, "0043") {
		t.Errorf("rebuilt before the interval passed: %q", body)
	}
	advance(2 * time.Second)
	if body := get(t, prov, index).Body.String(); !strings.Contains(body, "vigil-2026-0043.json") {
		t.Errorf("not rebuilt after the generation moved: %q", body)
	}
	advance(2 * time.Second)
	get(t, prov, index)
	if src.lists != 2 {
		t.Errorf("%d builds for two generations, want 2", src.lists)
	}
}

// failingSource fails after its first answers, to show that the
// provider keeps serving its last build.
type failingSource struct {
	*fakeSource
	fail bool
}

func (s *failingSource) Generation(ctx context.Context) (int64, error) {
	if s.fail {
		return 0, io.ErrUnexpectedEOF
	}
	return s.fakeSource.Generation(ctx)
}

func TestProviderKeepsLastBuild(t *testing.T) {
	src := &failingSource{fakeSource: &fakeSource{revs: map[int64][]publication.Revision{}}}
	src.add(testAdvisory("VIGIL-2026-0042", t0))
	now := t0
	prov := NewProvider(src, Config{Publisher: testPublisher("https://cert.example"), Now: func() time.Time { return now }})
	if rec := get(t, prov, "/.well-known/csaf/white/index.txt"); rec.Code != http.StatusOK {
		t.Fatal(rec.Code)
	}
	src.fail = true
	now = now.Add(time.Minute)
	if rec := get(t, prov, "/.well-known/csaf/white/index.txt"); rec.Code != http.StatusOK || !bytes.Contains(rec.Body.Bytes(), []byte("vigil-2026-0042")) {
		t.Errorf("after a failing source: %d %q", rec.Code, rec.Body)
	}
	fresh := NewProvider(src, Config{Publisher: testPublisher("https://cert.example")})
	if rec := get(t, fresh, "/.well-known/csaf/white/index.txt"); rec.Code != http.StatusServiceUnavailable {
		t.Errorf("a provider that never built: %d", rec.Code)
	}
}

// TestProviderSignatures: an unchanged document keeps its signature
// when another publication moves the generation; a new team key signs
// everything again and is published in its place.
func TestProviderSignatures(t *testing.T) {
	first, second := testIdentity(t), testIdentity(t)
	var mu sync.Mutex
	key := first
	src := &fakeSource{revs: map[int64][]publication.Revision{}}
	src.add(testAdvisory("VIGIL-2026-0042", t0))
	prov := NewProvider(src, Config{Publisher: testPublisher("https://cert.example"),
		Identity: func(context.Context) (*pgpmime.Identity, error) { mu.Lock(); defer mu.Unlock(); return key, nil }})
	const asc = "white/2026/vigil-2026-0042.json.asc"
	before := everyFile(t, prov)
	src.add(testWarning("VIGIL-2026-0043", t0))
	after := everyFile(t, prov)
	if after["white/index.txt"] == before["white/index.txt"] {
		t.Fatal("the provider did not rebuild")
	}
	if after[asc] != before[asc] {
		t.Error("an unchanged document was signed again")
	}
	mu.Lock()
	key = second
	mu.Unlock()
	renewed := everyFile(t, prov)
	keyring, err := openpgp.ReadArmoredKeyRing(strings.NewReader(renewed["openpgp/"+second.Fingerprint()+".asc"]))
	if err != nil {
		t.Fatal(err)
	}
	doc := renewed["white/2026/vigil-2026-0042.json"]
	if _, err := openpgp.CheckArmoredDetachedSignature(keyring, strings.NewReader(doc), strings.NewReader(renewed[asc]), nil); err != nil {
		t.Errorf("not signed by the new key: %v", err)
	}
	if _, ok := renewed["openpgp/"+first.Fingerprint()+".asc"]; ok || !strings.Contains(renewed[metadataName], second.Fingerprint()) {
		t.Error("the old key is still published")
	}
}
