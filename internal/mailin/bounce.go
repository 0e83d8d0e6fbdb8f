package mailin

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"net/textproto"
	"strings"
)

// Bounce is a delivery status notification (RFC 3464): a mail server's
// report that mail the team sent did not arrive, or not yet.
type Bounce struct {
	Recipients []BounceRecipient
	// Returned is the header of the mail that bounced, as the report
	// returned it (a text/rfc822-headers or message/rfc822 part); nil
	// when it returned none.
	Returned textproto.MIMEHeader
}

// BounceRecipient is one recipient's part of a delivery status
// notification.
type BounceRecipient struct {
	Address    string // Final-Recipient (or Original-Recipient), lower case
	Action     string // failed, delayed, delivered, relayed or expanded
	Status     string // the enhanced status code, e.g. 5.1.1
	Diagnostic string // the remote server's words, as it wrote them
}

// Permanent reports whether delivery to the recipient failed for good:
// action "failed" with a 5.x.x status.
func (r BounceRecipient) Permanent() bool {
	return r.Action == "failed" && strings.HasPrefix(r.Status, "5.")
}

// FailedPermanently reports whether the notification says that delivery
// to address failed for good.
func (b Bounce) FailedPermanently(address string) bool {
	for _, r := range b.Recipients {
		if r.Permanent() && strings.EqualFold(r.Address, address) {
			return true
		}
	}
	return false
}

// Bounds of what is read of a notification: its parts, each part, and
// its recipients.
const (
	maxBounceParts      = 8
	maxBouncePartBytes  = 256 << 10
	maxBounceRecipients = 100
)

// ParseBounce reads raw as a delivery status notification: a
// multipart/report with report-type delivery-status (RFC 3462, 3464,
// and RFC 6533's internationalised forms). ok is false for any other
// mail, which is then a report like any other.
func ParseBounce(raw []byte) (b Bounce, ok bool) {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return Bounce{}, false
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/report" || params["boundary"] == "" ||
		!strings.EqualFold(params["report-type"], "delivery-status") {
		return Bounce{}, false
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for range maxBounceParts {
		p, err := mr.NextPart()
		if err != nil {
			break
		}
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		var body io.Reader = io.LimitReader(p, maxBouncePartBytes)
		if strings.EqualFold(p.Header.Get("Content-Transfer-Encoding"), "base64") {
			body = base64.NewDecoder(base64.StdEncoding, body)
		}
		data, err := io.ReadAll(body)
		if err != nil {
			continue
		}
		switch ct {
		case "message/delivery-status", "message/global-delivery-status":
			b.Recipients = deliveryStatus(data)
			ok = true
		case "text/rfc822-headers", "message/rfc822", "message/global", "message/global-headers":
			if b.Returned == nil {
				h, err := textproto.NewReader(bufio.NewReader(bytes.NewReader(data))).ReadMIMEHeader()
				if err == nil || (errors.Is(err, io.EOF) && len(h) > 0) {
					b.Returned = h
				}
			}
		}
	}
	return b, ok && len(b.Recipients) > 0
}

// deliveryStatus reads a message/delivery-status body: a group of
// per-message fields, then a group per recipient, separated by blank
// lines.
func deliveryStatus(data []byte) []BounceRecipient {
	r := textproto.NewReader(bufio.NewReader(bytes.NewReader(data)))
	var out []BounceRecipient
	for group := 0; group <= maxBounceRecipients; group++ {
		h, err := r.ReadMIMEHeader()
		if len(h) > 0 {
			if rec, ok := recipientOf(h); ok {
				out = append(out, rec)
			}
		}
		if err != nil {
			break
		}
	}
	return out
}

// recipientOf reads one per-recipient group; ok is false for the
// per-message group, which names no recipient.
func recipientOf(h textproto.MIMEHeader) (BounceRecipient, bool) {
	addr := typedAddress(h.Get("Final-Recipient"))
	if addr == "" {
		addr = typedAddress(h.Get("Original-Recipient"))
	}
	if addr == "" {
		return BounceRecipient{}, false
	}
	status, _, _ := strings.Cut(strings.TrimSpace(h.Get("Status")), " ")
	return BounceRecipient{
		Address:    addr,
		Action:     strings.ToLower(strings.TrimSpace(h.Get("Action"))),
		Status:     status,
		Diagnostic: strings.TrimSpace(h.Get("Diagnostic-Code")),
	}, true
}

// typedAddress reads "rfc822; someone@example.org" (or utf-8;) as the
// lower-case address; "" for another address type.
func typedAddress(v string) string {
	typ, addr, ok := strings.Cut(v, ";")
	typ = strings.ToLower(strings.TrimSpace(typ))
	if !ok || (typ != "rfc822" && typ != "utf-8") {
		return ""
	}
	addr = strings.Trim(strings.TrimSpace(addr), "<>")
	if !strings.Contains(addr, "@") {
		return ""
	}
	return strings.ToLower(addr)
}
