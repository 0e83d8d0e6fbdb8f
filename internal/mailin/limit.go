package mailin

import (
	"net"
	"sync"
	"time"
)

// sessionLimit is a listener that serves at most max connections at once,
// and at most perClient from one address: one more is answered 421 and
// closed at once, rather than left waiting in the kernel's queue without
// a word. One client flooding the listener thus leaves room for others.
type sessionLimit struct {
	net.Listener
	slots     chan struct{}
	perClient int
	greeting  []byte

	mu      sync.Mutex
	clients map[string]int
}

func newSessionLimit(l net.Listener, max, perClient int, hostname string) *sessionLimit {
	return &sessionLimit{Listener: l, slots: make(chan struct{}, max), perClient: perClient, clients: map[string]int{},
		greeting: []byte("421 4.7.0 " + hostname + " Too many connections, please try again later\r\n")}
}

func (l *sessionLimit) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		host, _, _ := net.SplitHostPort(c.RemoteAddr().String())
		if l.take(host) {
			return &limitedConn{Conn: c, release: func() { l.give(host) }}, nil
		}
		go func() {
			c.SetWriteDeadline(time.Now().Add(5 * time.Second))
			c.Write(l.greeting)
			c.Close()
		}()
	}
}

// take takes a slot for a session of host, if there is one.
func (l *sessionLimit) take(host string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.clients[host] >= l.perClient {
		return false
	}
	select {
	case l.slots <- struct{}{}:
		l.clients[host]++
		return true
	default:
		return false
	}
}

// give gives back a slot of host.
func (l *sessionLimit) give(host string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	<-l.slots
	if l.clients[host]--; l.clients[host] <= 0 {
		delete(l.clients, host)
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
