package csaf

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/auth/authdb"
	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/publication"
	"github.com/vigil-cert/vigil/internal/publication/pubdb"
	"github.com/vigil-cert/vigil/internal/store/dbtest"
)

var teamLanguages = []string{"en", "nl", "fr"}

// TestImportDraftKeepsTLP: a document keeps the TLP it was written at,
// AMBER+STRICT too; a document without one is AMBER, never CLEAR.
func TestImportDraftKeepsTLP(t *testing.T) {
	for _, tlp := range publication.TLPs {
		t.Run(string(tlp), func(t *testing.T) {
			p := testAdvisory("VIGIL-2026-0042", t0)
			p.TLP = tlp
			data, err := Document(p, testPublisher("https://cert.example"), "en")
			if err != nil {
				t.Fatal(err)
			}
			d, err := ImportDraft(bytes.NewReader(data), teamLanguages)
			if err != nil {
				t.Fatal(err)
			}
			if d.Content.TLP != tlp {
				t.Errorf("a TLP:%s document drafts a TLP:%s publication", tlp, d.Content.TLP)
			}
		})
	}
	t.Run("unlabeled", func(t *testing.T) {
		data, err := Document(testAdvisory("VIGIL-2026-0042", t0), testPublisher("https://cert.example"), "en")
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		if err := json.Unmarshal(data, &doc); err != nil {
			t.Fatal(err)
		}
		delete(doc["document"].(map[string]any), "distribution")
		unlabeled, err := json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		d, err := ImportDraft(bytes.NewReader(unlabeled), teamLanguages)
		if err != nil {
			t.Fatal(err)
		}
		if d.Content.TLP != publication.TLPAmber {
			t.Errorf("an unlabeled document drafts a TLP:%s publication", d.Content.TLP)
		}
	})
}

// TestImportDraftLanguages: the document's text is the primary
// language's, and its own language's too when the team writes in it.
func TestImportDraftLanguages(t *testing.T) {
	for _, c := range []struct {
		docLang string
		want    []string
	}{
		{"en", []string{"en"}},
		{"nl", []string{"en", "nl"}},
		{"fr-BE", []string{"en", "fr"}},
		{"de", []string{"en"}},
	} {
		t.Run(c.docLang, func(t *testing.T) {
			data, err := Document(testAdvisory("VIGIL-2026-0042", t0), testPublisher("https://cert.example"), "en")
			if err != nil {
				t.Fatal(err)
			}
			data = bytes.Replace(data, []byte(`"lang": "en"`), []byte(`"lang": "`+c.docLang+`"`), 1)
			d, err := ImportDraft(bytes.NewReader(data), teamLanguages)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, text := range d.Content.Texts {
				got = append(got, text.Lang)
				if text.Title != "Remote code execution in Example Gateway" {
					t.Errorf("%s title %q", text.Lang, text.Title)
				}
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("languages %v, want %v", got, c.want)
			}
			if err := (publication.Rules{Languages: teamLanguages, Severities: publication.DefaultSeverities}).Check(&d.Content); err != nil {
				t.Errorf("the draft breaks the rules: %v", err)
			}
		})
	}
}

// TestImportDraftFits: what a publication cannot hold is cut or left
// out, so that a long vendor advisory still makes a draft.
func TestImportDraftFits(t *testing.T) {
	p := testAdvisory("VIGIL-2026-0042", t0)
	p.Texts = p.Texts[:1]
	p.Texts[0].Title = strings.Repeat("é", 400)
	p.References = append(p.References, publication.Reference{URL: "ftp://example.com/notes.txt", Title: "FTP"})
	data, err := Document(p, testPublisher("https://cert.example"), "en")
	if err != nil {
		t.Fatal(err)
	}
	d, err := ImportDraft(bytes.NewReader(data), teamLanguages)
	if err != nil {
		t.Fatal(err)
	}
	if n := len([]rune(d.Content.Texts[0].Title)); n != publication.MaxTitle {
		t.Errorf("title of %d characters", n)
	}
	for _, r := range d.Content.References {
		if strings.HasPrefix(r.URL, "ftp:") {
			t.Errorf("the FTP reference was kept")
		}
	}
	if err := (publication.Rules{Languages: teamLanguages, Severities: publication.DefaultSeverities}).Check(&d.Content); err != nil {
		t.Errorf("the draft breaks the rules: %v", err)
	}
}

