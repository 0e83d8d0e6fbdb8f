package console

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/database"
)

// Fixtures of the constituency and notification pages' tests.

const (
	adminPassword   = "the admin's passphrase"
	analystPassword = "the analyst's passphrase"
)

// teamEnv is a console whose lookups and reloads go through a real
// constituency directory, with an administrator and an analyst.
type teamEnv struct {
	*testEnv
	directory *constituency.Directory
	reloads   int
}

func newTeamEnv(t *testing.T, change func(*Config)) *teamEnv {
	t.Helper()
	te := &teamEnv{}
	te.testEnv = newEnv(t, func(c *Config) {
		te.directory = constituency.NewDirectory(c.Store.(*database.DB), constituency.DirectoryOptions{})
		c.Directory = te.directory
		c.ConstituencyChanged = func(ctx context.Context) {
			te.reloads++
			if err := te.directory.Reload(ctx); err != nil {
				t.Errorf("reload: %v", err)
			}
		}
		if change != nil {
			change(c)
		}
	})
	te.addUser("admin", auth.RoleAdmin, adminPassword)
	te.addUser("analyst", auth.RoleAnalyst, analystPassword)
	return te
}

func (e *testEnv) admin() *browser {
	e.t.Helper()
	b := e.browser()
	b.login("admin", adminPassword)
	return b
}

// analyst is a browser logged in as the analyst of newTeamEnv.
func (e *testEnv) analyst() *browser {
	e.t.Helper()
	b := e.browser()
	b.login("analyst", analystPassword)
	return b
}

// createOrganisation stores o directly, as an import or another console
// would have.
func (e *testEnv) createOrganisation(o constituency.Organisation) constituency.Organisation {
	e.t.Helper()
	if err := e.store.CreateOrganisation(context.Background(), &o); err != nil {
		e.t.Fatal(err)
	}
	return o
}

func prefixes(s ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(s))
	for i, p := range s {
		out[i] = netip.MustParsePrefix(p)
	}
	return out
}

func orgPath(o constituency.Organisation) string {
	return "/constituency/" + strconv.FormatInt(o.ID, 10)
}

// postMultipart sends a multipart form with one file, as a browser does
// for an upload; csrf is added from the last page.
func (b *browser) postMultipart(path string, fields url.Values, fileField, fileName string, content []byte) response {
	b.env.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if _, set := fields["csrf"]; !set {
		fields.Set("csrf", b.csrf)
	}
	for k, vs := range fields {
		for _, v := range vs {
			if err := mw.WriteField(k, v); err != nil {
				b.env.t.Fatal(err)
			}
		}
	}
	if fileField != "" {
		fw, err := mw.CreateFormFile(fileField, fileName)
		if err != nil {
			b.env.t.Fatal(err)
		}
		if _, err := fw.Write(content); err != nil {
			b.env.t.Fatal(err)
		}
	}
	if err := mw.Close(); err != nil {
		b.env.t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, b.env.server.URL+path, &body)
	if err != nil {
		b.env.t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return b.do(req)
}

// testKey makes an OpenPGP key created at created and valid for lifetime
// (0: forever) and returns it with its armored public part.
func testKey(t *testing.T, name, email string, created time.Time, lifetime time.Duration) (*openpgp.Entity, string) {
	t.Helper()
	e, err := openpgp.NewEntity(name, "", email, &packet.Config{
		Algorithm: packet.PubKeyAlgoEdDSA, Curve: packet.Curve25519,
		Time: func() time.Time { return created }, KeyLifetimeSecs: uint32(lifetime / time.Second),
	})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	w, err := armor.Encode(&out, openpgp.PublicKeyType, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Serialize(w); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return e, out.String()
}

var (
	locationID = regexp.MustCompile(`^/constituency/(\d+)\?done=`)
	htmlTag    = regexp.MustCompile(`<[^>]+>`)
	spaces     = regexp.MustCompile(`\s+`)
)

// text is a page's text without tags and with entities for quotes undone,
// collapsed to single spaces, for checking messages a person reads.
func text(body string) string {
	s := htmlTag.ReplaceAllString(body, " ")
	s = strings.NewReplacer("&#39;", "'", "&#34;", `"`, "&quot;", `"`, "&amp;", "&", "&lt;", "<", "&gt;", ">").Replace(s)
	return spaces.ReplaceAllString(s, " ")
}

func mustSay(t *testing.T, body string, parts ...string) {
	t.Helper()
	plain := text(body)
	for _, p := range parts {
		if !strings.Contains(plain, p) {
			t.Errorf("page does not say %q; page text: %.1500s", p, plain)
		}
	}
}
