package mailin

import (
	"net"
	"sync"
	"time"
)

// sessionLimit is a listener that serves at most max connections at once:
// one more is answered 421 and closed at once, rather than left waiting
// in the kernel's queue without a word.
type sessionLimit struct {
	net.Listener
	slots    chan struct{}
	greeting []byte
}

func newSessionLimit(l net.Listener, max int, hostname string) *sessionLimit {
	return &sessionLimit{Listener: l, slots: make(chan struct{}, max),
		greeting: []byte("421 4.7.0 " + hostname + " Too many connections, please try again later\r\n")}
}

func (l *sessionLimit) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		select {
		case l.slots <- struct{}{}:
			return &limitedConn{Conn: c, release: func() { <-l.slots }}, nil
		default:
			go func() {
				c.SetWriteDeadline(time.Now().Add(5 * time.Second))
				c.Write(l.greeting)
				c.Close()
			}()
		}
	}
}

// limitedConn gives its slot back when closed, once.
type limitedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
