package channel

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/publication"
)

// pds is a small AT Protocol server: sessions, and the posts of one
// account, with failures on demand.
type pds struct {
	mu      sync.Mutex
	t       *testing.T
	access  string
	refresh string
	logins  int
	renews  int
	creates int
	posts   map[string]map[string]any // rkey → record
	// expireNext answers the next createRecord with ExpiredToken;
	// loseNext stores the next post but answers 502 or cuts the
	// connection ("cut"), as when the answer is lost on the way.
	expireNext bool
	loseNext   string
}

const testDID = "did:plc:vigiltestaccount"

func jwt(exp time.Time, n int) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"ES256K"}`)) + "." + enc(fmt.Appendf(nil, `{"exp":%d,"n":%d}`, exp.Unix(), n)) + ".sig"
}

func (s *pds) tokens(w http.ResponseWriter) {
	s.access = jwt(time.Now().Add(2*time.Hour), s.logins+s.renews)
	s.refresh = fmt.Sprintf("refresh-%d", s.logins+s.renews)
	json.NewEncoder(w).Encode(map[string]string{"accessJwt": s.access, "refreshJwt": s.refresh, "did": testDID, "handle": "cert.example"})
}

func xrpcError(w http.ResponseWriter, status int, name, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": name, "message": message})
}

func (s *pds) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	auth := r.Header.Get("Authorization")
	switch r.URL.Path {
	case "/xrpc/com.atproto.server.createSession":
		var in map[string]string
		json.NewDecoder(r.Body).Decode(&in)
		if in["identifier"] != "cert.example" || in["password"] != "abcd-efgh-ijkl-mnop" {
			xrpcError(w, 401, "AuthenticationRequired", "Invalid identifier or password")
			return
		}
		s.logins++
		s.tokens(w)
	case "/xrpc/com.atproto.server.refreshSession":
		if auth != "Bearer "+s.refresh {
			xrpcError(w, 400, "ExpiredToken", "Token has expired")
			return
		}
		s.renews++
		s.tokens(w)
	case "/xrpc/com.atproto.repo.getRecord":
		if auth != "Bearer "+s.access {
			xrpcError(w, 400, "ExpiredToken", "Token has expired")
			return
		}
		q := r.URL.Query()
		rec, ok := s.posts[q.Get("rkey")]
		if q.Get("repo") != testDID || q.Get("collection") != "app.bsky.feed.post" || !ok {
			xrpcError(w, 400, "RecordNotFound", "Could not locate record")
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"uri": "at://" + testDID + "/app.bsky.feed.post/" + q.Get("rkey"), "value": rec})
	case "/xrpc/com.atproto.repo.createRecord":
		if s.expireNext || auth != "Bearer "+s.access {
			s.expireNext = false
			xrpcError(w, 400, "ExpiredToken", "Token has expired")
			return
		}
		var in struct {
			Repo, Collection, Rkey string
			Record                 map[string]any
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Repo != testDID || in.Collection != "app.bsky.feed.post" {
			xrpcError(w, 400, "InvalidRequest", "bad request")
			return
		}
		if !tid.MatchString(in.Rkey) {
			xrpcError(w, 400, "InvalidRequest", "rkey is not a TID")
			return
		}
		s.creates++
		if _, dup := s.posts[in.Rkey]; dup {
			xrpcError(w, 500, "InternalServerError", "Internal Server Error")
			return
		}
		s.posts[in.Rkey] = in.Record
		lose := s.loseNext
		s.loseNext = ""
		switch lose {
		case "502":
			w.WriteHeader(502)
			return
		case "cut":
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
			return
		}
		json.NewEncoder(w).Encode(map[string]string{"uri": "at://" + testDID + "/app.bsky.feed.post/" + in.Rkey, "cid": "bafy"})
	default:
		http.NotFound(w, r)
	}
}

// tid is the syntax of a TID (atproto.com/specs/tid).
var tid = regexp.MustCompile(`^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$`)

func newPDS(t *testing.T) (*pds, *Bluesky) {
	s := &pds{t: t, posts: map[string]map[string]any{}}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, &Bluesky{Service: srv.URL, Identifier: "cert.example", AppPassword: "abcd-efgh-ijkl-mnop", SiteURL: "https://cert.example", Client: srv.Client()}
}

func TestBlueskyPosts(t *testing.T) {
	s, b := newPDS(t)
	m := newMemory()
	m.add(advisory(42))
	c := &clock{t: time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)}
	nl := m.queue(42, BlueskyChannel, "nl", c.now())
	fr := m.queue(42, BlueskyChannel, "fr", c.now())
	w := newWorker(t, m, c, b)
	if counts, err := w.RunOnce(t.Context()); err != nil || counts.Sent != 2 {
		t.Fatalf("RunOnce %+v, %v", counts, err)
	}
	if s.logins != 1 {
		t.Errorf("%d logins for two posts, want 1 (the session is kept)", s.logins)
	}
	for _, id := range []int64{nl, fr} {
		d := m.get(id)
		rkey := RecordKey(d)
		if d.Status != publication.DeliverySent || d.Reply != i18n.M("channel.reply.posted", "at://"+testDID+"/app.bsky.feed.post/"+rkey).Encode() {
			t.Errorf("delivery %+v", d)
		}
		rec := s.posts[rkey]
		text, _ := rec["text"].(string)
		facets, _ := json.Marshal(rec["facets"])
		var fs []struct {
			Index    struct{ ByteStart, ByteEnd int }
			Features []map[string]string
		}
		json.Unmarshal(facets, &fs)
		if len(fs) != 1 || len(fs[0].Features) != 1 {
			t.Fatalf("facets %s", facets)
		}
		f := fs[0]
		link := "https://cert.example/" + d.Lang + "/p/VIGIL-2026-0042"
		if f.Index.ByteEnd > len(text) || text[f.Index.ByteStart:f.Index.ByteEnd] != link ||
			f.Features[0]["$type"] != "app.bsky.richtext.facet#link" || f.Features[0]["uri"] != link {
			t.Errorf("facet %s over %q", facets, text)
		}
		if rec["$type"] != "app.bsky.feed.post" || Graphemes(text) > 300 || fmt.Sprint(rec["langs"]) != "["+d.Lang+"]" {
			t.Errorf("record %v", rec)
		}
		if _, err := time.Parse(time.RFC3339, rec["createdAt"].(string)); err != nil {
			t.Errorf("createdAt: %v", err)
		}
	}
	if !strings.HasPrefix(s.posts[RecordKey(m.get(nl))]["text"].(string), "Beveiligingsadvies · Kritiek: Kritieke kwetsbaarheid in Ünïcode\n") {
		t.Errorf("text %q", s.posts[RecordKey(m.get(nl))]["text"])
	}
}

// TestBlueskyExpiredSession: an expired access token is refreshed and the
// post made with the new one; a refused refresh logs in again.
func TestBlueskyExpiredSession(t *testing.T) {
	s, b := newPDS(t)
	p := advisory(1)
	d := publication.Delivery{ID: 1, Channel: BlueskyChannel, Lang: "en", Revision: 1, Created: time.Now()}
	if _, err := b.Send(t.Context(), p, d); err != nil {
		t.Fatal(err)
	}
	s.expireNext = true
	d.ID = 2
	if _, err := b.Send(t.Context(), p, d); err != nil {
		t.Fatal(err)
	}
	if s.logins != 1 || s.renews != 1 || len(s.posts) != 2 {
		t.Errorf("logins %d, renews %d, posts %d; want 1, 1, 2", s.logins, s.renews, len(s.posts))
	}
	s.expireNext = true
	s.refresh = "revoked"
	d.ID = 3
	if _, err := b.Send(t.Context(), p, d); err != nil {
		t.Fatal(err)
	}
	if s.logins != 2 || len(s.posts) != 3 {
		t.Errorf("logins %d, posts %d; want 2, 3", s.logins, len(s.posts))
	}
}

// TestBlueskyLostAnswer: the PDS made the post but its answer was lost;
// the retry finds it by its record key and does not post it again. A
// 502 after the post is found at once.
func TestBlueskyLostAnswer(t *testing.T) {
	s, b := newPDS(t)
	s.loseNext = "502"
	if uri, err := b.Send(t.Context(), advisory(1), publication.Delivery{ID: 7, Lang: "en", Created: time.Now()}); err != nil || uri.IsZero() || len(s.posts) != 1 {
		t.Errorf("after a 502: %q, %v, %d posts", uri, err, len(s.posts))
	}
	s, b = newPDS(t)
	m := newMemory()
	m.add(advisory(1))
	c := &clock{t: time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)}
	id := m.queue(1, BlueskyChannel, "en", c.now())
	s.loseNext = "cut"
	w := newWorker(t, m, c, b)
	if counts, _ := w.RunOnce(t.Context()); counts.Retried != 1 {
		t.Fatalf("first pass %+v", counts)
	}
	c.add(time.Hour)
	if counts, _ := w.RunOnce(t.Context()); counts.Sent != 1 {
		t.Fatalf("second pass %+v", counts)
	}
	if len(s.posts) != 1 || s.creates != 1 {
		t.Errorf("%d posts, %d creates; want 1, 1", len(s.posts), s.creates)
	}
	if d := m.get(id); d.Reply != i18n.M("channel.reply.posted", "at://"+testDID+"/app.bsky.feed.post/"+RecordKey(d)).Encode() {
		t.Errorf("reply %q", d.Reply)
	}
	// Even a send that does not look first (a first attempt in another
	// process) ends with the one post: the PDS refuses the key.
	d := m.get(id)
	d.Attempts = 0
	if uri, err := b.Send(t.Context(), advisory(1), d); err != nil || !strings.HasSuffix(uri.String(), RecordKey(d)) || len(s.posts) != 1 {
		t.Errorf("Send again: %q, %v, %d posts", uri, err, len(s.posts))
	}
}

func TestBlueskyWrongPassword(t *testing.T) {
	_, b := newPDS(t)
	b.AppPassword = "wrong"
	_, err := b.Send(t.Context(), advisory(1), publication.Delivery{ID: 1, Lang: "en"})
	if !IsPermanent(err) || strings.Contains(err.Error(), "wrong") {
		t.Errorf("err %v: want permanent, without the password", err)
	}
}

func TestRecordKey(t *testing.T) {
	created := time.Date(2026, 12, 3, 10, 0, 0, 123456789, time.UTC)
	seen := map[string]bool{}
	for id := int64(1); id <= 5000; id++ {
		k := RecordKey(publication.Delivery{ID: id, Created: created})
		if !tid.MatchString(k) {
			t.Fatalf("RecordKey(%d) = %q, not a TID", id, k)
		}
		if seen[k] {
			t.Fatalf("RecordKey(%d) = %q twice", id, k)
		}
		seen[k] = true
	}
	if a, b := RecordKey(publication.Delivery{ID: 9, Created: created}), RecordKey(publication.Delivery{ID: 9, Created: created}); a != b {
		t.Errorf("not stable: %q, %q", a, b)
	}
	// A TID sorts by time: later deliveries, later keys.
	if a, b := RecordKey(publication.Delivery{ID: 1, Created: created}), RecordKey(publication.Delivery{ID: 1, Created: created.Add(time.Second)}); a >= b {
		t.Errorf("%q is not before %q", a, b)
	}
	if k := RecordKey(publication.Delivery{ID: 1}); !tid.MatchString(k) {
		t.Errorf("without a creation time: %q", k)
	}
}
