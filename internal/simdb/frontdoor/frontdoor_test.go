package frontdoor_test

import (
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/simdb"
	"github.com/agiledeploy/dbaaskit/internal/simdb/frontdoor"
)

func TestCheck(t *testing.T) {
	require.NoError(t, frontdoor.Check(), "these tests bind 127.0.0.2 and beyond, as Linux allows")
}

func TestAttachServesEachDatabaseOnAnAddressOfItsOwn(t *testing.T) {
	f := newFake(t)
	port := freePort(t)
	fd := newDoor(t, f, port)
	ctx := context.Background()

	a, err := fd.Attach(ctx, "a", dbaas.Postgres, "16")
	require.NoError(t, err)
	b, err := fd.Attach(ctx, "b", dbaas.MySQL, "8")
	require.NoError(t, err)

	assert.Equal(t, port, a.Endpoint.Port)
	assert.Equal(t, port, b.Endpoint.Port)
	assert.NotEqual(t, a.Endpoint.Host, b.Endpoint.Host)
	for _, e := range []dbaas.Endpoint{a.Endpoint, b.Endpoint} {
		ip := net.ParseIP(e.Host)
		require.NotNil(t, ip, e.Host)
		assert.True(t, ip.IsLoopback(), e.Host)
		assert.NotEqual(t, "127.0.0.1", e.Host, "the servers' own address is left to them")
		assert.Equal(t, "HELLO "+e.Host, roundTrip(t, e, "hello "+e.Host), "the relay reaches the server")
	}
	assert.Equal(t, "admin", a.User, "all but the endpoint is the inner backend's")
	assert.Equal(t, "defaultdb", a.Database)
	assert.Equal(t, []string{"attach a", "attach b"}, f.calls())

	again, err := fd.Attach(ctx, "a", dbaas.Postgres, "16")
	require.NoError(t, err)
	assert.Equal(t, a.Endpoint, again.Endpoint, "an instance attached again keeps its address")
}

func TestAttachSkipsAnAddressWhosePortIsTaken(t *testing.T) {
	squatter, err := net.Listen("tcp", "127.0.0.2:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = squatter.Close() })
	port := squatter.Addr().(*net.TCPAddr).Port
	fd := newDoor(t, newFake(t), port)

	db, err := fd.Attach(context.Background(), "a", dbaas.Postgres, "")
	require.NoError(t, err)
	assert.Equal(t, dbaas.Endpoint{Host: "127.0.0.3", Port: port}, db.Endpoint)
	assert.Equal(t, "OK", roundTrip(t, db.Endpoint, "ok"))
}

func TestAttachLeavesTheInnerEndpoint(t *testing.T) {
	tests := []struct {
		name    string
		port    func(dbaas.Engine) int
		account simdb.Account
		want    func(inner dbaas.Endpoint) dbaas.Endpoint
	}{
		{name: "a port the caller chose (RDS)", port: func(dbaas.Engine) int { return 25060 }, account: simdb.Account{Port: 15432},
			want: func(e dbaas.Endpoint) dbaas.Endpoint { return dbaas.Endpoint{Host: e.Host, Port: 15432} }},
		{name: "an engine without a fixed port", port: func(e dbaas.Engine) int {
			if e == dbaas.MySQL {
				return 25060
			}
			return 0
		}, want: func(e dbaas.Endpoint) dbaas.Endpoint { return e }},
		{name: "no port function", want: func(e dbaas.Endpoint) dbaas.Endpoint { return e }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, inner := fullFake(t)
			fd := frontdoor.New(inner, tt.port)
			t.Cleanup(func() { assert.NoError(t, fd.Close()) })
			db, err := simdb.Attach(context.Background(), fd, "a", dbaas.Postgres, "16", tt.account)
			require.NoError(t, err)
			assert.Equal(t, tt.want(f.echo.endpoint()), db.Endpoint)
			require.NoError(t, fd.Detach(context.Background(), "a"))
			assert.Equal(t, []string{"attach account a", "detach a"}, f.calls())
		})
	}
}

func TestDetachClosesTheRelayAndItsConnections(t *testing.T) {
	f := newFake(t)
	fd := newDoor(t, f, freePort(t))
	ctx := context.Background()
	a, err := fd.Attach(ctx, "a", dbaas.Postgres, "")
	require.NoError(t, err)
	b, err := fd.Attach(ctx, "b", dbaas.Postgres, "")
	require.NoError(t, err)

	// A client holding a connection open: the echo server answers only
	// once it stops sending.
	open, err := net.Dial("tcp", a.Endpoint.Address())
	require.NoError(t, err)
	t.Cleanup(func() { _ = open.Close() })
	_, err = open.Write([]byte("pending"))
	require.NoError(t, err)

	require.NoError(t, fd.Detach(ctx, "a"))
	assert.Equal(t, []string{"attach a", "attach b", "detach a"}, f.calls())
	require.NoError(t, open.SetReadDeadline(time.Now().Add(5*time.Second)))
	_, err = io.ReadAll(open)
	var ne net.Error
	assert.False(t, errors.As(err, &ne) && ne.Timeout(),
		"the relay closed the open connection: the client reads its end (or a reset, when the relay had not read all it sent), not a timeout: %v", err)
	assert.True(t, refused(a.Endpoint), "nothing listens on %s after Detach", a.Endpoint)
	assert.Equal(t, "STILL", roundTrip(t, b.Endpoint, "still"), "the other database is still served")

	require.NoError(t, fd.Detach(ctx, "a"), "a second Detach is the inner backend's business")
}

