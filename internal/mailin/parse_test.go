package mailin_test

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/mailin"
)

var update = flag.Bool("update", false, "rewrite the golden files of TestParseGolden")

// view is a Message as its golden file shows it: the bytes of an
// attachment by their size and hash only.
type view struct {
	From, To, Cc, ReplyTo []mailin.Address `json:",omitempty"`
	Subject               string           `json:",omitempty"`
	Date                  string           `json:",omitempty"`
	DateText              string           `json:",omitempty"`
	MessageID             string           `json:",omitempty"`
	InReplyTo             []string         `json:",omitempty"`
	References            []string         `json:",omitempty"`
	Received              []string         `json:",omitempty"`
	AuthenticationResults []string         `json:",omitempty"`
	Text                  string           `json:",omitempty"`
	HTML                  string           `json:",omitempty"`
	Attachments           []attachmentView `json:",omitempty"`
	Forwarded             []view           `json:",omitempty"`
	Inline                bool             `json:",omitempty"`
	Notes                 []string         `json:",omitempty"`
}

type attachmentView struct {
	Name, ContentType string
	Size              int64
	SHA256            string
	Kept              bool
	Note              string `json:",omitempty"`
}

func viewOf(m *mailin.Message) view {
	v := view{From: m.From, To: m.To, Cc: m.Cc, ReplyTo: m.ReplyTo, Subject: m.Subject, DateText: m.DateText,
		MessageID: m.MessageID, InReplyTo: m.InReplyTo, References: m.References, Received: m.Received,
		AuthenticationResults: m.AuthenticationResults, Text: m.Text, HTML: m.HTML, Inline: m.Inline, Notes: m.Notes}
	if !m.Date.IsZero() {
		v.Date = m.Date.UTC().Format(time.RFC3339)
	}
	for _, a := range m.Attachments {
		v.Attachments = append(v.Attachments, attachmentView{a.Name, a.ContentType, a.Size, a.SHA256, a.Data != nil, a.Note})
	}
	for _, f := range m.Forwarded {
		v.Forwarded = append(v.Forwarded, viewOf(f))
	}
	return v
}

// TestParseGolden reads every testdata/*.eml and compares what Parse
// makes of it with testdata/*.golden.json (go test -update rewrites
// them, to be reviewed in the diff).
func TestParseGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.eml")
	if len(files) < 10 {
		t.Fatalf("found %d test messages", len(files))
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".eml")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			m, err := mailin.Parse(raw, mailin.DefaultLimits())
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			if err := enc.Encode(viewOf(m)); err != nil {
				t.Fatal(err)
			}
			got := buf.Bytes()
			golden := strings.TrimSuffix(f, ".eml") + ".golden.json"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("Parse(%s) differs from %s:\n%s", f, golden, got)
			}
		})
	}
}

func parse(t *testing.T, raw []byte, limits mailin.Limits) *mailin.Message {
	t.Helper()
	m, err := mailin.Parse(raw, limits)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return m
}

func hasNote(m *mailin.Message, part string) bool {
	for _, n := range m.Notes {
		if strings.Contains(n, part) {
			return true
		}
	}
	return false
}

// TestParseEmpty: an empty message is the one input Parse refuses; a
// message of garbage still gives a Message.
func TestParseEmpty(t *testing.T) {
	if _, err := mailin.Parse(nil, mailin.DefaultLimits()); err == nil {
		t.Error("Parse(nil) gave no error")
	}
	m := parse(t, []byte("\x00\x01\x02 no header at all\r\n\r\n"), mailin.DefaultLimits())
	if len(m.Attachments) != 1 || m.Attachments[0].Note == "" || len(m.Notes) == 0 {
		t.Errorf("garbage: %+v, want it kept as one opaque attachment with a note", viewOf(m))
	}
}

// nestedRFC822 is n messages each forwarded as message/rfc822 in the
// next.
func nestedRFC822(n int) []byte {
	msg := []byte("From: origin@phish.example\r\nSubject: level 0\r\n\r\nthe phish\r\n")
	for i := 1; i <= n; i++ {
		msg = fmt.Appendf(nil, "From: fwd%d@example.org\r\nSubject: level %d\r\nContent-Type: multipart/mixed; boundary=\"b%d\"\r\n\r\n"+
			"--b%d\r\nContent-Type: message/rfc822\r\n\r\n%s\r\n--b%d--\r\n", i, i, i, i, msg, i)
	}
	return msg
}