// TestImportDraftRefusesInWords: a field of the wrong type and broken
// JSON are refused in the catalogue's words, the field named, not Go's.
func TestImportDraftRefusesInWords(t *testing.T) {
	good, err := Document(testAdvisory("VIGIL-2026-0042", t0), testPublisher("https://cert.example"), "en")
	if err != nil {
		t.Fatal(err)
	}
	cat := i18n.Embedded()
	for _, c := range []struct {
		name, doc, field, id string
	}{
		{"title of the wrong type", strings.Replace(string(good), `"title": "Remote code execution in Example Gateway"`, `"title": 5`, 1), "document/title", "csaf.error.type"},
		{"broken JSON", string(good[:200]), "", "csaf.error.syntax"},
		{"trailing garbage", string(good) + "}", "", "csaf.error.syntax"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := ImportDraft(strings.NewReader(c.doc), teamLanguages)
			var ie *publication.InputError
			if !errors.As(err, &ie) {
				t.Fatalf("err = %v", err)
			}
			if ie.Field != c.field || ie.Message.ID != c.id {
				t.Errorf("field %q message %s, want %q %s", ie.Field, ie.Message.ID, c.field, c.id)
			}
			for _, lang := range []string{"en", "de"} {
				text := ie.Message.In(cat, lang)
				if strings.Contains(text, "Go struct") || strings.Contains(text, "unmarshal") || !strings.Contains(text, c.field) {
					t.Errorf("%s: %q", lang, text)
				}
			}
		})
	}
}

// TestIsDocument tells a CSAF document from a CVE record.
func TestIsDocument(t *testing.T) {
	doc, err := Document(testAdvisory("VIGIL-2026-0042", t0), testPublisher("https://cert.example"), "en")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		data string
		want bool
	}{
		{"CSAF document", string(doc), true},
		{"CSAF document without its version", `{"document": {"title": "x"}}`, true},
		{"CVE record", `{"dataType":"CVE_RECORD","dataVersion":"5.1","cveMetadata":{"cveId":"CVE-2026-1"},"containers":{}}`, false},
		{"CVE record with a document member", `{"dataType":"CVE_RECORD","document":{}}`, false},
		{"not JSON", `{"document": `, false},
		{"a list", `[{"document": {}}]`, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := IsDocument([]byte(c.data)); got != c.want {
				t.Errorf("IsDocument = %v, want %v", got, c.want)
			}
		})
	}
}

