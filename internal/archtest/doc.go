// Package archtest holds tests of the shape of the code rather than of its
// behaviour: the layering of the packages, written down in layers_test.go
// and docs/ARCHITECTURE.md. It has no code of its own.
package archtest
