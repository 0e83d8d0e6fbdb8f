package cli

import (
	"bufio"
	"bytes"
	"context"
	crand "crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vigil-cert/vigil/internal/mailin"
	"github.com/vigil-cert/vigil/internal/mailin/mailindb"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/pgstore"
	"github.com/vigil-cert/vigil/internal/store/sqlitestore"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

// intakeResult is what one run of bench intake measured.
type intakeResult struct {
	Acknowledged, Refused int64
	Elapsed               time.Duration
	Commits               int64
	// Missing counts acknowledged messages not found in the spool
	// afterwards, with the same SHA-256 of the bytes kept.
	Missing int
}

// benchIntake starts an SMTP listener on a new database (SQLite in work,
// or a new schema of the PostgreSQL database postgres, dropped
// afterwards) and sends it messages of size bytes over connections
// concurrent SMTP sessions; then it checks that every message
// acknowledged with 250 is in the spool, byte for byte (its SHA-256
// recomputed from what was kept).
func benchIntake(ctx context.Context, c *cmdEnv, work string, messages, connections, size int, synchronous, postgres string, data, reports bool) error {
	st, where, closeStore, err := openBenchStore(ctx, filepath.Join(work, "intake.db"), synchronous, "", postgres, mailindb.Schema)
	if err != nil {
		return err
	}
	defer closeStore()
	fmt.Fprintln(c.stdout, c.t("bench.intake.start", messages, size, connections, where))
	r, err := runIntakeBench(ctx, st, messages, connections, size, data)
	if err != nil {
		return err
	}
	rate := float64(r.Acknowledged) / r.Elapsed.Seconds()
	fmt.Fprintln(c.stdout, c.t("bench.intake.result", r.Acknowledged, r.Elapsed.Seconds(), rate, rate*float64(size)/1e6))
	fmt.Fprintln(c.stdout, c.t("bench.intake.commits", r.Commits, float64(r.Acknowledged)/float64(max(r.Commits, 1))))
	if r.Refused > 0 {
		fmt.Fprintln(c.stdout, c.t("bench.intake.refused", r.Refused))
	}
	if r.Missing > 0 {
		return errors.New(c.t("bench.intake.missing", r.Missing))
	}
	fmt.Fprintln(c.stdout, c.t("bench.intake.verified", r.Acknowledged))
	if reports {
		return benchReports(ctx, c, st)
	}
	return nil
}

// openBenchStore opens a benchmark's database, migrated with schemas: the
// SQLite file path (its events in layout, "" for the default), or a new
// schema of the PostgreSQL database postgres
// (DSN) when that is set, dropped when the returned func closes the store.
// It also says which it is.
func openBenchStore(ctx context.Context, path, synchronous, layout, postgres string, schemas ...sqlkit.Schema) (store.Store, string, func(), error) {
	if postgres == "" {
		st, err := sqlitestore.Open(ctx, path, sqlitestore.Options{Synchronous: synchronous, EventLayout: layout, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			return nil, "", nil, err
		}
		if err := st.Migrate(ctx, schemas...); err != nil {
			st.Close()
			return nil, "", nil, err
		}
		return st, "SQLite synchronous=" + strings.ToUpper(synchronous) + ", event layout " + st.EventLayout(), func() { st.Close() }, nil
	}
	admin, err := pgx.Connect(ctx, postgres)
	if err != nil {
		return nil, "", nil, fmt.Errorf("bench: %w", err)
	}
	var b [6]byte
	crand.Read(b[:])
	schema := "vigil_bench_" + hex.EncodeToString(b[:])
	drop := func() {
		admin.Exec(context.WithoutCancel(ctx), "DROP SCHEMA IF EXISTS "+schema+" CASCADE")
		admin.Close(context.WithoutCancel(ctx))
	}
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		drop()
		return nil, "", nil, fmt.Errorf("bench: %w", err)
	}
	scoped, err := withSearchPath(postgres, schema)
	if err != nil {
		drop()
		return nil, "", nil, err
	}
	st, err := pgstore.Open(ctx, scoped)
	if err == nil {
		if err = st.Migrate(ctx, schemas...); err != nil {
			st.Close()
		}
	}
	if err != nil {
		drop()
		return nil, "", nil, err
	}
	return st, "PostgreSQL schema " + schema, func() { st.Close(); drop() }, nil
}

// runIntakeBench runs the benchmark on st.
func runIntakeBench(ctx context.Context, st store.Store, messages, connections, size int, data bool) (intakeResult, error) {
	var r intakeResult
	spool := mailindb.New(st.DB())
	cfg := mailin.DefaultConfig()
	cfg.Listen, cfg.Hostname, cfg.Recipients = "127.0.0.1:0", "bench.invalid", []string{"report@"}
	cfg.MaxSessions, cfg.MaxSessionsPerClient = connections+1, connections+1
	srv, err := mailin.NewServer(cfg, spool, nil)
	if err != nil {
		return r, err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return r, err
	}
	serveCtx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(serveCtx, ln) }()

	acked := make([][sha256.Size]byte, messages)
	ok := make([]bool, messages)
	var next, refused atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, connections)
	start := time.Now()
	for range connections {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := intakeClient(ln.Addr().String(), !data, &next, messages, size, acked, ok, &refused); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	r.Elapsed = time.Since(start)
	stop()
	if err := <-served; err != nil {
		return r, err
	}
	close(errs)
	if err := <-errs; err != nil {
		return r, err
	}
	r.Refused, r.Commits = refused.Load(), srv.Stats().Commits
	want := map[[sha256.Size]byte]int{}
	for i := range messages {
		if ok[i] {
			r.Acknowledged++
			want[acked[i]]++
		}
	}
	err = spool.EachMail(ctx, mailin.Pending, func(m mailin.Mail) error {
		want[sha256.Sum256(m.Raw)]--
		return nil
	})
	if err != nil {
		return r, err
	}
	for _, n := range want {
		if n > 0 {
			r.Missing += n
		}
	}
	return r, nil
}

