package gateway

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"context"
	"io"
	"net"
	"net/http"
	"sync"

	"github.com/coder/websocket"
)

// conn is one WebSocket connection, with Discord's zlib-stream transport
// compression when asked for: one zlib stream for the whole connection,
// flushed after each message, sent as binary frames.
type conn struct {
	ws *websocket.Conn

	mu   sync.Mutex // one writer at a time
	zbuf bytes.Buffer
	zw   *zlib.Writer

	// version is the API version the client asked for in the URL (9 or
	// 10); READY echoes it as Discord does.
	version int
}

func newConn(ws *websocket.Conn, compress bool, version int) *conn {
	c := &conn{ws: ws, version: version}
	if compress {
		c.zw = zlib.NewWriter(&c.zbuf)
	}
	return c
}

func (c *conn) write(ctx context.Context, msg []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.zw == nil {
		return c.ws.Write(ctx, websocket.MessageText, msg)
	}
	c.zbuf.Reset()
	if _, err := c.zw.Write(msg); err != nil {
		return err
	}
	if err := c.zw.Flush(); err != nil {
		return err
	}
	return c.ws.Write(ctx, websocket.MessageBinary, c.zbuf.Bytes())
}

func (c *conn) close(code websocket.StatusCode, reason string) {
	_ = c.ws.Close(code, reason)
}

// Buffer sizes of a hijacked gateway connection. net/http hands a hijacker
// a 4 KiB reader and a 4 KiB writer, which every idle session would hold
// for its whole life (80 MiB for 10,000 sessions). Frames bigger than these
// buffers bypass them, so small ones cost little: a client's commands are
// small, and a dispatch larger than writeBuffer takes two writes instead
// of one.
const (
	readBuffer  = 512
	writeBuffer = 1024
)

// smallBuffers is the ResponseWriter the WebSocket library hijacks: it
// swaps net/http's buffers for smaller ones, carrying over any bytes the
// client sent ahead of the handshake's end.
type smallBuffers struct{ http.ResponseWriter }

// Hijack implements http.Hijacker.
func (w smallBuffers) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	if err := brw.Writer.Flush(); err != nil {
		c.Close()
		return nil, nil, err
	}
	n := brw.Reader.Buffered()
	var r io.Reader = c
	if n > 0 {
		early, _ := brw.Reader.Peek(n)
		r = io.MultiReader(bytes.NewReader(bytes.Clone(early)), c)
	}
	// The early bytes must be in the new reader's buffer, not behind it:
	// the WebSocket library takes what is Buffered() and then reads the
	// connection itself.
	br := bufio.NewReaderSize(r, max(readBuffer, n))
	if n > 0 {
		if _, err := br.Peek(n); err != nil {
			c.Close()
			return nil, nil, err
		}
	}
	return c, bufio.NewReadWriter(br, bufio.NewWriterSize(c, writeBuffer)), nil
}

// Unwrap lets http.ResponseController reach the server's writer.
func (w smallBuffers) Unwrap() http.ResponseWriter { return w.ResponseWriter }
