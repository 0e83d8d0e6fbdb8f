package cveimport

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/publication"
)

// minimal is the smallest record ReadRecord takes, for id.
func minimal(id string) string {
	return fmt.Sprintf(`{"dataType":"CVE_RECORD","dataVersion":"5.0","cveMetadata":{"cveId":%q,"state":"PUBLISHED"},
		"containers":{"cna":{"descriptions":[{"lang":"en","value":"A flaw in %s."}]}}}`, id, id)
}

// writeFile writes data at root/name, making the directories.
func writeFile(t *testing.T, root, name, data string) {
	t.Helper()
	p := filepath.Join(root, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestReadDir reads a directory laid out like the public CVE list, with
// the files such a copy holds beside the records, and some broken ones.
func TestReadDir(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "cves/2026/12xxx/CVE-2026-12345.json", string(sample(t)))
	writeFile(t, root, "cves/2026/1xxx/CVE-2026-1001.json", minimal("CVE-2026-1001"))
	writeFile(t, root, "cves/2025/9xxx/CVE-2025-9999.json", minimal("CVE-2025-9999"))
	writeFile(t, root, "cves/2026/0xxx/CVE-2026-0999.json", `{"dataType":"CVE_RECORD","dataVersion":"5.1",
		"cveMetadata":{"cveId":"CVE-2026-0999","state":"REJECTED"},
		"containers":{"cna":{"rejectedReasons":[{"lang":"en","value":"Duplicate of CVE-2026-1001."}]}}}`)
	writeFile(t, root, "cves/2026/2xxx/CVE-2026-2000.json", strings.Replace(minimal("CVE-2026-2000"), `"value":"A flaw`, `"value":7,"x":"`, 1))
	writeFile(t, root, "cves/2026/3xxx/CVE-2026-3000.json", `{"dataType":"CVE_RECORD","x":"`+strings.Repeat("a", MaxRecordSize)+`"}`)
	writeFile(t, root, "cves/delta.json", `{"new": []}`)
	writeFile(t, root, "cves/deltaLog.json", `[]`)
	writeFile(t, root, "README.md", "# CVE list")
	writeFile(t, root, ".git/objects/CVE-2026-5555.json", minimal("CVE-2026-5555"))
	outside := filepath.Join(t.TempDir(), "CVE-2026-6666.json")
	if err := os.WriteFile(outside, []byte(minimal("CVE-2026-6666")), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "cves/2026/6xxx"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(root, "cves/2026/6xxx/CVE-2026-6666.json")); err != nil {
		t.Fatal(err)
	}

	records, refused, err := ReadDir(root, 0)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range records {
		ids = append(ids, r.ID)
	}
	if want := []string{"CVE-2025-9999", "CVE-2026-1001", "CVE-2026-12345"}; !reflect.DeepEqual(ids, want) {
		t.Errorf("records %v, want %v", ids, want)
	}
	why := map[string]string{}
	for _, r := range refused {
		var in *publication.InputError
		switch {
		case IsRejected(r.Err):
			why[r.Path] = "rejected"
		case errors.As(r.Err, &in):
			why[r.Path] = in.Field + " " + in.Message.ID
		default:
			why[r.Path] = "error"
		}
	}
	want := map[string]string{
		"cves/2026/0xxx/CVE-2026-0999.json": "rejected",
		"cves/2026/2xxx/CVE-2026-2000.json": "containers.cna.descriptions[0].value publication.error.cve.string",
		"cves/2026/3xxx/CVE-2026-3000.json": " publication.error.cve.large",
		"cves/2026/6xxx/CVE-2026-6666.json": "error",
	}
	if !reflect.DeepEqual(why, want) {
		t.Errorf("refused %v\nwant    %v", why, want)
	}

	t.Run("a bound on the number of records", func(t *testing.T) {
		// Seven record files: the symbolic link counts, .git does not.
		_, _, err := ReadDir(root, 6)
		var in *publication.InputError
		if !errors.As(err, &in) || in.Message.ID != "publication.error.cve.count" {
			t.Errorf("%v, want the count refused", err)
		}
		if _, _, err := ReadDir(root, 7); err != nil {
			t.Errorf("seven record files with a bound of seven: %v", err)
		}
	})
	t.Run("a directory that is not there", func(t *testing.T) {
		if _, _, err := ReadDir(filepath.Join(root, "nothing"), 0); err == nil || errors.Is(err, publication.ErrInput) {
			t.Errorf("%v, want a file system error", err)
		}
	})
}

func TestReadFile(t *testing.T) {
	rec, err := ReadFile("testdata/CVE-2026-12345.json")
	if err != nil || rec.ID != "CVE-2026-12345" {
		t.Fatalf("%+v %v", rec, err)
	}
	big := filepath.Join(t.TempDir(), "big.json")
	if err := os.WriteFile(big, make([]byte, MaxRecordSize+1), 0o644); err != nil {
		t.Fatal(err)
	}
	var in *publication.InputError
	if _, err := ReadFile(big); !errors.As(err, &in) || in.Message.ID != "publication.error.cve.large" {
		t.Errorf("%v, want the size refused", err)
	}
	if _, err := ReadFile(filepath.Join(t.TempDir(), "none.json")); err == nil || errors.Is(err, publication.ErrInput) {
		t.Errorf("%v, want a file system error", err)
	}
}
