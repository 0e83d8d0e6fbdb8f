package mailreport

// What a report takes of a mail: its text, its observables, the sender it
// concerns and its attachments.

import (
	"strings"
	"unicode/utf8"

	"golang.org/x/net/html"

	"github.com/vigil-cert/vigil/internal/incident"
	"github.com/vigil-cert/vigil/internal/incident/extract"
	"github.com/vigil-cert/vigil/internal/mailin"
)

// bodyText is the text of a mail as the report keeps it: the text body
// (the text of the HTML body when there is none), then each message
// forwarded as an attachment under its own From and Subject lines. Inline
// forwards are in the text body already.
func bodyText(m *mailin.Message) string {
	var b strings.Builder
	b.WriteString(textOf(m))
	for _, f := range m.Forwarded {
		if f.Inline {
			continue
		}
		b.WriteString("\n\n-------- ")
		if len(f.From) > 0 {
			b.WriteString("From: " + addressText(f.From[0]) + "\n")
		}
		b.WriteString("Subject: " + f.Subject + "\n\n")
		b.WriteString(bodyText(f))
		if b.Len() > incident.MaxTextBytes {
			break
		}
	}
	return b.String()
}

func textOf(m *mailin.Message) string {
	if strings.TrimSpace(m.Text) != "" || m.HTML == "" {
		return m.Text
	}
	return htmlText(m.HTML)
}

// htmlText is the text an HTML body shows, without its scripts and
// styles; nothing is rendered or fetched.
func htmlText(doc string) string {
	var b strings.Builder
	z := html.NewTokenizer(strings.NewReader(doc))
	skip := 0
	for b.Len() < incident.MaxTextBytes {
		switch z.Next() {
		case html.ErrorToken:
			return strings.TrimSpace(b.String())
		case html.StartTagToken:
			name, _ := z.TagName()
			switch string(name) {
			case "script", "style", "head", "title":
				skip++
			case "p", "div", "br", "tr", "li", "h1", "h2", "h3", "table":
				b.WriteString("\n")
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			switch string(name) {
			case "script", "style", "head", "title":
				if skip > 0 {
					skip--
				}
			}
		case html.TextToken:
			if skip == 0 {
				if t := strings.TrimSpace(string(z.Text())); t != "" {
					b.WriteString(t + " ")
				}
			}
		}
	}
	return strings.TrimSpace(b.String())
}

// leaveOutSet is the set of values no observable of a report may have:
// the reporter's address and domain and the team's own addresses and
// domains, which every mail names and which would group every report
// together.
func leaveOutSet(addresses ...string) map[string]bool {
	out := map[string]bool{}
	for _, a := range addresses {
		a = strings.ToLower(a)
		if a == "" {
			continue
		}
		out[a] = true
		if _, domain, ok := strings.Cut(a, "@"); ok && domain != "" {
			out[domain] = true
		}
	}
	return out
}

// Observables are the observables of a message a report carries, as the
// mail intake finds them: those of its subjects, bodies and links, of
// every message forwarded in it, their senders, and the hashes of all
// attachments, at most incident.MaxObservables. Forwarded says m is
// itself a message forwarded to the team (a .eml uploaded on the web
// form), whose sender is an observable too. The addresses leaveOut
// names, and their domains, are left out: the reporter's own.
func Observables(m *mailin.Message, forwarded bool, leaveOut ...string) []extract.Observable {
	return observables(m, forwarded, leaveOutSet(leaveOut...))
}

// observables are Observables without the values out names.
func observables(m *mailin.Message, top bool, out map[string]bool) []extract.Observable {
	var list []extract.Observable
	add := func(os []extract.Observable) {
		for _, o := range os {
			if !out[strings.ToLower(o.Value)] {
				list = append(list, o)
			}
		}
	}
	var walk func(m *mailin.Message, forwarded bool)
	walk = func(m *mailin.Message, forwarded bool) {
		if forwarded {
			for _, a := range append(append([]mailin.Address{}, m.From...), m.ReplyTo...) {
				add(extract.Find(a.Address))
			}
		}
		add(extract.Find(m.Subject))
		add(extract.Find(m.Text))
		add(extract.FromHTML(m.HTML))
		for _, a := range m.Attachments {
			if a.SHA256 != "" {
				add([]extract.Observable{{Kind: extract.SHA256, Value: a.SHA256}})
			}
		}
		for _, f := range m.Forwarded {
			walk(f, true)
		}
	}
	walk(m, top)
	return incident.UniqueObservables(list)
}

// concerned is the sender a mail is about: the sender of the first
// message forwarded in it; "" when it forwards none.
func concerned(m *mailin.Message) string {
	for _, f := range m.Forwarded {
		if len(f.From) > 0 && f.From[0].Address != "" {
			return strings.ToLower(f.From[0].Address)
		}
	}
	return ""
}

// attachments are the report's attachments: the mail as it was received
// (message.eml), then every attachment of it and of the messages
// forwarded in it whose content was kept, at most incident.MaxAttachments.
func attachments(mail mailin.Mail, m *mailin.Message) ([]incident.Attachment, error) {
	var list []incident.Attachment
	if mail.Size <= incident.MaxAttachmentBytes {
		list = append(list, incident.Attachment{SHA256: incident.HashBlob(mail.Raw), Name: "message.eml",
			ContentType: "message/rfc822", Size: int64(len(mail.Raw))})
	}
	var err error
	eachAttachment(m, func(a mailin.Attachment) {
		if a.Data == nil || len(list) >= incident.MaxAttachments || err != nil {
			return
		}
		att := incident.Attachment{SHA256: a.SHA256, Name: clip(a.Name, incident.MaxFieldBytes),
			ContentType: clip(a.ContentType, incident.MaxFieldBytes), Size: int64(len(a.Data))}
		if att.Name == "" {
			att.Name = "attachment"
		}
		err = incident.CheckAttachment(att)
		list = append(list, att)
	})
	return list, err
}

// eachAttachment calls fn with every attachment of m and of the messages
// forwarded in it, in order.
func eachAttachment(m *mailin.Message, fn func(mailin.Attachment)) {
	for _, a := range m.Attachments {
		fn(a)
	}
	for _, f := range m.Forwarded {
		eachAttachment(f, fn)
	}
}

func addressText(a mailin.Address) string {
	if a.Name == "" {
		return a.Address
	}
	if a.Address == "" {
		return a.Name
	}
	return a.Name + " <" + a.Address + ">"
}

// clip cuts s to at most n bytes of valid UTF-8.
func clip(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