// TestParseDeepNesting: forwards nested past MaxDepth stop there with a
// note (the inner ones kept as attachments); multiparts nested past
// MaxNesting are kept opaque; inline forwards too.
func TestParseDeepNesting(t *testing.T) {
	limits := mailin.DefaultLimits()
	m := parse(t, nestedRFC822(50), limits)
	depth, deepest := 0, m
	for ; len(deepest.Forwarded) > 0; deepest = deepest.Forwarded[0] {
		depth++
	}
	if !hasNote(deepest, "nested more than") || len(deepest.Attachments) != 1 {
		t.Errorf("the message at the depth limit: notes %v, %d attachments; want a note and the inner one as an attachment",
			deepest.Notes, len(deepest.Attachments))
	}
	if depth != limits.MaxDepth {
		t.Errorf("forwards read %d deep, want the limit %d", depth, limits.MaxDepth)
	}
	small := nestedRFC822(3)
	m = parse(t, small, limits)
	if m.Forwarded[0].Forwarded[0].Forwarded[0].Subject != "level 0" {
		t.Errorf("three nested forwards not read to the phish")
	}

	var b strings.Builder
	b.WriteString("From: a@example.org\r\nContent-Type: multipart/mixed; boundary=\"n0\"\r\n\r\n")
	for i := range 100 {
		fmt.Fprintf(&b, "--n%d\r\nContent-Type: multipart/mixed; boundary=\"n%d\"\r\n\r\n", i, i+1)
	}
	b.WriteString("--n100\r\nContent-Type: text/plain\r\n\r\ndeep\r\n")
	for i := 100; i >= 0; i-- {
		fmt.Fprintf(&b, "--n%d--\r\n", i)
	}
	m = parse(t, []byte(b.String()), limits)
	if !hasNote(m, "nested more than 20 deep") {
		t.Errorf("100 nested multiparts: notes %v, want the nesting limit", m.Notes)
	}

	var inline strings.Builder
	inline.WriteString("From: a@example.org\r\n\r\n")
	for i := range 30 {
		fmt.Fprintf(&inline, "text %d\r\n\r\n-----Original Message-----\r\nFrom: f%d@example.org\r\nSubject: s%d\r\n\r\n", i, i, i)
	}
	m = parse(t, []byte(inline.String()), limits)
	depth = 0
	for cur := m; len(cur.Forwarded) > 0; cur = cur.Forwarded[0] {
		depth++
	}
	if depth != limits.MaxDepth {
		t.Errorf("30 inline forwards read %d deep, want %d", depth, limits.MaxDepth)
	}
}

// multipartWith is a message with one attachment of data.
func multipartWith(name, contentType string, data []byte) []byte {
	enc := base64.StdEncoding.EncodeToString(data)
	var b strings.Builder
	b.WriteString("From: a@example.org\r\nSubject: attachment\r\nContent-Type: multipart/mixed; boundary=\"z\"\r\n\r\n" +
		"--z\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--z\r\nContent-Type: " + contentType +
		"\r\nContent-Disposition: attachment; filename=\"" + name + "\"\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n--z--\r\n")
	return []byte(b.String())
}

