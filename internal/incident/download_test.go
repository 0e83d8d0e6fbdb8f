package incident

import (
	"mime"
	"strings"
	"testing"
)

// TestAttachmentDisposition shows that every name, hostile ones too,
// gives a download whose two filenames hold no quote, path or header
// break, and whose filename* gives the name back.
func TestAttachmentDisposition(t *testing.T) {
	for name, want := range map[string]string{
		"report.eml":                       "report.eml",
		"scan résumé.pdf":                  "scan résumé.pdf",
		`evil"; filename="x.html`:          `evil"; filename="x.html`,
		"../../etc/passwd":                 "passwd",
		`C:\Users\me\invoice.html`:         "invoice.html",
		"line\r\nSet-Cookie: a=b":          "line\r\nSet-Cookie: a=b",
		"":                                 "attachment",
		"..":                               "attachment",
		"\xff\xfebad.txt":                  "bad.txt",
		"фишинг.png":                       "фишинг.png",
		strings.Repeat("a", 300) + ".html": strings.Repeat("a", 200),
	} {
		got := AttachmentDisposition(name)
		if strings.ContainsAny(got, "\r\n") || !strings.HasPrefix(got, "attachment;") {
			t.Errorf("%q: %q", name, got)
			continue
		}
		disp, params, err := mime.ParseMediaType(got)
		if err != nil || disp != "attachment" {
			t.Errorf("%q: %q does not parse: %v", name, got, err)
			continue
		}
		// mime gives filename* as filename when both are present.
		if params["filename"] != want {
			t.Errorf("%q: filename* %q, want %q", name, params["filename"], want)
		}
		plain := got[len(`attachment; filename="`):strings.Index(got, `"; filename*=`)]
		if strings.ContainsAny(plain, `"\/ ;`) {
			t.Errorf("%q: ASCII filename %q", name, plain)
		}
	}
}
