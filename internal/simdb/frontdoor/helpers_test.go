package frontdoor_test

import (
	"context"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/simdb"
	"github.com/agiledeploy/dbaaskit/internal/simdb/frontdoor"
)

// echoServer answers each connection with what it reads, upper-cased,
// and closes its side once the client has closed its own.
type echoServer struct {
	l  net.Listener
	wg sync.WaitGroup
}

func newEchoServer(t *testing.T) *echoServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := &echoServer{l: l}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer c.Close()
				b, _ := io.ReadAll(c)
				_, _ = c.Write([]byte(strings.ToUpper(string(b))))
			}()
		}
	}()
	t.Cleanup(func() {
		_ = l.Close()
		s.wg.Wait()
	})
	return s
}

func (s *echoServer) endpoint() dbaas.Endpoint {
	a := s.l.Addr().(*net.TCPAddr)
	return dbaas.Endpoint{Host: a.IP.String(), Port: a.Port}
}

// fake is a backend whose every database is an echo server, recording
// the calls it gets.
type fake struct {
	echo *echoServer
	mu   sync.Mutex
	log  []string
}

func newFake(t *testing.T) *fake { return &fake{echo: newEchoServer(t)} }

func (f *fake) record(call string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log = append(f.log, call)
}

func (f *fake) calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.log...)
}

func (f *fake) db() *simdb.Database {
	return &simdb.Database{Endpoint: f.echo.endpoint(), User: "admin", Password: dbaas.NewSecret("pw"), Database: "defaultdb"}
}

func (f *fake) Attach(_ context.Context, key string, _ dbaas.Engine, _ string) (*simdb.Database, error) {
	f.record("attach " + key)
	return f.db(), nil
}

func (f *fake) Detach(_ context.Context, key string) error {
	f.record("detach " + key)
	return nil
}

// fakeSnap, fakeAccount and fakeAdmin give a fake one optional interface
// each.
type (
	fakeSnap    struct{ f *fake }
	fakeAccount struct{ f *fake }
	fakeAdmin   struct{ f *fake }
)

func (s fakeSnap) Snapshot(_ context.Context, key, snapshotKey string) error {
	s.f.record("snapshot " + key + " " + snapshotKey)
	return nil
}

func (s fakeSnap) Restore(_ context.Context, snapshotKey, newKey string, _ dbaas.Engine, _ string) (*simdb.Database, error) {
	s.f.record("restore " + snapshotKey + " " + newKey)
	return s.f.db(), nil
}

func (s fakeSnap) DropSnapshot(_ context.Context, snapshotKey string) error {
	s.f.record("drop " + snapshotKey)
	return nil
}

func (a fakeAccount) AttachAccount(_ context.Context, key string, _ dbaas.Engine, _ string, account simdb.Account) (*simdb.Database, error) {
	a.f.record("attach account " + key)
	db := a.f.db()
	if account.Port != 0 {
		db.Endpoint.Port = account.Port
	}
	return db, nil
}

func (m fakeAdmin) AdminConnection(key string, engine dbaas.Engine) (*dbaas.ConnectionInfo, error) {
	m.f.record("admin " + key)
	return &dbaas.ConnectionInfo{Engine: engine, Endpoint: m.f.echo.endpoint(), User: "admin"}, nil
}

// fullFake is a fake with every optional interface.
func fullFake(t *testing.T) (*fake, simdb.Backend) {
	t.Helper()
	f := newFake(t)
	return f, struct {
		*fake
		fakeSnap
		fakeAccount
		fakeAdmin
	}{f, fakeSnap{f}, fakeAccount{f}, fakeAdmin{f}}
}

// newDoor wraps inner with a fixed port for every engine, closed at the
// end.
func newDoor(t *testing.T, inner simdb.Backend, port int) frontdoor.Backend {
	t.Helper()
	fd := frontdoor.New(inner, func(dbaas.Engine) int { return port })
	t.Cleanup(func() { assert.NoError(t, fd.Close()) })
	return fd
}

// freePort is a port nothing listens on now, on 127.0.0.2.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.2:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	return port
}

// roundTrip sends msg to e, closes the sending side and returns the
// answer.
func roundTrip(t *testing.T, e dbaas.Endpoint, msg string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", e.Address(), 5*time.Second)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
	_, err = c.Write([]byte(msg))
	require.NoError(t, err)
	require.NoError(t, c.(*net.TCPConn).CloseWrite())
	b, err := io.ReadAll(c)
	require.NoError(t, err)
	return string(b)
}

// refused reports whether a connection to e is refused: nothing
// listens there.
func refused(e dbaas.Endpoint) bool {
	c, err := net.DialTimeout("tcp", e.Address(), 2*time.Second)
	if err != nil {
		return true
	}
	_ = c.Close()
	return false
}
