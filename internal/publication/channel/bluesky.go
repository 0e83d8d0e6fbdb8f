package channel

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/publication"
)

// BlueskyChannel is the Bluesky channel's name.
const BlueskyChannel = "bluesky"

// BlueskyLimit is the most graphemes a Bluesky post's text may have.
const BlueskyLimit = 300

// DefaultBlueskyService is the PDS of accounts made on bsky.app.
const DefaultBlueskyService = "https://bsky.social"

// postCollection is the collection of Bluesky posts.
const postCollection = "app.bsky.feed.post"

// Bluesky posts to an account on an AT Protocol PDS: it logs in with an
// app password (com.atproto.server.createSession), keeps the session and
// refreshes it when it expires, and creates one app.bsky.feed.post
// record per delivery whose record key comes from the delivery
// (RecordKey), so that a retry finds the post it made before instead of
// making another.
type Bluesky struct {
	Service     string // default DefaultBlueskyService
	Identifier  string
	AppPassword string
	SiteURL     string
	Client      *http.Client

	mu      sync.Mutex
	session *atSession
}

// atSession is a logged-in session: its tokens and the account's DID.
type atSession struct {
	Access  string `json:"accessJwt"`
	Refresh string `json:"refreshJwt"`
	DID     string `json:"did"`
	Handle  string `json:"handle"`
	expires time.Time
}

// Name is BlueskyChannel.
func (b *Bluesky) Name() string { return BlueskyChannel }

// Send posts p's short text in d's language, with a link facet over the
// link, or returns the post an earlier attempt made. The reply quotes
// the post's AT URI as the server gave it.
func (b *Bluesky) Send(ctx context.Context, p publication.Publication, d publication.Delivery) (i18n.Message, error) {
	text, _ := p.Text(d.Lang)
	limit := BlueskyLimit
	post := Compose(&p, d.Lang, b.SiteURL, limit, Graphemes)
	for len(post.Text) > 3000 && limit > 50 {
		// The text is bounded in bytes too.
		limit -= 50
		post = Compose(&p, d.Lang, b.SiteURL, limit, Graphemes)
	}
	rkey := RecordKey(d)
	record := map[string]any{
		"$type":     postCollection,
		"text":      post.Text,
		"createdAt": time.Now().UTC().Format("2006-01-02T15:04:05.000Z"),
		"langs":     []string{text.Lang},
		"facets": []any{map[string]any{
			"index": map[string]int{"byteStart": post.LinkStart, "byteEnd": post.LinkEnd},
			"features": []any{map[string]string{
				"$type": "app.bsky.richtext.facet#link",
				"uri":   post.Link,
			}},
		}},
	}
	var uri string
	err := b.withSession(ctx, func(s *atSession) error {
		if d.Attempts > 0 {
			// An earlier attempt may have made the post and lost the
			// answer.
			found, err := b.getPost(ctx, s, rkey)
			if err != nil || found != "" {
				uri = found
				return err
			}
		}
		var out struct {
			URI string `json:"uri"`
		}
		err := b.xrpc(ctx, http.MethodPost, "com.atproto.repo.createRecord", s.Access, nil, map[string]any{
			"repo": s.DID, "collection": postCollection, "rkey": rkey, "record": record,
		}, &out)
		var se *SendError
		if errors.As(err, &se) && (se.Status == http.StatusConflict || se.Status >= 500 || se.Code == "RecordAlreadyExists") {
			// A record with this key exists (servers have answered that
			// with 409, 400 or 500): it is this delivery's post.
			if found, ferr := b.getPost(ctx, s, rkey); ferr == nil && found != "" {
				uri = found
				return nil
			}
		}
		uri = out.URI
		return err
	})
	switch {
	case err != nil:
		return i18n.Message{}, err
	case uri == "":
		return i18n.M("channel.reply.nowhere"), nil
	}
	return i18n.M("channel.reply.posted", uri), nil
}

// getPost returns the URI of the post with record key rkey, "" when
// there is none.
func (b *Bluesky) getPost(ctx context.Context, s *atSession, rkey string) (string, error) {
	var out struct {
		URI string `json:"uri"`
	}
	q := url.Values{"repo": {s.DID}, "collection": {postCollection}, "rkey": {rkey}}
	err := b.xrpc(ctx, http.MethodGet, "com.atproto.repo.getRecord", s.Access, q, nil, &out)
	var se *SendError
	if errors.As(err, &se) && (se.Code == "RecordNotFound" || se.Status == http.StatusNotFound) {
		return "", nil
	}
	return out.URI, err
}

