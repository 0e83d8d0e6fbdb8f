package products

import (
	"testing"
)

func TestCompareVersions(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"1.10", "1.9", 1},
		{"1.9", "1.10", -1},
		{"1.0", "1.0.0", 0},
		{"1.0.0", "1", 0},
		{"2.0.0-rc1", "2.0.0", -1},
		{"2.0.0-rc.1", "2.0.0-rc.2", -1},
		{"2.0.0-alpha", "2.0.0-beta", -1},
		{"2.0.0-beta.11", "2.0.0-rc.1", -1},
		{"2.0.0-dev", "2.0.0-alpha", -1},
		{"1.0a1", "1.0", -1},
		{"1.0b2", "1.0a9", 1},
		{"1.0rc1", "1.0.1", -1},
		{"v1.2.3", "1.2.3", 0},
		{"V1.2.4", "v1.2.3", 1},
		{"1.2.3+build.7", "1.2.3", 0},
		{"1.1.1k", "1.1.1", 1},
		{"1.1.1k", "1.1.1l", -1},
		{"1.1.1k", "1.1.2", -1},
		{"1.0-post1", "1.0", 1},
		{"1.0.final", "1.0", 0},
		{"2024-01-15", "2024-01-09", 1},
		{"2023-12-31", "2024-01-01", -1},
		{"20240115", "20231231", 1},
		{"1:1.0", "2.0", 1},
		{"0:1.0", "1.0", 0},
		{"1.02", "1.2", 0},
		{"10.0.19045.3803", "10.0.19045.4046", -1},
		{"99999999999999999999999.1", "99999999999999999999999.0", 1},
		{"", "", 0},
		{"", "1", -1},
		{"1.0-SNAPSHOT", "1.0", -1},
		{"5.4.0-150.167", "5.4.0", 1},
		{"2.4.58", "2.4.6", 1},
		{"1.2.3-1ubuntu1", "1.2.3-1", 1},
	}
	for _, tt := range tests {
		t.Run(tt.a+" vs "+tt.b, func(t *testing.T) {
			if got := CompareVersions(tt.a, tt.b); got != tt.want {
				t.Errorf("CompareVersions(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
			}
			if got := CompareVersions(tt.b, tt.a); got != -tt.want {
				t.Errorf("CompareVersions(%q, %q) = %d, want %d", tt.b, tt.a, got, -tt.want)
			}
		})
	}
}

// FuzzCompareVersions checks that the comparator never panics, that a
// version equals itself and that swapping the two turns the answer.
func FuzzCompareVersions(f *testing.F) {
	for _, s := range []string{"1.0", "v2.0.0-rc1", "1:1.0~beta+x", "1.1.1k", "2024-01-15", "\xff\x00", "..--", "0000001a"} {
		f.Add(s, "1.0.0")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		ab, ba := CompareVersions(a, b), CompareVersions(b, a)
		if ab != -ba {
			t.Errorf("CompareVersions(%q, %q) = %d but (%q, %q) = %d", a, b, ab, b, a, ba)
		}
		if ab < -1 || ab > 1 {
			t.Errorf("CompareVersions(%q, %q) = %d", a, b, ab)
		}
		if c := CompareVersions(a, a); c != 0 {
			t.Errorf("CompareVersions(%q, itself) = %d", a, c)
		}
	})
}
