package cveimport

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/vigil-cert/vigil/internal/publication"
)

// DefaultMaxRecords is how many records ReadDir reads when it is given
// no limit.
const DefaultMaxRecords = 10000

// recordFile is the name of a record's file in the public CVE list.
var recordFile = regexp.MustCompile(`^CVE-[0-9]{4}-[0-9]{4,19}\.json$`)

// Refusal is one file ReadDir did not take, and why: a refusal of
// ReadRecord (errors.Is publication.ErrInput; IsRejected for a REJECTED
// record) or the error reading the file.
type Refusal struct {
	Path string // relative to the directory, with slashes
	Err  error
}

// ReadFile reads the CVE record in the file at name.
func ReadFile(name string) (Record, error) {
	f, err := os.Open(name)
	if err != nil {
		return Record{}, fmt.Errorf("open CVE record: %w", err)
	}
	defer f.Close()
	if info, err := f.Stat(); err == nil && info.Size() > MaxRecordSize {
		return Record{}, publication.Refuse("", "publication.error.cve.large", MaxRecordSize>>20)
	}
	return ReadRecord(f)
}

// ReadDir reads the CVE records under root, a directory laid out like
// the public CVE list (cves/2026/12xxx/CVE-2026-12345.json; files with
// other names are passed over, and so are hidden directories such as
// .git). It reads at most maxRecords record files (DefaultMaxRecords
// when maxRecords <= 0) and refuses a directory with more. It returns
// the records it read, ordered by CVE ID, and the files it refused,
// each with its reason. The walk stays inside root: a symbolic link
// that leads out of it is refused, not followed.
func ReadDir(root string, maxRecords int) ([]Record, []Refusal, error) {
	if maxRecords <= 0 {
		maxRecords = DefaultMaxRecords
	}
	dir, err := os.OpenRoot(root)
	if err != nil {
		return nil, nil, fmt.Errorf("open CVE directory: %w", err)
	}
	defer dir.Close()
	var names []string
	err = fs.WalkDir(dir.FS(), ".", func(name string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir() && name != "." && strings.HasPrefix(d.Name(), "."):
			return fs.SkipDir
		case d.IsDir() || !recordFile.MatchString(d.Name()):
			return nil
		}
		if len(names) == maxRecords {
			return publication.Refuse("", "publication.error.cve.count", maxRecords)
		}
		names = append(names, name)
		return nil
	})
	if err != nil {
		if errors.Is(err, publication.ErrInput) {
			return nil, nil, err
		}
		return nil, nil, fmt.Errorf("walk CVE directory: %w", err)
	}
	var records []Record
	var refused []Refusal
	for _, name := range names {
		rec, err := readIn(dir, name)
		if err != nil {
			refused = append(refused, Refusal{Path: name, Err: err})
			continue
		}
		records = append(records, rec)
	}
	slices.SortFunc(records, func(a, b Record) int { return compareIDs(a.ID, b.ID) })
	return records, refused, nil
}

// readIn reads the record in the file name of dir.
func readIn(dir *os.Root, name string) (Record, error) {
	f, err := dir.Open(path.Clean(name))
	if err != nil {
		return Record{}, fmt.Errorf("open %s: %w", name, err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return Record{}, fmt.Errorf("stat %s: %w", name, err)
	}
	if !info.Mode().IsRegular() {
		return Record{}, fmt.Errorf("%s is not a regular file", name)
	}
	if info.Size() > MaxRecordSize {
		return Record{}, publication.Refuse("", "publication.error.cve.large", MaxRecordSize>>20)
	}
	return ReadRecord(f)
}

// compareIDs orders CVE IDs by year, then number.
func compareIDs(a, b string) int {
	ya, na := idParts(a)
	yb, nb := idParts(b)
	if ya != yb {
		return ya - yb
	}
	if na != nb {
		if na < nb {
			return -1
		}
		return 1
	}
	return strings.Compare(a, b)
}

// idParts returns the year and number of a CVE ID.
func idParts(id string) (int, uint64) {
	parts := strings.SplitN(id, "-", 3)
	if len(parts) != 3 {
		return 0, 0
	}
	year, _ := strconv.Atoi(parts[1])
	n, _ := strconv.ParseUint(parts[2], 10, 64)
	return year, n
}
