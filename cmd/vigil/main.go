// Command vigil is the CERT operations platform: `vigil help` lists what it does.
package main

import (
	"os"
	// Time zones of notify.time_zone resolve on hosts without a zone
	// database (containers, minimal installs).
	_ "time/tzdata"

	"github.com/vigil-cert/vigil/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
