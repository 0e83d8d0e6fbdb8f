package mailin

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// IMAPConfig is a mailbox polled for reports (mail_in.imap), beside or
// instead of the SMTP listener.
type IMAPConfig struct {
	// Address is the server's host:port; empty polls nothing.
	Address string `yaml:"address"`
	// TLS is tls (implicit, the default), starttls, or none (only to a
	// server on the loopback interface).
	TLS      string `yaml:"tls"`
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	// Mailbox is the mailbox read (default INBOX).
	Mailbox string `yaml:"mailbox"`
	// Interval is how often the mailbox is read; a server that offers
	// IDLE says at once when mail arrives, and Interval only bounds the
	// wait.
	Interval time.Duration `yaml:"interval"`
	// Keep leaves the messages in the mailbox, marked \Seen; by default
	// they are deleted once the spool has them.
	Keep bool `yaml:"keep"`
}

// Enabled reports whether a mailbox is configured.
func (c IMAPConfig) Enabled() bool { return c.Address != "" }

// imapBatch bounds the messages fetched and spooled in one transaction.
const imapBatch = 50

// Poller moves the unread messages of an IMAP mailbox into the spool:
// each batch is written to the spool first and only then marked \Seen
// (and deleted unless Keep), so that a crash between the two reads the
// batch again rather than losing it.
type Poller struct {
	cfg             IMAPConfig
	maxMessageBytes int64
	spool           Spool
	log             *slog.Logger
	tlsConfig       *tls.Config
}

// NewPoller returns the poller of cfg.IMAP (validated) writing to spool.
func NewPoller(cfg Config, spool Spool, log *slog.Logger) *Poller {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := cfg.IMAP
	if c.Mailbox == "" {
		c.Mailbox = "INBOX"
	}
	if c.Interval <= 0 {
		c.Interval = time.Minute
	}
	host, _, _ := net.SplitHostPort(c.Address)
	return &Poller{cfg: c, maxMessageBytes: cfg.MaxMessageBytes, spool: spool, log: log,
		tlsConfig: &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}}
}

// Run reads the mailbox until ctx ends, connecting again after a failure
// (logged) once Interval has passed.
func (p *Poller) Run(ctx context.Context) error {
	for {
		err := p.session(ctx)
		if ctx.Err() != nil {
			return nil
		}
		p.log.Warn("mail imap: session ended; connecting again later", "address", p.cfg.Address, "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(p.cfg.Interval):
		}
	}
}

// dial connects as cfg.TLS says, with news signalled when the server
// tells of new mail.
func (p *Poller) dial(news chan<- struct{}) (*imapclient.Client, error) {
	opts := &imapclient.Options{TLSConfig: p.tlsConfig, UnilateralDataHandler: &imapclient.UnilateralDataHandler{
		Mailbox: func(*imapclient.UnilateralDataMailbox) {
			select {
			case news <- struct{}{}:
			default:
			}
		},
	}}
	switch p.cfg.TLS {
	case "starttls":
		return imapclient.DialStartTLS(p.cfg.Address, opts)
	case "none":
		return imapclient.DialInsecure(p.cfg.Address, opts)
	}
	return imapclient.DialTLS(p.cfg.Address, opts)
}

// session logs in, selects the mailbox and reads it until ctx ends or the
// connection fails.
func (p *Poller) session(ctx context.Context) error {
	news := make(chan struct{}, 1)
	c, err := p.dial(news)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Login(p.cfg.Username, p.cfg.Password).Wait(); err != nil {
		return fmt.Errorf("login: %w", err)
	}
	if _, err := c.Select(p.cfg.Mailbox, nil).Wait(); err != nil {
		return fmt.Errorf("select %s: %w", p.cfg.Mailbox, err)
	}
	p.log.Info("mail imap: reading the mailbox", "address", p.cfg.Address, "mailbox", p.cfg.Mailbox,
		"idle", c.Caps().Has(imap.CapIdle))
	for {
		if _, err := p.Poll(ctx, c); err != nil {
			return err
		}
		if err := p.wait(ctx, c, news); err != nil {
			return err
		}
		if ctx.Err() != nil {
			c.Logout().Wait()
			return nil
		}
	}
}

