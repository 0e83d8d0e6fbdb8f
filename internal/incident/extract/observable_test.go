package extract

import "testing"

func TestKindValid(t *testing.T) {
	for _, k := range Kinds {
		if !k.Valid() {
			t.Errorf("%q is not valid", k)
		}
	}
	for _, k := range []Kind{"", "URL", "hostname"} {
		if k.Valid() {
			t.Errorf("%q is valid", k)
		}
	}
}