// intakeSites is how many phishing sites the benchmark's messages report:
// message n names site n%intakeSites, so that grouping (bench intake
// --reports) makes one incident of the reports of each site.
const intakeSites = 200

// intakeMessage is the n-th message of the benchmark, size bytes.
func intakeMessage(n int, body []byte, size int) []byte {
	msg := fmt.Appendf(nil, "From: Reporter %d <reporter%d@example.org>\r\nTo: report@cert.example\r\nSubject: phishing report %d\r\n"+
		"Message-ID: <%d@bench.invalid>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"+
		"Look at https://bank-phish-%d.com/verify\r\n", n, n, n, n, n%intakeSites)
	// The body ends its last line: a client ends one that does not,
	// and the message stored would not be the one hashed here.
	return append(append(msg, body[:max(0, size-len(msg)-2)]...), "\r\n"...)
}

// intakeClient sends messages on one session as the large senders do
// when the server offers PIPELINING (RFC 2920): with chunking (CHUNKING,
// RFC 3030), MAIL, RCPT and "BDAT size LAST" with the message in one
// write, then the three answers; without, MAIL, RCPT and DATA in one
// write, then after the 354 the message dot-stuffed and its end. A
// message answered 4xx is counted as refused; any other failure ends the
// run. The clients are written for the benchmark so that they cost little
// of the machine the listener is measured on.
func intakeClient(addr string, chunking bool, next *atomic.Int64, messages, size int, acked [][sha256.Size]byte, ok []bool, refused *atomic.Int64) error {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	r := bufio.NewReader(conn)
	if code, text, err := smtpReply(r); err != nil || code != 220 {
		return fmt.Errorf("greeting: %d %s %v", code, text, err)
	}
	if _, err := io.WriteString(conn, "EHLO client.bench.invalid\r\n"); err != nil {
		return err
	}
	if code, text, err := smtpReply(r); err != nil || code != 250 || !strings.Contains(text, "PIPELINING") || chunking && !strings.Contains(text, "CHUNKING") {
		return fmt.Errorf("EHLO: %d %s %v (want PIPELINING and CHUNKING)", code, text, err)
	}
	body := intakeBody(size)
	var out []byte
	for {
		n := int(next.Add(1) - 1)
		if n >= messages {
			io.WriteString(conn, "QUIT\r\n")
			return nil
		}
		msg := intakeMessage(n, body, size)
		out = fmt.Appendf(out[:0], "MAIL FROM:<reporter%d@example.org>\r\nRCPT TO:<report@cert.example>\r\n", n)
		if chunking {
			out = append(fmt.Appendf(out, "BDAT %d LAST\r\n", len(msg)), msg...)
		} else {
			out = append(out, "DATA\r\n"...)
		}
		if _, err := conn.Write(out); err != nil {
			return err
		}
		var codes [3]int
		for i := range codes {
			code, text, err := smtpReply(r)
			if err != nil {
				return fmt.Errorf("message %d: %w", n, err)
			}
			if i < 2 && code != 250 || i == 2 && !chunking && code != 354 {
				return fmt.Errorf("message %d: %d %s", n, code, text)
			}
			codes[i] = code
		}
		if !chunking {
			stuffed := append(bytes.ReplaceAll(msg, []byte("\r\n."), []byte("\r\n..")), ".\r\n"...)
			if _, err := conn.Write(stuffed); err != nil {
				return err
			}
			if codes[2], _, err = smtpReply(r); err != nil {
				return fmt.Errorf("message %d: %w", n, err)
			}
		}
		switch codes[2] / 100 {
		case 2:
			acked[n], ok[n] = sha256.Sum256(msg), true
		case 4:
			refused.Add(1)
		default:
			return fmt.Errorf("message %d: BDAT answered %d", n, codes[2])
		}
	}
}

// smtpReply reads one reply, all its lines, and returns its code and
// its lines' text joined.
func smtpReply(r *bufio.Reader) (int, string, error) {
	var text []string
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return 0, "", err
		}
		line = strings.TrimRight(line, "\r\n")
		if len(line) < 4 {
			return 0, "", fmt.Errorf("bad reply line %q", line)
		}
		code, err := strconv.Atoi(line[:3])
		if err != nil {
			return 0, "", fmt.Errorf("bad reply line %q", line)
		}
		text = append(text, line[4:])
		if line[3] == ' ' {
			return code, strings.Join(text, "\n"), nil
		}
	}
}

// intakeBody is size bytes of lines of text, as a forwarded phishing
// mail's body would be.
func intakeBody(size int) []byte {
	line := []byte("Dear customer, your account was locked: please verify your details within 24 hours.\r\n")
	return bytes.Repeat(line, size/len(line)+1)[:size]
}