// wait waits for news (in IDLE when the server offers it), Interval or
// the end of ctx.
func (p *Poller) wait(ctx context.Context, c *imapclient.Client, news <-chan struct{}) error {
	timer := time.NewTimer(p.cfg.Interval)
	defer timer.Stop()
	var idle *imapclient.IdleCommand
	if c.Caps().Has(imap.CapIdle) {
		var err error
		if idle, err = c.Idle(); err != nil {
			return fmt.Errorf("idle: %w", err)
		}
	}
	select {
	case <-ctx.Done():
	case <-timer.C:
	case <-news:
	case <-c.Closed():
	}
	if idle != nil {
		if err := idle.Close(); err != nil {
			return fmt.Errorf("idle: %w", err)
		}
		if err := idle.Wait(); err != nil {
			return fmt.Errorf("idle: %w", err)
		}
	}
	return nil
}

// Poll moves the mailbox's unread messages into the spool, in batches,
// and returns how many it moved. A message larger than the limit is
// marked \Seen and left in the mailbox, with a warning.
func (p *Poller) Poll(ctx context.Context, c *imapclient.Client) (int, error) {
	found, err := c.UIDSearch(&imap.SearchCriteria{NotFlag: []imap.Flag{imap.FlagSeen, imap.FlagDeleted}}, nil).Wait()
	if err != nil {
		return 0, fmt.Errorf("search: %w", err)
	}
	uids := found.AllUIDs()
	moved := 0
	for len(uids) > 0 && ctx.Err() == nil {
		batch := uids[:min(imapBatch, len(uids))]
		uids = uids[len(batch):]
		n, err := p.move(c, batch)
		if err != nil {
			return moved, err
		}
		moved += n
	}
	return moved, nil
}

// move spools one batch of messages and then marks them.
func (p *Poller) move(c *imapclient.Client, uids []imap.UID) (int, error) {
	sizes, err := c.Fetch(imap.UIDSetNum(uids...), &imap.FetchOptions{UID: true, RFC822Size: true}).Collect()
	if err != nil {
		return 0, fmt.Errorf("fetch sizes: %w", err)
	}
	var small, big imap.UIDSet
	for _, m := range sizes {
		if m.RFC822Size > p.maxMessageBytes {
			big.AddNum(m.UID)
			p.log.Warn("mail imap: a message over the size limit is left in the mailbox, marked read",
				"uid", m.UID, "size", m.RFC822Size, "limit", p.maxMessageBytes)
		} else {
			small.AddNum(m.UID)
		}
	}
	if len(big) > 0 {
		if err := c.Store(big, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagSeen}}, nil).Close(); err != nil {
			return 0, fmt.Errorf("mark big messages: %w", err)
		}
	}
	if len(small) == 0 {
		return 0, nil
	}
	body := &imap.FetchItemBodySection{Peek: true}
	msgs, err := c.Fetch(small, &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{body}}).Collect()
	if err != nil {
		return 0, fmt.Errorf("fetch: %w", err)
	}
	env := Envelope{Client: "imap://" + p.cfg.Address + "/" + p.cfg.Mailbox, To: []string{p.cfg.Username}, TLS: p.cfg.TLS != "none"}
	mails := make([]*Mail, 0, len(msgs))
	for _, m := range msgs {
		if raw := m.FindBodySection(body); len(raw) > 0 {
			mails = append(mails, NewMail(env, raw, time.Now()))
		}
	}
	if err := p.spool.PutMail(context.Background(), mails); err != nil {
		return 0, fmt.Errorf("spool: %w", err)
	}
	flags := []imap.Flag{imap.FlagSeen}
	if !p.cfg.Keep {
		flags = append(flags, imap.FlagDeleted)
	}
	if err := c.Store(small, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: flags}, nil).Close(); err != nil {
		return 0, fmt.Errorf("mark spooled messages: %w", err)
	}
	if !p.cfg.Keep {
		expunge := c.Expunge()
		if c.Caps().Has(imap.CapUIDPlus) {
			expunge = c.UIDExpunge(small)
		}
		if err := expunge.Close(); err != nil {
			return 0, fmt.Errorf("expunge: %w", err)
		}
	}
	p.log.Info("mail imap: messages spooled", "messages", len(mails))
	return len(mails), nil
}
