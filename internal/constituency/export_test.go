package constituency

// Belgium is the constituency of the table's tests, for the directory's,
// which are an external package.
var Belgium = belgium
