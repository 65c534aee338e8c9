package linkem

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// magic starts the preamble an emulated dialer sends to a listener of its
// network; a TLS client's first byte is 0x16, an HTTP client's a letter.
var magic = []byte("\x00linkem\x01")

// preambleTimeout bounds the wait for an accepted connection's first bytes.
const preambleTimeout = 10 * time.Second

func writePreamble(c net.Conn, from string) error {
	if len(from) > 255 {
		return fmt.Errorf("linkem: endpoint name %q longer than 255 bytes", from[:32])
	}
	b := append(append(bytes.Clone(magic), byte(len(from))), from...)
	if _, err := c.Write(b); err != nil {
		return fmt.Errorf("linkem: preamble: %w", err)
	}
	return nil
}

// Listen registers ln as endpoint name and returns it wrapped: connections
// from this network's dialers come through as they are (the dialer
// emulates them), others are emulated on the link from External to name.
// Closing the returned listener closes ln.
func (n *Network) Listen(name string, ln net.Listener) net.Listener {
	l := &listener{Listener: ln, net: n, name: name, addr: ln.Addr().String(),
		ch: make(chan net.Conn), done: make(chan struct{}), pending: map[net.Conn]bool{}}
	n.mu.Lock()
	n.listeners[l.addr] = name
	n.mu.Unlock()
	l.wg.Add(1)
	go l.loop()
	return l
}

type listener struct {
	net.Listener
	net  *Network
	name string
	addr string

	ch   chan net.Conn
	done chan struct{}
	once sync.Once
	wg   sync.WaitGroup

	mu      sync.Mutex
	err     error
	pending map[net.Conn]bool // accepted, preamble not read yet
}

func (l *listener) loop() {
	defer l.wg.Done()
	for {
		raw, err := l.Listener.Accept()
		if err != nil {
			l.mu.Lock()
			l.err = err
			l.mu.Unlock()
			l.once.Do(func() { close(l.done) })
			return
		}
		l.mu.Lock()
		l.pending[raw] = true
		l.mu.Unlock()
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			c, err := l.classify(raw)
			l.mu.Lock()
			delete(l.pending, raw)
			l.mu.Unlock()
			if err != nil {
				raw.Close()
				return
			}
			select {
			case l.ch <- c:
			case <-l.done:
				c.Close()
			}
		}()
	}
}

// classify reads the preamble, if any: a connection from this network's
// dialer passes as it is; another is emulated from External.
func (l *listener) classify(raw net.Conn) (net.Conn, error) {
	_ = raw.SetReadDeadline(time.Now().Add(preambleTimeout))
	br := bufio.NewReaderSize(raw, 512)
	first, err := br.Peek(1)
	if err != nil {
		return nil, err
	}
	if first[0] != magic[0] {
		_ = raw.SetReadDeadline(time.Time{})
		return wrap(&bufConn{Conn: raw, r: br}, l.net.link(External, l.name), false), nil
	}
	head := make([]byte, len(magic)+1)
	if _, err := io.ReadFull(br, head); err != nil {
		return nil, err
	}
	if !bytes.Equal(head[:len(magic)], magic) {
		return nil, errors.New("linkem: bad preamble")
	}
	name := make([]byte, head[len(magic)])
	if _, err := io.ReadFull(br, name); err != nil {
		return nil, err
	}
	_ = raw.SetReadDeadline(time.Time{})
	if br.Buffered() > 0 {
		return &bufConn{Conn: raw, r: br}, nil
	}
	return raw, nil
}

func (l *listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.err != nil {
			return nil, l.err
		}
		return nil, net.ErrClosed
	}
}

// Close closes the listener and the connections still in their preamble,
// and waits for its goroutines.
func (l *listener) Close() error {
	l.net.mu.Lock()
	if l.net.listeners[l.addr] == l.name {
		delete(l.net.listeners, l.addr)
	}
	l.net.mu.Unlock()
	err := l.Listener.Close()
	l.once.Do(func() { close(l.done) })
	l.mu.Lock()
	for c := range l.pending {
		c.Close()
	}
	l.mu.Unlock()
	l.wg.Wait()
	return err
}

// bufConn reads through the reader that peeked at its first bytes.
type bufConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufConn) Read(b []byte) (int, error) { return c.r.Read(b) }
