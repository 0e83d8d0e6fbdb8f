package cli

import (
	"strings"
	"testing"
)

func TestConstituencyProductsCommand(t *testing.T) {
	data := t.TempDir()
	if code, _, errOut := run(t, "", "constituency", "import", writeTemp(t, "organisations.csv", constituencyCSV), "--data", data); code != 0 {
		t.Fatalf("constituency import: %d %s", code, errOut)
	}
	file := writeTemp(t, "products.csv", "vendor,product,version,note\nApache,HTTP Server,2.4.58,web\n")
	code, out, errOut := run(t, "", "constituency", "products", "import", "uliege", file, "--data", data)
	if code != 0 || !strings.Contains(out, "1 product added to uliege, which declares 1") {
		t.Fatalf("products import: %d %q %q", code, out, errOut)
	}
	json := writeTemp(t, "products.json", `[{"purl": "pkg:npm/left-pad@1.3.0"}]`)
	if code, out, errOut := run(t, "", "constituency", "products", "import", "uliege", json, "--replace", "--data", data); code != 0 ||
		!strings.Contains(out, "which declares 1") {
		t.Fatalf("products import --replace: %d %q %q", code, out, errOut)
	}
	code, out, _ = run(t, "", "constituency", "products", "export", "uliege", "--data", data)
	if code != 0 || out != "cpe,purl,vendor,product,version,note\n,pkg:npm/left-pad@1.3.0,,,,\n" {
		t.Errorf("products export: %d %q", code, out)
	}
	t.Run("refusals", func(t *testing.T) {
		bad := writeTemp(t, "bad.csv", "cpe\ncpe:2.3:a:broken\n")
		if code, _, errOut := run(t, "", "constituency", "products", "import", "uliege", bad, "--data", data); code == 0 ||
			!strings.Contains(errOut, "Entry 1: This is not a valid CPE 2.3 name") {
			t.Errorf("a bad file: %d %q", code, errOut)
		}
		if code, _, errOut := run(t, "", "constituency", "products", "import", "nobody", file, "--data", data); code == 0 ||
			!strings.Contains(errOut, `no organisation with the handle "nobody"`) {
			t.Errorf("an unknown organisation: %d %q", code, errOut)
		}
		if code, _, errOut := run(t, "", "constituency", "products", "import", "uliege", "--data", data); code == 0 ||
			!strings.Contains(errOut, "want products import HANDLE FILE") {
			t.Errorf("no file: %d %q", code, errOut)
		}
	})
}
