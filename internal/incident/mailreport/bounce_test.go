package mailreport_test

import (
	"bytes"
	"context"
	"net/mail"
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/outbox"
	"github.com/vigil-cert/vigil/internal/publication"
	"github.com/vigil-cert/vigil/internal/publication/newsletter"
	"github.com/vigil-cert/vigil/internal/publication/newsletter/newsletterdb"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/dbtest"
)

// dsn is a delivery status notification from the subscriber's mail
// server: delivery to recipient ended with action and status, and the
// mail's header came back.
func dsn(recipient, action, status, returned string) string {
	return "From: MAILER-DAEMON@mx.mail.example (Mail Delivery System)\r\n" +
		"To: cert@cert.example\r\nSubject: Undelivered Mail Returned to Sender\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/report; report-type=delivery-status; boundary=\"R\"\r\n\r\n" +
		"--R\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n" +
		"--R\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.mail.example\r\n\r\n" +
		"Final-Recipient: rfc822; " + recipient + "\r\nAction: " + action + "\r\nStatus: " + status + "\r\n" +
		"Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n\r\n" +
		"--R\r\nContent-Type: text/rfc822-headers\r\n\r\n" + returned + "\r\n--R--\r\n"
}

// header is the header block of a built mail.
func header(m outbox.Message) string {
	h, _, _ := bytes.Cut(m.Body, []byte("\r\n\r\n"))
	return string(h) + "\r\n"
}

// TestNewsletterBounces: a permanent failure that returns a newsletter
// mail's header marks its subscriber bounced and makes no report; a
// delay marks nothing and makes no report either; a "bounce" that names
// a subscriber with a forged unsubscribe link, or one that answers other
// mail, stays a report for the analyst.
func TestNewsletterBounces(t *testing.T) {
	dbtest.Each(t, database.Schemas, func(t *testing.T, st store.Store) { newsletterBounces(t, st) })
}

func newsletterBounces(t *testing.T, st store.Store) {
	r := newRig(t, st)
	ctx := context.Background()
	secret := []byte("the newsletter's secret, 32 bytes long")
	mails, err := newsletter.NewMails(i18n.Embedded(), &mail.Address{Name: "Example CERT", Address: "cert@cert.example"},
		"https://cert.example", "https://cert.example/{lang}/p/{ident}", secret)
	if err != nil {
		t.Fatal(err)
	}
	subscribe := func(address string) newsletter.Subscriber {
		t.Helper()
		_, err := r.db.Newsletter.RequestSubscription(ctx, newsletter.Request{Address: address, Lang: "en", At: r.now},
			func(id int64) (outbox.Message, error) { return mails.Confirmation(id, address, "en", "s", r.now) })
		if err != nil {
			t.Fatal(err)
		}
		list, _, err := r.db.Newsletter.ListSubscribers(ctx, newsletter.Query{Text: address})
		if err != nil || len(list) != 1 {
			t.Fatalf("subscriber %s: %v, %v", address, list, err)
		}
		sub, err := r.db.Newsletter.ChangeSubscriber(ctx, list[0].ID, func(s *newsletter.Subscriber) error {
			s.Status, s.Confirmed, s.Changed = newsletter.StatusConfirmed, r.now, r.now
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return sub
	}
	issueTo := func(sub newsletter.Subscriber) string {
		t.Helper()
		p := publication.Publication{Ident: "VIGIL-2026-0001", Kind: publication.KindDigest,
			Content: publication.Content{Texts: []publication.Text{{Lang: "en", Title: "This week"}}}}
		m, err := mails.Issue(newsletter.Issue{ID: 1, Publication: p}, newsletter.Send{IssueID: 1, SubscriberID: sub.ID, Address: sub.Address, Lang: "en"}, r.now)
		if err != nil {
			t.Fatal(err)
		}
		return header(m)
	}
	gone, slow, other := subscribe("gone@mail.example"), subscribe("slow@mail.example"), subscribe("other@mail.example")
	r.worker.Bounces = newsletterdb.Bounces{Secret: secret}

	r.spool(t, "cert@cert.example", dsn("gone@mail.example", "failed", "5.1.1", issueTo(gone)))
	r.spool(t, "cert@cert.example", dsn("slow@mail.example", "delayed", "4.4.1", issueTo(slow)))
	// A forged bounce: other's address, a link whose token is not ours.
	forged := strings.Replace(issueTo(other), "unsubscribe?t=", "unsubscribe?t=9", 1)
	r.spool(t, "cert@cert.example", dsn("other@mail.example", "failed", "5.1.1", forged))
	// A constituent's address failing for a notification: the analyst's.
	r.spool(t, "cert@cert.example", dsn("abuse@isp.example", "failed", "5.1.1", "From: cert@cert.example\r\nSubject: [Vigil] 3 events\r\n"))
	if n := r.run(t); n != 4 {
		t.Fatalf("%d mails taken, want 4", n)
	}

	status := func(sub newsletter.Subscriber) string {
		got, err := r.db.Newsletter.GetSubscriber(ctx, sub.ID)
		if err != nil {
			t.Fatal(err)
		}
		return got.Status
	}
	if s := status(gone); s != newsletter.StatusBounced {
		t.Errorf("the address that failed for good is %s", s)
	}
	if s := status(slow); s != newsletter.StatusConfirmed {
		t.Errorf("the delayed address is %s", s)
	}
	if s := status(other); s != newsletter.StatusConfirmed {
		t.Errorf("the address named by a forged bounce is %s", s)
	}
	reports := r.reports(t)
	if len(reports) != 2 {
		t.Fatalf("%d reports, want the forged bounce's and the notification's: %+v", len(reports), reports)
	}
	for _, rep := range reports {
		if strings.Contains(rep.Text+rep.Subject, "slow@") {
			t.Errorf("the delay became a report: %+v", rep)
		}
	}
	if p, err := r.db.PendingMail(ctx, 10); err != nil || len(p) != 0 {
		t.Errorf("mails left pending: %d, %v", len(p), err)
	}
}
