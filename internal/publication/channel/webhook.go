package channel

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/publication"
)

// WebhookChannel is the name of the webhook channel named name.
func WebhookChannel(name string) string { return "webhook:" + name }

// The headers of a webhook's request.
const (
	// HeaderTimestamp is when the request was signed, in Unix seconds.
	HeaderTimestamp = "X-Vigil-Timestamp"
	// HeaderSignature is "sha256=" and the hexadecimal HMAC-SHA256, with
	// the webhook's secret, of the timestamp, a dot and the body.
	HeaderSignature = "X-Vigil-Signature"
	// HeaderDelivery is the same on every attempt of one delivery: a
	// receiver that saw it before has the post already.
	HeaderDelivery = "X-Vigil-Delivery"
)

// WebhookPayload is the JSON document a webhook receives: a publication
// in one language.
type WebhookPayload struct {
	Ident     string    `json:"ident"`
	Kind      string    `json:"kind"`
	Severity  string    `json:"severity"`
	Lang      string    `json:"lang"`
	Title     string    `json:"title"`
	Summary   string    `json:"summary"`
	URL       string    `json:"url"`
	CVEs      []string  `json:"cves"`
	Published time.Time `json:"published"`
	Revision  int       `json:"revision"`
}

// Webhook posts a WebhookPayload, signed (HeaderSignature), to a URL:
// for bridges to other networks.
type Webhook struct {
	// Hook is the webhook's configured name; the channel is
	// webhook:<Hook>.
	Hook    string
	URL     string
	Secret  []byte
	SiteURL string
	Client  *http.Client
	// Now is the clock of the signature's timestamp (default time.Now).
	Now func() time.Time
}

// Name is webhook:<Hook>.
func (w *Webhook) Name() string { return WebhookChannel(w.Hook) }

// Send posts p in d's language. Any 2xx answer is success; its body is
// not read, and the reply is the status.
func (w *Webhook) Send(ctx context.Context, p publication.Publication, d publication.Delivery) (i18n.Message, error) {
	text, _ := p.Text(d.Lang)
	cves := p.CVEs
	if cves == nil {
		cves = []string{}
	}
	body, err := json.Marshal(WebhookPayload{
		Ident: p.Ident, Kind: string(p.Kind), Severity: p.Severity, Lang: text.Lang,
		Title: text.Title, Summary: text.Summary, URL: PageURL(w.SiteURL, text.Lang, p.Ident),
		CVEs: cves, Published: p.Published.UTC(), Revision: p.Revision,
	})
	if err != nil {
		return i18n.Message{}, Permanent(i18n.M("channel.error.encode"), err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return i18n.Message{}, Permanent(i18n.M("channel.error.address"), err)
	}
	now := time.Now
	if w.Now != nil {
		now = w.Now
	}
	ts := strconv.FormatInt(now().Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Vigil")
	req.Header.Set(HeaderTimestamp, ts)
	req.Header.Set(HeaderSignature, Sign(w.Secret, ts, body))
	req.Header.Set(HeaderDelivery, IdempotencyKey(p, d))
	resp, err := w.Client.Do(req)
	if err != nil {
		return i18n.Message{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return i18n.Message{}, FromResponse(resp, now())
	}
	return i18n.M("channel.reply.status", resp.StatusCode), nil
}

// Sign returns the HeaderSignature value of body sent at timestamp ts.
func Sign(secret []byte, ts string, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(ts))
	mac.Write([]byte("."))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Verify checks a webhook request as a receiver would: the signature of
// the body with the timestamp, and a timestamp at most tolerance away
// from now (a replayed old request is refused).
func Verify(secret []byte, header http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	ts := header.Get(HeaderTimestamp)
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return errors.New("webhook: no timestamp")
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return errors.New("webhook: timestamp too far from now")
	}
	got := strings.TrimSpace(header.Get(HeaderSignature))
	if !hmac.Equal([]byte(got), []byte(Sign(secret, ts, body))) {
		return errors.New("webhook: bad signature")
	}
	return nil
}

var _ Sender = (*Webhook)(nil)
