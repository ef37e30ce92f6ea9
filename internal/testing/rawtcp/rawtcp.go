// Package rawtcp serves tests a TCP peer that misbehaves below HTTP: one
// that resets, closes or hangs where an HTTP server would answer.
package rawtcp

import (
	"net"
	"testing"
)

// Server accepts connections on loopback until the test ends and hands
// each, once it has read the first bytes of the request, to serve. It
// returns "http://" and the address.
func Server(t testing.TB, serve func(c *net.TCPConn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				_, _ = c.Read(make([]byte, 64<<10))
				serve(c.(*net.TCPConn))
			}()
		}
	}()
	return "http://" + ln.Addr().String()
}

// Reset closes c so that its peer reads a reset, not an end of stream.
func Reset(c *net.TCPConn) {
	_ = c.SetLinger(0)
	c.Close()
}