// TestParseZipBomb: an archive that would unpack to a gigabyte is an
// attachment of its own small size, hashed, never opened.
func TestParseZipBomb(t *testing.T) {
	var zbuf bytes.Buffer
	zw := zip.NewWriter(&zbuf)
	zeros := make([]byte, 1<<20)
	for i := range 4 {
		f, err := zw.Create(fmt.Sprintf("layer%d.bin", i))
		if err != nil {
			t.Fatal(err)
		}
		for range 16 {
			f.Write(zeros)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	bomb := zbuf.Bytes() // 64 MiB of zeros in 64 KB
	m := parse(t, multipartWith("invoice.zip", "application/zip", bomb), mailin.DefaultLimits())
	if len(m.Attachments) != 1 {
		t.Fatalf("attachments = %+v", viewOf(m).Attachments)
	}
	a := m.Attachments[0]
	if a.Name != "invoice.zip" || a.Size != int64(len(bomb)) || a.SHA256 != hash(bomb) || !bytes.Equal(a.Data, bomb) {
		t.Errorf("the zip = %s %d bytes %s, want it as sent (%d bytes)", a.Name, a.Size, a.SHA256, len(bomb))
	}
	if len(m.Forwarded) != 0 || m.Text != "see attached" {
		t.Errorf("the zip's content was looked into: %+v", viewOf(m))
	}
}

// TestParseHugeAttachment: an attachment over MaxDecodedBytes is hashed
// and measured whole, its bytes not kept, with a note; the body before
// it is read.
func TestParseHugeAttachment(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	limits := mailin.DefaultLimits()
	limits.MaxDecodedBytes = 512 << 10
	m := parse(t, multipartWith("dump.bin", "application/octet-stream", big), limits)
	if len(m.Attachments) != 1 {
		t.Fatalf("attachments = %+v", viewOf(m).Attachments)
	}
	a := m.Attachments[0]
	if a.Data != nil || a.Size != int64(len(big)) || a.SHA256 != hash(big) || !strings.Contains(a.Note, "limit") {
		t.Errorf("huge attachment = %d bytes kept, size %d, note %q; want hashed whole, not kept", len(a.Data), a.Size, a.Note)
	}
	if m.Text != "see attached" {
		t.Errorf("text = %q", m.Text)
	}
}

// TestParseManyParts: past MaxParts the rest is not read, with a note.
func TestParseManyParts(t *testing.T) {
	var b strings.Builder
	b.WriteString("From: a@example.org\r\nContent-Type: multipart/mixed; boundary=\"p\"\r\n\r\n")
	for i := range 2000 {
		fmt.Fprintf(&b, "--p\r\nContent-Type: application/octet-stream\r\n\r\n%d\r\n", i)
	}
	b.WriteString("--p--\r\n")
	m := parse(t, []byte(b.String()), mailin.DefaultLimits())
	if got := len(m.Attachments); got != mailin.DefaultLimits().MaxParts-1 || !hasNote(m, "more than 500 MIME parts") {
		t.Errorf("2000 parts: %d attachments, notes %v", got, m.Notes)
	}
}

// TestParseHTMLIsData: an HTML body with scripts is kept as it came, as
// text, and nothing in it is run or fetched: Parse has no renderer.
func TestParseHTMLIsData(t *testing.T) {
	raw, err := os.ReadFile("testdata/multipart.eml")
	if err != nil {
		t.Fatal(err)
	}
	m := parse(t, raw, mailin.DefaultLimits())
	for _, s := range []string{"<script>alert(document.cookie)</script>", `onload="steal()"`, `src="javascript:alert(1)"`} {
		if !strings.Contains(m.HTML, s) {
			t.Errorf("HTML lost %q: %s", s, m.HTML)
		}
	}
	if strings.Contains(m.Text, "<script>") {
		t.Errorf("the script reached the text body: %q", m.Text)
	}
}

// FuzzParse: no input panics Parse, and every input but the empty one
// gives a Message whose text is UTF-8.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.eml")
	for _, file := range files {
		raw, _ := os.ReadFile(file)
		f.Add(raw)
	}
	f.Add(nestedRFC822(3))
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := mailin.Parse(raw, mailin.DefaultLimits())
		if len(raw) == 0 {
			if err == nil {
				t.Fatal("no error for an empty message")
			}
			return
		}
		if err != nil || m == nil {
			t.Fatalf("Parse: %v", err)
		}
		var check func(m *mailin.Message)
		check = func(m *mailin.Message) {
			for _, s := range []string{m.Subject, m.Text, m.HTML} {
				if !utf8Valid(s) {
					t.Fatalf("not UTF-8: %q", s)
				}
			}
			for _, f := range m.Forwarded {
				check(f)
			}
		}
		check(m)
	})
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

// TestParseMarkerFlood: a text of forward markers without forwards is
// looked at up to a bound, with a note (each try costs only its header
// block, so 200,000 markers do not cost 200,000 passes over the text).
func TestParseMarkerFlood(t *testing.T) {
	raw := "From: a@example.org\r\nSubject: flood\r\n\r\n" + strings.Repeat("> -----Original Message-----\r\nnot a header\r\n", 200000)
	m := parse(t, []byte(raw), mailin.DefaultLimits())
	if len(m.Forwarded) != 0 || !hasNote(m, "forward markers without a forward") {
		t.Errorf("marker flood: %d forwards, notes %v", len(m.Forwarded), m.Notes)
	}
}
