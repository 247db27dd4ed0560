package gateway_test

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/coder/websocket"

	st "hearth/server/servertest"
)

// FuzzGatewayFrames sends a fuzzed frame (text or binary, before or after
// IDENTIFY) on a real gateway connection, plain or zlib-stream compressed.
// Whatever it is, the server either answers the heartbeat that follows it
// or closes the connection with a gateway close code; it never hangs,
// and every frame it sends decodes (through the connection's one zlib
// stream when compressed).
func FuzzGatewayFrames(f *testing.F) {
	s := st.Start(f, st.Options{FederationAllowList: true})
	tok := s.Register(f, "fuzzer", "correct horse")
	f.Fuzz(func(t *testing.T, zlib, identifyFirst, binary bool, frame []byte) {
		query := "?v=10&encoding=json"
		if zlib {
			query += "&compress=zlib-stream"
		}
		c := dial(t, s, query)
		if identifyFirst {
			identify(c, tok, allIntents)
		} else if hello := c.must(30 * time.Second); hello.Op != 10 {
			t.Fatalf("first payload op %d, want HELLO", hello.Op)
		}
		typ := websocket.MessageText
		if binary {
			typ = websocket.MessageBinary
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := c.ws.Write(ctx, typ, frame); err != nil {
			return // closed already: the read below is not reached
		}
		_ = c.ws.Write(ctx, websocket.MessageText, []byte(`{"op":1,"d":null}`))
		for {
			p, err := c.read(30 * time.Second)
			if err != nil {
				code := websocket.CloseStatus(err)
				switch {
				case errors.Is(err, context.DeadlineExceeded):
					t.Fatalf("frame %q: the server neither answered nor closed in 30 s", frame)
				case code == -1 && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF):
					t.Fatalf("frame %q: the server sent what does not decode: %v", frame, err)
				case code != -1 && (code < 4000 || code > 4014) && code != websocket.StatusMessageTooBig:
					t.Fatalf("frame %q: closed with %d", frame, code)
				}
				return
			}
			if p.Op == 11 {
				return // alive, and the frame was handled
			}
		}
	})
}
