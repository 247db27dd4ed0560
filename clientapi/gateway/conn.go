package gateway

import (
	"bytes"
	"compress/zlib"
	"context"
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
}

func newConn(ws *websocket.Conn, compress bool) *conn {
	c := &conn{ws: ws}
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
