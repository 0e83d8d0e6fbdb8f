package outbox

import (
	"crypto/tls"
	"net"
	"sync/atomic"
	"time"
)

// idleConn is a connection on which every read and write must make
// progress within an idle timeout. go-smtp sets its own deadlines (five
// minutes for the greeting, none while the message is written); idleConn
// ignores them, so that Config.Timeout bounds every wait, from the TLS
// handshake to the body of the message, and one knob changes it.
type idleConn struct {
	net.Conn
	idle atomic.Int64 // time.Duration
}

func newIdleConn(c net.Conn, idle time.Duration) *idleConn {
	ic := &idleConn{Conn: c}
	ic.idle.Store(int64(idle))
	return ic
}

func (c *idleConn) Read(b []byte) (int, error) {
	if err := c.Conn.SetReadDeadline(time.Now().Add(time.Duration(c.idle.Load()))); err != nil {
		return 0, err
	}
	return c.Conn.Read(b)
}

func (c *idleConn) Write(b []byte) (int, error) {
	if err := c.Conn.SetWriteDeadline(time.Now().Add(time.Duration(c.idle.Load()))); err != nil {
		return 0, err
	}
	return c.Conn.Write(b)
}

// SetDeadline, SetReadDeadline and SetWriteDeadline do nothing: the idle
// timeout replaces the deadlines of the layers above.
func (c *idleConn) SetDeadline(time.Time) error      { return nil }
func (c *idleConn) SetReadDeadline(time.Time) error  { return nil }
func (c *idleConn) SetWriteDeadline(time.Time) error { return nil }

// newImplicitTLS wraps c in TLS from its first byte; the handshake runs
// on the first read, the relay's greeting, under the idle timeout.
func newImplicitTLS(c *idleConn, config *tls.Config) net.Conn {
	return tls.Client(c, config)
}
