package mailin

import (
	"fmt"
	"strings"
	"testing"
)

// postfixBounce is a delivery status notification as Postfix writes it:
// the human part, the delivery status, and the returned headers.
func postfixBounce(action, status, returned string) string {
	return "From: MAILER-DAEMON@mx.example.net (Mail Delivery System)\r\n" +
		"To: cert@cert.example\r\nSubject: Undelivered Mail Returned to Sender\r\n" +
		"MIME-Version: 1.0\r\n" +
		"Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"B1\"\r\n\r\n" +
		"--B1\r\nContent-Type: text/plain\r\n\r\nI'm sorry to have to inform you that your message could not be delivered.\r\n" +
		"--B1\r\nContent-Type: message/delivery-status\r\n\r\n" +
		"Reporting-MTA: dns; mx.example.net\r\nArrival-Date: Fri,  4 Dec 2026 10:00:00 +0000\r\n\r\n" +
		"Final-Recipient: rfc822; Reader@Mail.Example\r\nOriginal-Recipient: rfc822;reader@mail.example\r\n" +
		"Action: " + action + "\r\nStatus: " + status + "\r\n" +
		"Diagnostic-Code: smtp; 550 5.1.1 <reader@mail.example>: Recipient address rejected:\r\n User unknown\r\n\r\n" +
		"--B1\r\nContent-Type: text/rfc822-headers\r\n\r\n" + returned + "\r\n" +
		"--B1--\r\n"
}

const returnedHeaders = "From: Example CERT <cert@cert.example>\r\nTo: reader@mail.example\r\n" +
	"Subject: Weekly digest\r\nList-Unsubscribe: <https://cert.example/newsletter/unsubscribe?t=12.abc>\r\n"

func TestParseBounce(t *testing.T) {
	b, ok := ParseBounce([]byte(postfixBounce("failed", "5.1.1", returnedHeaders)))
	if !ok || len(b.Recipients) != 1 {
		t.Fatalf("a Postfix bounce: %+v, %v", b, ok)
	}
	r := b.Recipients[0]
	if r.Address != "reader@mail.example" || r.Action != "failed" || r.Status != "5.1.1" || !r.Permanent() ||
		!strings.Contains(r.Diagnostic, "User unknown") {
		t.Errorf("recipient %+v", r)
	}
	if !b.FailedPermanently("READER@mail.example") || b.FailedPermanently("other@mail.example") {
		t.Error("FailedPermanently")
	}
	if got := b.Returned.Get("List-Unsubscribe"); got != "<https://cert.example/newsletter/unsubscribe?t=12.abc>" {
		t.Errorf("returned List-Unsubscribe %q", got)
	}

	// A delay, and a 4.x.x failure, are not permanent.
	for _, c := range [][2]string{{"delayed", "4.4.1"}, {"failed", "4.2.2"}, {"delivered", "2.0.0"}} {
		b, ok := ParseBounce([]byte(postfixBounce(c[0], c[1], returnedHeaders)))
		if !ok || b.FailedPermanently("reader@mail.example") {
			t.Errorf("%s %s: %+v, %v", c[0], c[1], b, ok)
		}
	}
	// The returned headers in base64.
	raw := strings.Replace(postfixBounce("failed", "5.1.1", "RnJvbTogY2VydEBjZXJ0LmV4YW1wbGUNClN1YmplY3Q6IGhpDQo="),
		"Content-Type: text/rfc822-headers\r\n", "Content-Type: text/rfc822-headers\r\nContent-Transfer-Encoding: base64\r\n", 1)
	if b, ok := ParseBounce([]byte(raw)); !ok || b.Returned.Get("Subject") != "hi" {
		t.Errorf("base64 returned headers: %+v, %v", b, ok)
	}
}

func TestParseBounceRefuses(t *testing.T) {
	for name, raw := range map[string]string{
		"a plain mail":     "From: a@b.example\r\nSubject: hello\r\n\r\nHello.\r\n",
		"another report":   strings.Replace(postfixBounce("failed", "5.1.1", ""), "report-type=delivery-status", "report-type=disposition-notification", 1),
		"no boundary":      "Content-Type: multipart/report; report-type=delivery-status\r\n\r\n--B1\r\n",
		"no status part":   strings.Replace(postfixBounce("failed", "5.1.1", ""), "message/delivery-status", "text/plain", 1),
		"not a mail":       "\x00\x01\x02",
		"no recipient":     strings.Replace(postfixBounce("failed", "5.1.1", ""), "Final-Recipient: rfc822; Reader@Mail.Example\r\nOriginal-Recipient: rfc822;reader@mail.example\r\n", "", 1),
		"an X.400 address": strings.Replace(strings.Replace(postfixBounce("failed", "5.1.1", ""), "rfc822; Reader@Mail.Example", "x400; c=be", 1), "rfc822;reader@mail.example", "x400; c=be", 1),
	} {
		if b, ok := ParseBounce([]byte(raw)); ok {
			t.Errorf("%s: read as a bounce: %+v", name, b)
		}
	}
}

// TestParseBounceBounded: a notification naming thousands of recipients
// is read up to the bound.
func TestParseBounceBounded(t *testing.T) {
	var groups strings.Builder
	for i := range 5000 {
		fmt.Fprintf(&groups, "Final-Recipient: rfc822; r%d@mail.example\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n", i)
	}
	raw := "Content-Type: multipart/report; report-type=delivery-status; boundary=B\r\n\r\n" +
		"--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx\r\n\r\n" + groups.String() + "--B--\r\n"
	b, ok := ParseBounce([]byte(raw))
	if !ok || len(b.Recipients) == 0 || len(b.Recipients) > maxBounceRecipients {
		t.Errorf("%d recipients read, %v", len(b.Recipients), ok)
	}
}

func FuzzParseBounce(f *testing.F) {
	f.Add([]byte(postfixBounce("failed", "5.1.1", returnedHeaders)))
	f.Add([]byte("Content-Type: multipart/report; report-type=delivery-status; boundary=B\r\n\r\n--B\r\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		b, ok := ParseBounce(raw)
		if ok && (len(b.Recipients) == 0 || len(b.Recipients) > maxBounceRecipients) {
			t.Errorf("%d recipients", len(b.Recipients))
		}
	})
}
