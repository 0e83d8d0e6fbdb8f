#!/usr/bin/env bash
# Runs Vigil's whole test suite on a fresh machine. As root it installs what
# the tests need (Debian's postgresql, chromium, gnupg, and swaks with the
# Perl TLS modules it only recommends, and npm when it is missing), installs
# axe-core (the accessibility pass of the Chromium tests) from the npm
# registry at the version its package-lock.json pins, starts a throwaway
# PostgreSQL on 127.0.0.1 for the store contract suite, then runs gofmt, go vet,
# staticcheck (installed into .cache/bin from the Go module proxy when it is
# missing), a CGO_ENABLED=0 build, every test (the layering test among them:
# internal/archtest), and the race detector on the packages with concurrency.
set -euo pipefail
cd "$(dirname "$0")"
export GOTOOLCHAIN=local

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v gpg >/dev/null 2>&1 || need+=(gnupg)
command -v swaks >/dev/null 2>&1 || need+=(swaks)
# swaks speaks STARTTLS only with Net::SSLeay, which it merely recommends.
perl -MNet::SSLeay -MIO::Socket::SSL -e1 >/dev/null 2>&1 || need+=(libnet-ssleay-perl libio-socket-ssl-perl)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v npm >/dev/null 2>&1 || need+=(npm)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "test.sh: the tests need: ${need[*]} (sudo apt-get install ${need[*]})" >&2
    exit 1
  fi
  echo "== installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

echo "== axe-core for the accessibility pass (npm ci)"
# The version is pinned in internal/web/testdata/axe/package-lock.json;
# node_modules there is not committed.
npm ci --prefix internal/web/testdata/axe --ignore-scripts --no-audit --no-fund --loglevel=error

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then echo "gofmt would change: $unformatted" >&2; exit 1; fi

echo "== go vet"
go vet ./...

echo "== staticcheck"
# Pinned, so that a new release's checks arrive with a commit, not with a
# fresh machine. It runs its default checks; one turned off for this code
# would be in staticcheck.conf, with the reason.
staticcheck_version=0.8.2
staticcheck=.cache/bin/staticcheck
if ! "$staticcheck" -version 2>/dev/null | grep -qF "($staticcheck_version)"; then
  echo "installing staticcheck v$staticcheck_version into .cache/bin"
  GOBIN="$PWD/.cache/bin" go install "honnef.co/go/tools/cmd/staticcheck@v$staticcheck_version"
fi
"$staticcheck" ./...

echo "== CGO_ENABLED=0 build"
CGO_ENABLED=0 go build -o /dev/null ./cmd/vigil

echo "== PostgreSQL on 127.0.0.1"
if [ -z "${VIGIL_TEST_POSTGRES:-}" ]; then
  scripts/postgres-test.sh start >/dev/null
  trap 'scripts/postgres-test.sh stop >/dev/null 2>&1 || true' EXIT
  VIGIL_TEST_POSTGRES=$(scripts/postgres-test.sh dsn)
  export VIGIL_TEST_POSTGRES
fi

echo "== go test"
go test -timeout 20m ./...

echo "== go test -race (packages with concurrency)"
# The sqlitestore tests whose work runs on the test's goroutine alone
# (answers with their sealing inline, huge events, the contract with
# another query plan) run in the pass above only (skipUnderRace).
CGO_ENABLED=1 go test -race -timeout 20m ./internal/pipeline/... ./internal/bus/... ./internal/enricher/... \
  ./internal/collector/... ./internal/output/... ./internal/auth/... ./internal/store/sqlitestore/... \
  ./internal/constituency/... ./internal/notify/... ./internal/outbox/... ./internal/pgpmime/... ./internal/lease/... \
  ./internal/publication/pubdb/... ./internal/publication/channel/... ./internal/publication/newsletter/... ./internal/parser/chunks/... \
  ./internal/store/hashset/...

echo "== all tests passed"
