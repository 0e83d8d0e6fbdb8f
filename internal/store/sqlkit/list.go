package sqlkit

import (
	"database/sql"
	"encoding/json"
	"fmt"
)

// A list column (of text) is a JSON array in SQLite, which has no arrays,
// and a text[] in PostgreSQL. Neither is ever NULL: a nil list is stored
// empty.

// List returns list as the parameter of a list column.
func (d Dialect) List(list []string) (any, error) {
	if d.numbered {
		if list == nil {
			return []string{}, nil
		}
		return list, nil
	}
	if len(list) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal(list)
	return string(b), err
}

// ListDest returns the scan destination of a list column that sets *list.
func (d Dialect) ListDest(list *[]string) any {
	if d.numbered {
		return list
	}
	return jsonList{list}
}

// jsonList scans SQLite's JSON array.
type jsonList struct{ list *[]string }

func (j jsonList) Scan(src any) error {
	var b []byte
	switch v := src.(type) {
	case string:
		b = []byte(v)
	case []byte:
		b = v
	default:
		return fmt.Errorf("sqlkit: list from %T", src)
	}
	return json.Unmarshal(b, j.list)
}

var _ sql.Scanner = jsonList{}
