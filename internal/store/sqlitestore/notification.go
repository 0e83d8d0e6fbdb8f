package sqlitestore

// The list columns of the outbox; the queue, what was told, the commit of
// a pass and the outbox have files of their own. (The policies and
// templates are internal/notify/notifydb's.)

import (
	"encoding/json"
)

// jsonList encodes a list column; nil and empty are both "[]".
func jsonList(list []string) (string, error) {
	if len(list) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal(list)
	return string(b), err
}

// fromJSONList decodes a list column; an empty list is nil, as it was
// given.
func fromJSONList(s string) ([]string, error) {
	var list []string
	if err := json.Unmarshal([]byte(s), &list); err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, nil
	}
	return list, nil
}
