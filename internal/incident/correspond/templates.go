// Package correspond is the team's correspondence from an incident: mails
// to the reporters, to the contacts of the organisations concerned and to
// other teams, written from templates per language, signed with the
// team's OpenPGP identity (encrypted where the recipient's key is known)
// and queued in the outbox in the transaction that writes their timeline
// line and audit entry.
package correspond

import (
	"bytes"
	"embed"
	"fmt"
	"slices"
	"strings"
	"text/template"

	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/incident"
)

//go:embed templates
var files embed.FS

// Templates are the names of the reply templates, in the order a person
// chooses among them: an acknowledgement, a request for information, a
// report handled, a takedown request to a host or registrar, and a
// forward to another team.
var Templates = []string{"ack", "info", "resolved", "takedown", "forward"}

// Languages are the languages every template is written in.
var Languages = i18n.Codes

// Data is what a template is filled with.
type Data struct {
	// Tag is the incident's tag ("2026-123"), "" for a report that has
	// none (a canned reply on closing).
	Tag string
	// Title is the incident's title.
	Title string
	// Tracking is the reporter's tracking number, "" when the mail is not
	// to one reporter.
	Tracking string
	// Team is the name the team signs with.
	Team string
}

// Language returns lang when the templates are written in it, English
// otherwise.
func Language(lang string) string {
	if slices.Contains(Languages, lang) {
		return lang
	}
	return i18n.Source
}

// Render fills the template name in lang (English when the templates are
// not written in it) with d and returns the subject and the text. The
// subject carries the incident's tag ([VIGIL#2026-123]) when d has one,
// so that replies thread back onto the incident.
func Render(name, lang string, d Data) (subject, text string, err error) {
	if !slices.Contains(Templates, name) {
		return "", "", incident.Refuse(msgNoTemplate, name)
	}
	raw, err := files.ReadFile("templates/" + Language(lang) + "/" + name + ".txt")
	if err != nil {
		return "", "", fmt.Errorf("correspond: template %s: %w", name, err)
	}
	t, err := template.New(name).Option("missingkey=error").Parse(string(raw))
	if err != nil {
		return "", "", fmt.Errorf("correspond: template %s: %w", name, err)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, d); err != nil {
		return "", "", fmt.Errorf("correspond: template %s: %w", name, err)
	}
	first, rest, _ := strings.Cut(b.String(), "\n")
	subject = strings.TrimSpace(strings.TrimPrefix(first, "Subject:"))
	// A title with a line break must not end the subject's line.
	subject = strings.Join(strings.Fields(subject), " ")
	if d.Tag != "" {
		subject = WithTag(subject, d.Tag)
	}
	return subject, strings.TrimLeft(rest, "\n"), nil
}

// WithTag puts the incident tag's subject form in front of subject unless
// it is there already.
func WithTag(subject, tag string) string {
	t, err := incident.ParseTag(tag)
	if err != nil {
		return subject
	}
	if got, ok := incident.SubjectTag(subject); ok && got == t {
		return subject
	}
	return strings.TrimSpace(t.Subject() + " " + subject)
}
