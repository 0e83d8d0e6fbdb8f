package channel

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/publication"
)

// MastodonChannel is the Mastodon channel's name.
const MastodonChannel = "mastodon"

// MastodonLimit is the length of a status on a Mastodon server unless it
// was changed.
const MastodonLimit = 500

// Mastodon posts a public status per delivery through the statuses API
// (POST /api/v1/statuses) with an application's access token.
type Mastodon struct {
	Instance string
	Token    string
	SiteURL  string
	Client   *http.Client
	// Limit is the server's status length (default MastodonLimit).
	Limit int
}

// Name is MastodonChannel.
func (m *Mastodon) Name() string { return MastodonChannel }

// Send posts p's short text in d's language. The Idempotency-Key is the
// delivery's, the same on every attempt: a server that took a status
// whose answer was lost returns that status again instead of posting a
// second one. The reply quotes the status's address (its url, else its
// uri, else its id) as the server gave it.
func (m *Mastodon) Send(ctx context.Context, p publication.Publication, d publication.Delivery) (i18n.Message, error) {
	limit := m.Limit
	if limit <= 0 {
		limit = MastodonLimit
	}
	text, _ := p.Text(d.Lang)
	post := Compose(&p, d.Lang, m.SiteURL, limit, Characters)
	body, err := json.Marshal(map[string]string{
		"status":     post.Text,
		"language":   text.Lang,
		"visibility": "public",
	})
	if err != nil {
		return i18n.Message{}, Permanent(i18n.M("channel.error.encode"), err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(m.Instance, "/")+"/api/v1/statuses", bytes.NewReader(body))
	if err != nil {
		return i18n.Message{}, Permanent(i18n.M("channel.error.address"), err)
	}
	req.Header.Set("Authorization", "Bearer "+m.Token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", IdempotencyKey(p, d))
	resp, err := m.Client.Do(req)
	if err != nil {
		return i18n.Message{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return i18n.Message{}, FromResponse(resp, time.Now())
	}
	var status struct {
		ID  string `json:"id"`
		URL string `json:"url"`
		URI string `json:"uri"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxAnswer)).Decode(&status); err != nil {
		// The status is posted; only its address is unknown. Retrying
		// with the same key would return it, but the answer is odd
		// enough not to try.
		return i18n.M("channel.reply.unreadable"), nil
	}
	for _, s := range []string{status.URL, status.URI, status.ID} {
		if s != "" {
			return i18n.M("channel.reply.posted", s), nil
		}
	}
	return i18n.M("channel.reply.nowhere"), nil
}

// IdempotencyKey identifies a delivery across attempts and processes:
// the publication, its revision, the channel, the language and the
// delivery's id.
func IdempotencyKey(p publication.Publication, d publication.Delivery) string {
	return fmt.Sprintf("vigil-%s-r%d-%s-%s-%d", p.Ident, d.Revision, d.Channel, d.Lang, d.ID)
}

var _ Sender = (*Mastodon)(nil)

// maxAnswer bounds what is read of a server's answer to a post.
const maxAnswer = 1 << 20
