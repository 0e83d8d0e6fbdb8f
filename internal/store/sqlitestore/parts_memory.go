package sqlitestore

import (
	"context"
	"fmt"
)

// partsWriterCacheMiB is the writer's page cache in the parts layout,
// unless Options.CacheMiB says otherwise. The rows layout's writer keeps
// the events table's indexes cached for their maintenance (64 MiB); the
// parts layout's writer appends to tables without an index but the rowid,
// and a sealing reads its partition once, so a large cache only holds
// pages that are not read again: 64 MiB of it was about 60 MB of the
// process's peak resident memory in bench ingest (1M events: 543 MB at
// 64 MiB, 480 MB at 16, and no more CPU time). SQLite's sorter, which
// builds a sealing's indexes, also keeps up to the cache's size of keys
// in memory before it writes a sorted run: at 8 MiB the peak is some
// 30 MiB lower again (1M events, side by side: 447 MiB against 475, and
// 47.9 s of CPU against 48.6).
const partsWriterCacheMiB = 8

// partsWriterCache sets the writer's page cache of the parts layout
// (unless Options.CacheMiB is given) and where its temporary files are.
// The writer has one connection, kept open as long as the store is, so
// the settings last.
func (s *Store) partsWriterCache(ctx context.Context) error {
	if s.opts.cacheDefault {
		if _, err := s.write.ExecContext(ctx, fmt.Sprintf("PRAGMA cache_size = %d", -partsWriterCacheMiB*1024)); err != nil {
			return fmt.Errorf("sqlitestore: the parts layout's page cache: %w", err)
		}
	}
	// A sealing builds a partition's indexes, each sorted by SQLite's
	// sorter: past the page cache it writes sorted runs to temporary
	// files, which temp_store(MEMORY) keeps in the process's memory (and
	// modernc.org/sqlite's allocator keeps once freed). In files, they
	// are the system's page cache instead.
	if _, err := s.write.ExecContext(ctx, "PRAGMA temp_store = FILE"); err != nil {
		return fmt.Errorf("sqlitestore: the parts layout's temporary files: %w", err)
	}
	return nil
}
