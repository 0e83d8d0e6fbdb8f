package config

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestReportFormSettings(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vigil.yaml")
	yaml := "report_form:\n  elsewhere:\n    nl: Doe aangifte bij de politie.\n  max_files: 3\n"
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(path, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if f := cfg.ReportForm; f.Elsewhere["nl"] != "Doe aangifte bij de politie." || f.MaxFiles != 3 || f.MaxFileMiB != 5 || f.PerClient != 5 {
		t.Errorf("report_form %+v", f)
	}
	for key, change := range map[string]func(*Config){
		"report_form.max_files":    func(c *Config) { c.ReportForm.MaxFiles = 10; c.ReportForm.MaxFileMiB = 25 }, // past http.max_upload_bytes
		"report_form.max_file_mib": func(c *Config) { c.ReportForm.MaxFileMiB = 0 },
		"report_form.per_client":   func(c *Config) { c.ReportForm.PerClient = 0 },
		"report_form.elsewhere.nl": func(c *Config) { c.ReportForm.Elsewhere = map[string]string{"nl": ""} },
	} {
		c := Default()
		change(&c)
		var ce *Error
		if err := c.Validate(); !errors.As(err, &ce) || ce.Key != key {
			t.Errorf("%s: %v", key, err)
		}
	}
}
