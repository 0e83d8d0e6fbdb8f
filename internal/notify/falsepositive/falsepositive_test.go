package falsepositive_test

import (
	"testing"

	"github.com/vigil-cert/vigil/internal/notify/falsepositive"
	"github.com/vigil-cert/vigil/internal/notify/falsepositive/falsepositivetest"
	"github.com/vigil-cert/vigil/internal/store/dbtest"
)

func TestContractSQLite(t *testing.T) {
	falsepositivetest.Run(t, func(t *testing.T) *falsepositive.Marks {
		return falsepositive.New(dbtest.SQLite(t, falsepositive.Schema).DB())
	})
}

func TestContractPostgres(t *testing.T) {
	falsepositivetest.Run(t, func(t *testing.T) *falsepositive.Marks {
		return falsepositive.New(dbtest.Postgres(t, falsepositive.Schema).DB())
	})
}
