package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func noEnv(string) string { return "" }

func TestGoodFiles(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.good.yml")
	if len(files) == 0 {
		t.Fatal("no good files")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			if _, err := Load(f, noEnv); err != nil {
				t.Fatalf("Load: %v", err)
			}
		})
	}
}

func TestBadFiles(t *testing.T) {
	want := map[string]string{
		"listen.bad.yml":             "config: listen: want host:port",
		"unknown-key.bad.yml":        "field lisen not found",
		"batch.bad.yml":              "config: pipeline.batch_size: want 1 to 100000",
		"duplicate-feed.bad.yml":     `config: feeds[1].name: feed "a" defined twice`,
		"tlp.bad.yml":                "config: feeds[0].tlp:",
		"database.bad.yml":           "config: database:",
		"workers-type.bad.yml":       "config: line 2:",
		"cache.bad.yml":              "config: sqlite.cache_mib: want 2 to 65536",
		"notify-from.bad.yml":        "config: notify.from: required when notifications are enabled",
		"notify-relay.bad.yml":       "config: smtp.host: missing",
		"smtp-tls.bad.yml":           "config: smtp.tls: none sends mail and passwords in clear",
		"dead-letters-count.bad.yml": "config: pipeline.dead_letters.max_per_input: want 1 to 10000000",
		"dead-letters-bytes.bad.yml": "config: pipeline.dead_letters.max_bytes_per_input: want 65536",
	}
	files, _ := filepath.Glob("testdata/*.bad.yml")
	if len(files) != len(want) {
		t.Fatalf("%d bad files, %d expectations", len(files), len(want))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			_, err := Load(f, noEnv)
			if err == nil {
				t.Fatal("Load succeeded")
			}
			if !strings.Contains(err.Error(), want[filepath.Base(f)]) {
				t.Fatalf("error %q, want it to contain %q", err, want[filepath.Base(f)])
			}
		})
	}
}

func TestFullFileValues(t *testing.T) {
	cfg, err := Load("testdata/full.good.yml", noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Feeds) != 2 || cfg.Feeds[1].KeepsRaw() || !cfg.Feeds[0].KeepsRaw() {
		t.Fatalf("feeds not read as written: %+v", cfg.Feeds)
	}
	if cfg.Pipeline.Workers != 4 || len(cfg.Pipeline.Enrichers) != 4 {
		t.Fatalf("pipeline not read: %+v", cfg.Pipeline)
	}
	if dl := cfg.Pipeline.DeadLetters; dl.MaxLetters != 5000 || dl.MaxBytes != 64<<20 {
		t.Fatalf("pipeline.dead_letters not read: %+v", dl)
	}
	if w, _ := cfg.Pipeline.Enrichers[2].Options.Duration("window", 0); w.Hours() != 48 {
		t.Fatalf("dedup window %v", w)
	}
	if !cfg.Notify.Enabled || cfg.Notify.TimeZone != "Europe/Brussels" || cfg.Notify.Interval.Minutes() != 2 ||
		cfg.Notify.MaxEventsPerMessage != 20000 || cfg.Notify.TableRows != 10 {
		t.Fatalf("notify not read over its defaults: %+v", cfg.Notify)
	}
	if cfg.SMTP.Host != "smtp.example.org" || cfg.SMTP.MaxAttempts != 12 || cfg.SMTP.Timeout.Seconds() != 30 {
		t.Fatalf("smtp not read over its defaults: %+v", cfg.SMTP)
	}
	if cfg.Constituency.Reload.Seconds() != 30 {
		t.Fatalf("constituency.reload %v", cfg.Constituency.Reload)
	}
}

func TestEnvOverridesFile(t *testing.T) {
	env := map[string]string{"VIGIL_LISTEN": "127.0.0.1:7000", "VIGIL_DATA": "/tmp/x", "VIGIL_PIPELINE_WORKERS": "3"}
	cfg, err := Load("testdata/minimal.good.yml", func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "127.0.0.1:7000" || cfg.Data != "/tmp/x" || cfg.Pipeline.Workers != 3 {
		t.Fatalf("env not applied: %+v", cfg)
	}
	env["VIGIL_PIPELINE_WORKERS"] = "x"
	if _, err := Load("", func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), "VIGIL_PIPELINE_WORKERS") {
		t.Fatalf("bad env var not reported: %v", err)
	}
}

func TestDefaultIsValid(t *testing.T) {
	cfg := Default()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if len(cfg.Feeds) != 1 || cfg.Feeds[0].Parser != "auto" {
		t.Fatalf("default feeds %+v", cfg.Feeds)
	}
}

func TestMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "none.yml"), noEnv)
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("got %v", err)
	}
}

func TestEmptyFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "empty.yml")
	os.WriteFile(p, nil, 0o600)
	if _, err := Load(p, noEnv); err != nil {
		t.Fatal(err)
	}
}
