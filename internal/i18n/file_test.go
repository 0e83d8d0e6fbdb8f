package i18n

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// TestFileProblem: the three reasons a file cannot be read, with and
// without its path, each a sentence of its own in every language; the
// system's reason is kept without the operation and the path it repeats.
func TestFileProblem(t *testing.T) {
	dir := t.TempDir()
	_, missing := os.ReadFile(filepath.Join(dir, "none.yml"))
	_, directory := os.ReadFile(dir)
	denied := &fs.PathError{Op: "open", Path: "/etc/vigil.yml", Err: fs.ErrPermission}
	wrapped := fmt.Errorf("certificate: %w", missing)
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		path string
		err  error
		want string
	}{
		{"", missing, "The file does not exist."},
		{"", denied, "Vigil may not read the file: check its permissions."},
		{"", directory, "The file cannot be read: is a directory"},
		{"a.pem", wrapped, "a.pem does not exist."},
		{"a.pem", denied, "Vigil may not read a.pem: check its permissions."},
		{dir, directory, dir + " cannot be read: is a directory"},
	} {
		m := FileProblem(tt.path, tt.err)
		if got := m.String(); got != tt.want {
			t.Errorf("FileProblem(%q, %v) = %q, want %q", tt.path, tt.err, got, tt.want)
		}
		for _, lang := range []string{"nl", "fr", "de"} {
			if got := m.In(c, lang); got == tt.want || got == m.ID {
				t.Errorf("%s: %q is not translated", lang, got)
			}
		}
	}
}

// TestSystemReason: an *fs.PathError, wrapped or not, is split into the
// system's reason and its path; any other error is its whole text.
func TestSystemReason(t *testing.T) {
	pathError := &fs.PathError{Op: "open", Path: "/var/lib/vigil/secrets.key", Err: fs.ErrPermission}
	for _, tt := range []struct {
		err          error
		reason, path string
	}{
		{pathError, "permission denied", "/var/lib/vigil/secrets.key"},
		{fmt.Errorf("sealed: %w", pathError), "permission denied", "/var/lib/vigil/secrets.key"},
		{fmt.Errorf("dial tcp: %w", fs.ErrNotExist), "dial tcp: file does not exist", ""},
	} {
		reason, path := SystemReason(tt.err)
		if reason != tt.reason || path != tt.path {
			t.Errorf("SystemReason(%v) = %q, %q, want %q, %q", tt.err, reason, path, tt.reason, tt.path)
		}
	}
}

func TestLowLevelReason(t *testing.T) {
	driver := errors.New("SQL logic error: no such table: state (1)")
	for _, tt := range []struct {
		err  error
		want string
	}{
		{driver, driver.Error()},
		{fmt.Errorf("sqlitestore: get state x: %w", driver), driver.Error()},
		{fmt.Errorf("a: %w", fmt.Errorf("b: %w", &fs.PathError{Op: "open", Path: "/x", Err: fs.ErrPermission})), "open /x: permission denied"},
		{fmt.Errorf("a: %w and %w", driver, fs.ErrPermission), "a: " + driver.Error() + " and permission denied"},
		{fmt.Errorf("wrapped: %w", errors.Join(errors.New("one"), errors.New("two"))), "one\ntwo"},
		// errors.Join(err, close()) when the close went well.
		{errors.Join(fmt.Errorf("sqlitestore: convert events: %w", driver), nil), driver.Error()},
		{fmt.Errorf("a: %w", errors.Join(nil, fmt.Errorf("b: %w", driver))), driver.Error()},
	} {
		if got := LowLevelReason(tt.err); got != tt.want {
			t.Errorf("LowLevelReason(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}
