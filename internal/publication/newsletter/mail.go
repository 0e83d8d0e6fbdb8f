package newsletter

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"io"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	texttemplate "text/template"
	"time"

	gomail "github.com/emersion/go-message/mail"

	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/outbox"
	"github.com/vigil-cert/vigil/internal/publication"
	"github.com/vigil-cert/vigil/internal/publication/markdown"
)

//go:embed templates
var templateFiles embed.FS

// OutboxKind is the kind of the confirmation mails in the outbox.
const OutboxKind = "newsletter-confirm"

// Message IDs of the mails and refusals.
const (
	msgErrAddress       = "newsletter.error.address"
	msgConfirmSubject   = "newsletter.mail.confirm.subject"
	msgWarningSubject   = "newsletter.mail.warning.subject"
	msgDigestSubject    = "newsletter.mail.digest.subject"
	msgUnsubscribeLabel = "newsletter.mail.unsubscribe"
)

// Mails renders the newsletter's mails: the confirmation, and an issue
// for one subscriber. It is safe for concurrent use.
type Mails struct {
	Catalog *i18n.Catalog
	// From is the sender; BaseURL where the subscription pages are
	// (https://cert.example, no trailing slash); PublicationURL the
	// website's link to a publication, with {lang} and {ident}.
	From           *mail.Address
	BaseURL        string
	PublicationURL string
	// Secret signs the unsubscribe links.
	Secret []byte

	text *texttemplate.Template
	html *htmltemplate.Template
}

// NewMails parses the templates.
func NewMails(cat *i18n.Catalog, from *mail.Address, baseURL, publicationURL string, secret []byte) (*Mails, error) {
	m := &Mails{Catalog: cat, From: from, BaseURL: strings.TrimSuffix(baseURL, "/"), PublicationURL: publicationURL, Secret: secret}
	funcs := map[string]any{"t": func(lang, id string, args ...any) string { return cat.T(lang, id, args...) }}
	var err error
	if m.text, err = texttemplate.New("text").Funcs(funcs).ParseFS(templateFiles, "templates/*.txt"); err != nil {
		return nil, fmt.Errorf("newsletter: %w", err)
	}
	if m.html, err = htmltemplate.New("html").Funcs(funcs).ParseFS(templateFiles, "templates/*.html"); err != nil {
		return nil, fmt.Errorf("newsletter: %w", err)
	}
	return m, nil
}

// mailData is what the templates receive.
type mailData struct {
	Lang        string
	Team        string
	Address     string
	ConfirmURL  string
	Unsubscribe string
	Kind        string
	Ident       string
	Severity    string
	Title       string
	Summary     string
	Body        []string // paragraphs of the Markdown, for the text part
	// BodyHTML is the Markdown rendered to sanitized HTML (package
	// markdown), for the HTML part.
	BodyHTML htmltemplate.HTML
	Link     string
}

// Confirmation is the mail that asks address to confirm, in lang, with
// the confirmation token of subscriber id.
func (m *Mails) Confirmation(id int64, address, lang, secret string, now time.Time) (outbox.Message, error) {
	d := mailData{Lang: lang, Team: m.team(), Address: address,
		ConfirmURL: m.BaseURL + "/newsletter/confirm?t=" + url.QueryEscape(strconv.FormatInt(id, 10)+"."+secret)}
	subject := m.Catalog.T(lang, msgConfirmSubject, m.team())
	msgID := fmt.Sprintf("newsletter-confirm.%d.%d@%s", id, now.UnixNano(), m.domain())
	return m.build(address, lang, subject, msgID, "", "confirm", d, now)
}