// TestImportDraftRoundTripOverPubdb: an AMBER advisory published on the
// real store (SQLite), written as CSAF by the provider's Document and
// imported back, makes an AMBER draft with every field CSAF carries.
func TestImportDraftRoundTripOverPubdb(t *testing.T) {
	ctx := t.Context()
	st := dbtest.SQLite(t, database.Schemas...)
	var actors []publication.Actor
	for _, name := range []string{"ann", "bob"} {
		u := auth.User{Name: name, Email: name + "@cert.example", Role: auth.RolePublisher,
			PasswordHash: "$argon2id$v=19$m=65536,t=1,p=4$c2FsdA$aGFzaA", Language: "en"}
		if err := authdb.New(st.DB()).CreateUser(ctx, &u); err != nil {
			t.Fatal(err)
		}
		actors = append(actors, publication.Actor{UserID: u.ID, Name: name})
	}
	ann, bob := actors[0], actors[1]
	svc := &publication.Service{Store: pubdb.New(st.DB()), Now: func() time.Time { return t0 }}
	content := testAdvisory("", t0).Content
	content.TLP = publication.TLPAmber
	p, err := svc.Create(ctx, ann, publication.KindAdvisory, content, "")
	if err == nil {
		_, err = svc.Submit(ctx, ann, p.ID)
	}
	if err == nil {
		_, err = svc.Approve(ctx, bob, p.ID)
	}
	if err == nil {
		p, err = svc.Publish(ctx, bob, p.ID)
	}
	if err != nil {
		t.Fatal(err)
	}
	data, err := Document(p, testPublisher("https://cert.example"), "en")
	if err != nil {
		t.Fatal(err)
	}
	d, err := ImportDraft(bytes.NewReader(data), svc.RulesOrDefault().Languages)
	if err != nil {
		t.Fatal(err)
	}
	draft, err := svc.Create(ctx, ann, d.Kind, d.Content, d.Source)
	if err != nil {
		t.Fatal(err)
	}
	draft, err = svc.Store.GetPublication(ctx, draft.ID)
	if err != nil {
		t.Fatal(err)
	}
	if draft.Kind != publication.KindAdvisory || draft.TLP != publication.TLPAmber || draft.Severity != p.Severity || draft.Source != "csaf:"+p.Ident {
		t.Errorf("draft %s, TLP %s, severity %s, source %q", draft.Kind, draft.TLP, draft.Severity, draft.Source)
	}
	if !reflect.DeepEqual(draft.CVEs, p.CVEs) || !reflect.DeepEqual(draft.CWEs, []string{"CWE-78"}) {
		t.Errorf("CVEs %v, CWEs %v", draft.CVEs, draft.CWEs)
	}
	if len(draft.CVSS) != 1 || draft.CVSS[0].Vector != p.CVSS[0].Vector || draft.CVSS[0].Score != p.CVSS[0].Score {
		t.Errorf("CVSS %+v", draft.CVSS)
	}
	if !reflect.DeepEqual(draft.Products, p.Products) {
		t.Errorf("products\n got %+v\nwant %+v", draft.Products, p.Products)
	}
	if !slicesContainsURL(draft.References, p.References[0].URL) {
		t.Errorf("references %+v", draft.References)
	}
	en, _ := draft.Text("en")
	was, _ := p.Text("en")
	if en.Lang != "en" || en.Title != was.Title || en.Summary != was.Summary || !strings.Contains(en.Body, "management interface") {
		t.Errorf("text %+v", en)
	}
	if len(en.Recommendations) != 3 || en.Recommendations[0] != was.Recommendations[0] {
		t.Errorf("recommendations %+v", en.Recommendations)
	}
}

// FuzzImportDraft: whatever the input, ImportDraft refuses it with an
// InputError or returns a draft that the publication's rules accept
// once a severity is chosen (the console and the command line choose
// the scale's middle when the document has none), so that an import
// that passes never fails on creating the draft.
func FuzzImportDraft(f *testing.F) {
	good, err := Document(testAdvisory("VIGIL-2026-0042", t0), testPublisher("https://cert.example"), "en")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(bytes.Replace(good, []byte(`"lang": "en"`), []byte(`"lang": "nl"`), 1))
	f.Add([]byte(`{"document": {"category": "csaf_informational_advisory"}}`))
	rules := publication.Rules{Languages: teamLanguages, Severities: publication.DefaultSeverities}
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := ImportDraft(bytes.NewReader(data), teamLanguages)
		if err != nil {
			if !errors.Is(err, publication.ErrInput) {
				t.Fatalf("not an InputError: %v", err)
			}
			return
		}
		if d.Content.Severity == "" {
			d.Content.Severity = "medium"
		}
		if err := rules.Check(&d.Content); err != nil && !strings.HasPrefix(err.Error(), "texts[0].title") {
			t.Fatalf("the draft breaks the rules: %v", err)
		}
	})
}