func TestCloseClosesEveryRelay(t *testing.T) {
	f := newFake(t)
	port := freePort(t)
	fd := frontdoor.New(f, func(dbaas.Engine) int { return port })
	ctx := context.Background()
	var eps []dbaas.Endpoint
	for _, key := range []string{"a", "b"} {
		db, err := fd.Attach(ctx, key, dbaas.Postgres, "")
		require.NoError(t, err)
		eps = append(eps, db.Endpoint)
	}
	require.NoError(t, fd.Close())
	for _, e := range eps {
		assert.True(t, refused(e), "nothing listens on %s after Close", e)
	}
	assert.NoError(t, fd.Close(), "closing again does nothing")

	_, err := fd.Attach(ctx, "c", dbaas.Postgres, "")
	require.ErrorIs(t, err, net.ErrClosed)
	assert.Equal(t, []string{"attach a", "attach b", "attach c", "detach c"}, f.calls(),
		"Close detaches nothing; an attach after it is undone")
}

// TestNewKeepsTheOptionalInterfacesOfTheInnerBackend: the simulators
// change what they do on finding a Snapshotter, an AccountAttacher or an
// Admin, so the wrapper is one exactly when the backend it wraps is.
func TestNewKeepsTheOptionalInterfacesOfTheInnerBackend(t *testing.T) {
	f := newFake(t)
	s, a, m := fakeSnap{f}, fakeAccount{f}, fakeAdmin{f}
	tests := []struct {
		name  string
		inner simdb.Backend
	}{
		{"none", f},
		{"snapshotter", struct {
			*fake
			fakeSnap
		}{f, s}},
		{"account attacher", struct {
			*fake
			fakeAccount
		}{f, a}},
		{"admin", struct {
			*fake
			fakeAdmin
		}{f, m}},
		{"snapshotter and account attacher", struct {
			*fake
			fakeSnap
			fakeAccount
		}{f, s, a}},
		{"snapshotter and admin", struct {
			*fake
			fakeSnap
			fakeAdmin
		}{f, s, m}},
		{"account attacher and admin", struct {
			*fake
			fakeAccount
			fakeAdmin
		}{f, a, m}},
		{"all", struct {
			*fake
			fakeSnap
			fakeAccount
			fakeAdmin
		}{f, s, a, m}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fd := frontdoor.New(tt.inner, nil)
			t.Cleanup(func() { assert.NoError(t, fd.Close()) })
			_, wantS := tt.inner.(simdb.Snapshotter)
			_, wantA := tt.inner.(simdb.AccountAttacher)
			_, wantM := tt.inner.(simdb.Admin)
			_, gotS := fd.(simdb.Snapshotter)
			_, gotA := fd.(simdb.AccountAttacher)
			_, gotM := fd.(simdb.Admin)
			assert.Equal(t, wantS, gotS, "Snapshotter")
			assert.Equal(t, wantA, gotA, "AccountAttacher")
			assert.Equal(t, wantM, gotM, "Admin")
		})
	}
}

func TestSnapshotsAndAdminAreTheInnerBackends(t *testing.T) {
	f, inner := fullFake(t)
	fd := newDoor(t, inner, freePort(t))
	ctx := context.Background()
	snap := fd.(simdb.Snapshotter)

	require.NoError(t, snap.Snapshot(ctx, "a", "s1"))
	restored, err := snap.Restore(ctx, "s1", "b", dbaas.Postgres, "16")
	require.NoError(t, err)
	assert.NotEqual(t, f.echo.endpoint(), restored.Endpoint, "a restored database is served as an attached one")
	assert.Equal(t, "RESTORED", roundTrip(t, restored.Endpoint, "restored"))
	require.NoError(t, snap.DropSnapshot(ctx, "s1"))
	conn, err := fd.(simdb.Admin).AdminConnection("b", dbaas.Postgres)
	require.NoError(t, err)
	assert.Equal(t, f.echo.endpoint(), conn.Endpoint, "the admin connection goes to the server directly")
	require.NoError(t, fd.Detach(ctx, "b"))
	assert.True(t, refused(restored.Endpoint))

	assert.Equal(t, []string{"snapshot a s1", "restore s1 b", "drop s1", "admin b", "detach b"}, f.calls())
}

func TestRelayPassesHalfCloseAndStopsOnClose(t *testing.T) {
	echo := newEchoServer(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	r := frontdoor.NewRelay(l, echo.endpoint().Address())
	a := r.Addr().(*net.TCPAddr)
	e := dbaas.Endpoint{Host: a.IP.String(), Port: a.Port}

	// The echo server answers only after reading to the end: the
	// client's half-close must reach it, and the answer come back.
	for i := range 3 {
		assert.Equal(t, "PING "+strconv.Itoa(i), roundTrip(t, e, "ping "+strconv.Itoa(i)))
	}
	require.NoError(t, r.Close())
	assert.True(t, refused(e))
	assert.NoError(t, r.Close(), "closing again does nothing")
}

func TestRelayToNothingClosesTheClient(t *testing.T) {
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	target := dead.Addr().String()
	require.NoError(t, dead.Close())
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	r := frontdoor.NewRelay(l, target)
	t.Cleanup(func() { assert.NoError(t, r.Close()) })

	c, err := net.Dial("tcp", r.Addr().String())
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.SetReadDeadline(time.Now().Add(5*time.Second)))
	n, err := c.Read(make([]byte, 1))
	assert.Zero(t, n)
	assert.Error(t, err, "the client's connection ends when the target refuses")
}
