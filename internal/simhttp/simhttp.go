package simhttp

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Server serves one handler on a loopback port. Close or Shutdown stops
// it; either may be called more than once.
type Server struct {
	// URL is the base URL of the server, "http://127.0.0.1:port", with
	// no trailing slash.
	URL string

	srv    *http.Server
	served chan struct{}
}

// Start serves h on a free 127.0.0.1 port until Close or Shutdown.
func Start(h http.Handler) (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	s := &Server{
		URL: "http://" + ln.Addr().String(),
		// A client that never finishes its headers must not hold a
		// connection forever.
		srv:    &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second},
		served: make(chan struct{}),
	}
	go func() {
		defer close(s.served)
		_ = s.srv.Serve(ln)
	}()
	return s, nil
}

// Close closes the listener and every connection at once, and returns
// when the serving goroutine has. Handlers still running finish on their
// own; a simulator that must wait for them counts them itself.
func (s *Server) Close() error {
	err := s.srv.Close()
	<-s.served
	return err
}

// Shutdown stops accepting, lets the requests in flight finish until ctx
// ends, then closes what is left, and returns when the serving goroutine
// has. The error is ctx's when requests had to be cut off.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if err != nil {
		_ = s.srv.Close()
	}
	<-s.served
	return err
}

// Sleep waits d of real time (latency is about the wire, not a
// simulator's clock) and reports whether it did: false when stop or
// cancel (either may be nil) closes first, for a request its client gave
// up or a simulator closing. A d of zero or less returns true at once.
func Sleep(d time.Duration, stop, cancel <-chan struct{}) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-stop:
		return false
	case <-cancel:
		return false
	}
}

// Drop closes the connection of w without an answer, as a network failure
// or a crashed front end would, and reports whether it could: false when
// w cannot be hijacked (an httptest.ResponseRecorder, or HTTP/2), and the
// caller answers some other way.
func Drop(w http.ResponseWriter) bool {
	hj, ok := w.(http.Hijacker)
	if !ok {
		return false
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return false
	}
	_ = conn.Close()
	return true
}