// Issue is issue is's mail to one subscriber.
func (m *Mails) Issue(is Issue, s Send, now time.Time) (outbox.Message, error) {
	p := is.Publication
	text, _ := p.Text(s.Lang)
	d := mailData{Lang: s.Lang, Team: m.team(), Address: s.Address, Kind: string(p.Kind), Ident: p.Ident,
		Severity: p.Severity, Title: text.Title, Summary: text.Summary, Body: paragraphs(text.Body),
		BodyHTML: markdown.Render(text.Body)}
	if m.PublicationURL != "" {
		d.Link = strings.NewReplacer("{lang}", url.PathEscape(text.Lang), "{ident}", url.PathEscape(p.Ident)).Replace(m.PublicationURL)
	}
	d.Unsubscribe = m.UnsubscribeURL(s.SubscriberID)
	subject := m.Catalog.T(s.Lang, msgDigestSubject, text.Title)
	if p.Kind == publication.KindWarning {
		subject = m.Catalog.T(s.Lang, msgWarningSubject, text.Title)
	}
	msgID := fmt.Sprintf("newsletter.%d.%d@%s", is.ID, s.SubscriberID, m.domain())
	return m.build(s.Address, s.Lang, subject, msgID, d.Unsubscribe, "issue", d, now)
}

// UnsubscribeURL is the one-click link of subscriber id.
func (m *Mails) UnsubscribeURL(id int64) string {
	return m.BaseURL + "/newsletter/unsubscribe?t=" + url.QueryEscape(UnsubscribeToken(m.Secret, id))
}

// build writes a multipart/alternative mail (plain text and HTML) from
// the templates name.txt and name.html.
func (m *Mails) build(to, lang, subject, msgID, unsubscribe, name string, d mailData, now time.Time) (outbox.Message, error) {
	var h gomail.Header
	h.SetDate(now)
	h.SetAddressList("From", []*gomail.Address{{Name: m.From.Name, Address: m.From.Address}})
	h.SetAddressList("To", []*gomail.Address{{Address: to}})
	h.SetSubject(subject)
	h.SetMessageID(msgID)
	h.Set("Content-Language", lang)
	h.Set("Auto-Submitted", "auto-generated")
	if unsubscribe != "" {
		h.Set("List-Id", "<newsletter."+m.domain()+">")
		h.Set("List-Unsubscribe", "<"+unsubscribe+">")
		h.Set("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
		h.Set("Precedence", "bulk")
	}
	var body bytes.Buffer
	w, err := gomail.CreateInlineWriter(&body, h)
	if err != nil {
		return outbox.Message{}, err
	}
	part := func(contentType string, render func(io.Writer) error) error {
		var ph gomail.InlineHeader
		ph.SetContentType(contentType, map[string]string{"charset": "utf-8"})
		ph.Set("Content-Transfer-Encoding", "quoted-printable")
		pw, err := w.CreatePart(ph)
		if err != nil {
			return err
		}
		if err := render(pw); err != nil {
			return err
		}
		return pw.Close()
	}
	if err := part("text/plain", func(w io.Writer) error { return m.text.ExecuteTemplate(w, name+".txt", d) }); err != nil {
		return outbox.Message{}, fmt.Errorf("newsletter: %s mail: %w", name, err)
	}
	if err := part("text/html", func(w io.Writer) error { return m.html.ExecuteTemplate(w, name+".html", d) }); err != nil {
		return outbox.Message{}, fmt.Errorf("newsletter: %s mail: %w", name, err)
	}
	if err := w.Close(); err != nil {
		return outbox.Message{}, err
	}
	return outbox.Message{Kind: OutboxKind, Sender: m.From.Address, Recipients: []string{to}, Subject: subject,
		MessageID: msgID, Body: body.Bytes(), Created: now}, nil
}

func (m *Mails) team() string {
	if m.From.Name != "" {
		return m.From.Name
	}
	return m.From.Address
}

func (m *Mails) domain() string {
	_, d, _ := strings.Cut(m.From.Address, "@")
	return d
}

// paragraphs splits a body at blank lines.
func paragraphs(s string) []string {
	var out []string
	for _, p := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n\n") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
