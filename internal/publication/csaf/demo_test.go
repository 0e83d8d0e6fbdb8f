package csaf_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/demo"
	"github.com/vigil-cert/vigil/internal/publication"
	"github.com/vigil-cert/vigil/internal/publication/csaf"
	"github.com/vigil-cert/vigil/internal/store/dbtest"
)

// TestDemoIsValidCSAF: every public advisory and warning of the demo
// makes a valid document, so that the checker pointed at a fresh demo
// finds them all.
func TestDemoIsValidCSAF(t *testing.T) {
	ctx := context.Background()
	st := database.On(dbtest.SQLite(t, database.Schemas...))
	set, err := demo.Prepare(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	if err := set.Load(ctx, st); err != nil {
		t.Fatal(err)
	}
	page, err := st.Publications.ListPublications(ctx, publication.Query{Public: true, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	pub := csaf.Publisher{Name: "Vigil demo CERT", Namespace: "https://cert.example", BaseURL: "https://127.0.0.1:8443"}
	prov := csaf.NewProvider(st.Publications, csaf.Config{Publisher: pub})
	rec := httptest.NewRecorder()
	prov.ServeHTTP(rec, httptest.NewRequest("GET", "/.well-known/csaf/white/index.txt", nil))
	index := rec.Body.String()
	listed, refused := 0, 0
	for _, p := range page.Publications {
		if csaf.Category(p.Kind) == "" {
			continue
		}
		revs, err := st.Publications.Revisions(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		in := strings.Contains(index, "/"+csaf.FileName(p.Ident)+"\n")
		if err := csaf.Check(p, pub, revs...); err != nil {
			// A publication CSAF cannot say is left out, and logged.
			t.Logf("%s %s is not valid CSAF: %v", p.Kind, p.Ident, err)
			refused++
			if in {
				t.Errorf("%s is listed though it is not valid", p.Ident)
			}
			continue
		}
		listed++
		if !in {
			t.Errorf("%s %s is valid CSAF but not in index.txt:\n%s", p.Kind, p.Ident, index)
		}
	}
	// Every advisory and warning of the demo is valid CSAF.
	if listed != 3 || refused != 0 || prov.Skipped() != 0 {
		t.Errorf("%d documents listed, %d refused, the provider left out %d", listed, refused, prov.Skipped())
	}
}
