package sqlitestore

// A hot partition's compact rows as a chunk a batch (layout version 8).
// Searches read a hot partition from its copy in memory (parts_hot.go);
// its rows on disk serve only to build that copy again, when a store
// opens the database and when it catches up with another store's
// batches (parts_shared.go), until the sealing writes them again as the
// sealed partition's chunks (parts_rows.go) and drops them. Written as a
// row an event (ev_N, 14 columns bound through database/sql), they were
// about 3 µs of an ingested event's CPU; written as one chunk a batch
// (ev_N_hot: first_id, last_id, data), the same columns as a sealed
// partition's chunk, with each h8 whole (hotChunkVersion), one value is
// bound for a batch's rows.
//
// A partition hot when a database of version 7 is upgraded keeps its
// rows in ev_N and gets its next batches in ev_N_hot: a reader reads
// both, the rows' ids below the chunks'.

import (
	"context"
	"database/sql"
	"fmt"
	"slices"

	"github.com/klauspost/compress/zstd"

	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

// hotChunksVersion is the layout version from which a hot partition's
// compact rows are written as chunks, a chunk a batch (ev_N_hot).
const hotChunksVersion = 8

// hotChunkEvents bounds the events of a hot chunk: a larger batch (a
// conversion from the rows layout, say) writes several.
const hotChunkEvents = 4096

func hotChunksTable(t string) string {
	return `CREATE TABLE IF NOT EXISTS ` + t + `_hot (first_id INTEGER PRIMARY KEY, last_id INTEGER NOT NULL, data BLOB NOT NULL)`
}

func hotChunkInsertSQL(t string) string {
	return `INSERT INTO ` + t + `_hot (first_id, last_id, data) VALUES (?, ?, ?)`
}

// sealedRowOf is en as a chunk's row.
func sealedRowOf(en *partEntry) sealedRow {
	r := sealedRow{hotRow: hotRowOf(en)}
	if en.srcFQDN != "" {
		r.src = []byte(en.srcFQDN)
	}
	if en.dstFQDN != "" {
		r.dst = []byte(en.dstFQDN)
	}
	return r
}

// entryOfRow is a chunk's row as a partEntry, without its keys.
func entryOfRow(r *sealedRow) partEntry {
	return partEntry{ts: r.ts, id: r.id, h8: r.h8, loc: r.loc(), srcIP: r.srcKey(), dstIP: r.dstKey(),
		srcASN: int64(r.srcASN), dstASN: int64(r.dstASN), srcFQDN: string(r.src), dstFQDN: string(r.dst),
		feed: int64(r.feed), taxonomy: int64(r.taxonomy), typ: int64(r.typ), tlp: int64(r.tlp)}
}

// writeHotChunks inserts entries (in id order) into p's ev_N_hot, a
// chunk of at most hotChunkEvents each; create makes the table first
// (a partition hot at the upgrade from version 7 has none).
func (p *partition) writeHotChunks(ctx context.Context, tx *sql.Tx, enc *zstd.Encoder, entries []partEntry, create bool) error {
	if create {
		if _, err := tx.ExecContext(ctx, hotChunksTable(p.table)); err != nil {
			return err
		}
	}
	rows := make([]sealedRow, 0, min(len(entries), hotChunkEvents))
	for start := 0; start < len(entries); start += hotChunkEvents {
		end := min(start+hotChunkEvents, len(entries))
		rows = rows[:0]
		for i := start; i < end; i++ {
			rows = append(rows, sealedRowOf(&entries[i]))
		}
		data := encodeHotChunk(enc, rows, p.base)
		if err := p.exec(ctx, tx, hotChunkInsertSQL(p.table), []any{entries[start].id, entries[end-1].id, data}); err != nil {
			return fmt.Errorf("insert rows: %w", err)
		}
	}
	return nil
}

// hotForm says which forms of compact rows an unsealed partition has on
// disk: rows (ev_N, written before version 8) and chunks (ev_N_hot).
type hotForm struct{ rows, chunks bool }

// hotForms reads which forms of compact rows unsealed partition p has
// on disk, as q sees the database.
func hotForms(ctx context.Context, q partsQueryer, p *partition) (hotForm, error) {
	names, err := sqlkit.Query(ctx, q, `SELECT name FROM sqlite_master WHERE type = 'table' AND name IN (?, ?)`, []any{p.table, p.table + "_hot"},
		func(r *sql.Rows) (name string, err error) { return name, r.Scan(&name) })
	if err != nil {
		return hotForm{}, err
	}
	return hotForm{rows: slices.Contains(names, p.table), chunks: slices.Contains(names, p.table+"_hot")}, nil
}

// readHotChunks appends to out the rows of p's chunks (ev_N_hot) whose
// id is above after, in id order, without their keys.
func (ps *parts) readHotChunks(ctx context.Context, q partsQueryer, p *partition, after int64, out []partEntry) ([]partEntry, error) {
	var (
		rows []sealedRow
		buf  []byte
	)
	// From the chunk holding after on: a chunk is a batch's, and the
	// memory holds whole batches, but a reader asks no more of it.
	err := sqlkit.Each(ctx, q, `SELECT first_id, data FROM `+p.table+`_hot
		WHERE first_id >= coalesce((SELECT first_id FROM `+p.table+`_hot WHERE first_id <= ? ORDER BY first_id DESC LIMIT 1), 0)
		ORDER BY first_id`, []any{after},
		func(r *sql.Rows) error {
			var (
				first int64
				data  sql.RawBytes
			)
			if err := r.Scan(&first, &data); err != nil {
				return err
			}
			var err error
			if rows, buf, err = ps.decodeChunk(data, p.base, first, chunkAll, rows, buf); err != nil {
				return fmt.Errorf("hot chunk %d: %w", first, err)
			}
			for i := range rows {
				if rows[i].id > after {
					out = append(out, entryOfRow(&rows[i]))
				}
			}
			return nil
		})
	return out, err
}

// hotMaxID returns the highest id of unsealed partition p, 0 when it
// has none, through q; forms are p's (hotForms).
func hotMaxID(ctx context.Context, q partsQueryer, p *partition, forms hotForm) (int64, error) {
	var (
		maxID sql.NullInt64
		err   error
	)
	if forms.chunks {
		// The chunks' ids follow the rows' (written before the upgrade).
		err := q.QueryRowContext(ctx, `SELECT max(last_id) FROM `+p.table+`_hot`).Scan(&maxID)
		if err != nil || maxID.Valid {
			return maxID.Int64, err
		}
	}
	if forms.rows {
		err = q.QueryRowContext(ctx, `SELECT max(id) FROM `+p.table).Scan(&maxID)
	}
	return maxID.Int64, err
}