// withSession runs call with a session, logging in when there is none
// and refreshing it (or logging in again) when it expired or the server
// says the token is no longer good, then calling once more.
func (b *Bluesky) withSession(ctx context.Context, call func(*atSession) error) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.session == nil {
		if err := b.login(ctx); err != nil {
			return err
		}
	} else if !b.session.expires.IsZero() && time.Until(b.session.expires) < time.Minute {
		if err := b.refresh(ctx); err != nil {
			return err
		}
	}
	err := call(b.session)
	if !expiredToken(err) {
		return err
	}
	if err := b.refresh(ctx); err != nil {
		return err
	}
	return call(b.session)
}

// expiredToken reports an answer that asks for a new access token.
func expiredToken(err error) bool {
	var se *SendError
	return errors.As(err, &se) && (se.Status == http.StatusUnauthorized || se.Code == "ExpiredToken" || se.Code == "InvalidToken")
}

// login makes a new session with the app password.
func (b *Bluesky) login(ctx context.Context) error {
	var s atSession
	if err := b.xrpc(ctx, http.MethodPost, "com.atproto.server.createSession", "", nil,
		map[string]string{"identifier": b.Identifier, "password": b.AppPassword}, &s); err != nil {
		var se *SendError
		if errors.As(err, &se) {
			se.Reason = "log in: " + se.Reason
		}
		return err
	}
	s.expires = tokenExpiry(s.Access)
	b.session = &s
	return nil
}

// refresh renews the session with its refresh token, or logs in again
// when that fails.
func (b *Bluesky) refresh(ctx context.Context) error {
	var s atSession
	err := b.xrpc(ctx, http.MethodPost, "com.atproto.server.refreshSession", b.session.Refresh, nil, nil, &s)
	if err != nil || s.Access == "" {
		b.session = nil
		return b.login(ctx)
	}
	s.expires = tokenExpiry(s.Access)
	b.session = &s
	return nil
}

// xrpc calls method nsid with a bearer token (none when ""), query
// parameters and a JSON body (in; none when nil), decoding the answer
// into out.
func (b *Bluesky) xrpc(ctx context.Context, method, nsid, token string, query url.Values, in, out any) error {
	service := b.Service
	if service == "" {
		service = DefaultBlueskyService
	}
	u := strings.TrimRight(service, "/") + "/xrpc/" + nsid
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var body *bytes.Reader
	if in != nil {
		raw, err := json.Marshal(in)
		if err != nil {
			return Permanent(i18n.M("channel.error.encode"), err)
		}
		body = bytes.NewReader(raw)
	}
	var req *http.Request
	var err error
	if body != nil {
		req, err = http.NewRequestWithContext(ctx, method, u, body)
	} else {
		req, err = http.NewRequestWithContext(ctx, method, u, nil)
	}
	if err != nil {
		return Permanent(i18n.M("channel.error.address"), err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := b.Client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return FromResponse(resp, time.Now())
	}
	if out != nil {
		if err := json.NewDecoder(io.LimitReader(resp.Body, maxAnswer)).Decode(out); err != nil {
			return Retryable(i18n.M("channel.error.unreadable", nsid), 0, err)
		}
	}
	return nil
}

// tokenExpiry reads the exp claim of a JWT, zero when it has none. The
// token is not verified: the server does that; the client only wants to
// refresh it in time.
func tokenExpiry(jwt string) time.Time {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return time.Time{}
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return time.Time{}
	}
	var claims struct {
		Exp int64 `json:"exp"`
	}
	if json.Unmarshal(raw, &claims) != nil || claims.Exp == 0 {
		return time.Time{}
	}
	return time.Unix(claims.Exp, 0)
}

// tidAlphabet is the base32 "sortable" alphabet of AT Protocol TIDs.
const tidAlphabet = "234567abcdefghijklmnopqrstuvwxyz"

// RecordKey is the record key of a delivery's Bluesky post: a TID (the
// key type app.bsky.feed.post requires: 13 characters encoding a 64-bit
// number whose top bit is 0, then 53 bits of microseconds since 1970 and
// a 10-bit clock identifier), made from the delivery alone, so that
// every attempt in every process uses the same one. The time is the
// delivery's creation to the millisecond; its microseconds and the
// clock identifier are the delivery's id, so that the deliveries queued
// in one transaction differ.
func RecordKey(d publication.Delivery) string {
	micros := max(d.Created.UnixMicro(), 0)
	micros = micros/1000*1000 + (d.ID/1024)%1000
	v := uint64(micros)<<10 | uint64(d.ID%1024)
	v &= 1<<63 - 1
	var out [13]byte
	for i := 12; i >= 0; i-- {
		out[i] = tidAlphabet[v&31]
		v >>= 5
	}
	return string(out[:])
}

var _ Sender = (*Bluesky)(nil)
