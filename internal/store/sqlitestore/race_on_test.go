//go:build race

package sqlitestore

// raceDetector is set when the tests run under the race detector.
const raceDetector = true
