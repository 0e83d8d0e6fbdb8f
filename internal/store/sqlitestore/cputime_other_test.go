//go:build !unix

package sqlitestore

import "time"

func processCPU() time.Duration { return 0 }
