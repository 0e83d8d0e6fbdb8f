package sqlitestore

import (
	"path/filepath"
	"testing"
)

// TestPartsWriterCache: the parts layout's writer keeps a page cache of
// partsWriterCacheMiB, the rows layout's its default, and a CacheMiB
// given is kept in both; the parts layout's writer keeps its temporary
// files in files.
func TestPartsWriterCache(t *testing.T) {
	for _, c := range []struct {
		name string
		opts Options
		want int
	}{
		{"parts", Options{EventLayout: LayoutParts}, -partsWriterCacheMiB * 1024},
		{"rows", Options{EventLayout: LayoutRows}, -64 * 1024},
		{"parts, given", Options{EventLayout: LayoutParts, CacheMiB: 48}, -48 * 1024},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := openLayout(t, filepath.Join(t.TempDir(), "cache.db"), c.opts)
			defer s.Close()
			var got int
			if err := s.write.QueryRowContext(t.Context(), `PRAGMA cache_size`).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Errorf("cache_size = %d, want %d", got, c.want)
			}
			// The sorter's runs in files (1) in the parts layout, in
			// memory (2) as the DSN says in the rows layout.
			wantTemp := 1
			if c.opts.EventLayout == LayoutRows {
				wantTemp = 2
			}
			if err := s.write.QueryRowContext(t.Context(), `PRAGMA temp_store`).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != wantTemp {
				t.Errorf("temp_store = %d, want %d", got, wantTemp)
			}
		})
	}
}
