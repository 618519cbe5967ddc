package dosim_test

import (
	"context"
	"errors"
	"net/http"
	"sort"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/simdb"
	"github.com/agiledeploy/dbaaskit/providers/digitalocean/dosim"
)

// recordingBackend records the hook's calls; real databases are attached
// in the adapter's tests (providers/digitalocean).
type recordingBackend struct {
	mu       sync.Mutex
	attached map[string]dbaas.Engine
	detached []string
	fail     bool
}

func (b *recordingBackend) Attach(_ context.Context, key string, engine dbaas.Engine, _ string) (*simdb.Database, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.fail {
		return nil, errors.New("no capacity")
	}
	b.attached[key] = engine
	return &simdb.Database{Endpoint: dbaas.Endpoint{Host: "127.0.0.1", Port: 15432}, User: "u_" + key[:4],
		Password: dbaas.NewSecret("pw"), Database: "db_" + key[:4], CACertPEM: []byte("-----BEGIN CERTIFICATE-----\n")}, nil
}

func (b *recordingBackend) Detach(_ context.Context, key string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.attached, key)
	b.detached = append(b.detached, key)
	return nil
}

func TestBackendHook(t *testing.T) {
	backend := &recordingBackend{attached: map[string]dbaas.Engine{}}
	sim, client := start(t, dosim.Options{Backend: backend}, "tok")
	ctx := context.Background()

	a, _, err := client.Databases.Create(ctx, createReq("attached-a"))
	require.NoError(t, err)
	mysql := createReq("attached-b")
	mysql.EngineSlug, mysql.Version = "mysql", "8"
	b, _, err := client.Databases.Create(ctx, mysql)
	require.NoError(t, err)
	assert.Equal(t, map[string]dbaas.Engine{a.ID: dbaas.Postgres, b.ID: dbaas.MySQL}, backend.attached)
	assert.Equal(t, "127.0.0.1", a.Connection.Host)
	assert.Equal(t, 15432, a.Connection.Port)
	assert.Equal(t, "u_"+a.ID[:4], a.Connection.User)
	assert.Equal(t, "pw", a.Connection.Password)
	assert.Equal(t, "db_"+a.ID[:4], a.Connection.Database)
	assert.True(t, a.Connection.SSL, "the backend's CA means TLS")
	ca, _, err := client.Databases.GetCA(ctx, a.ID)
	require.NoError(t, err)
	assert.Equal(t, "-----BEGIN CERTIFICATE-----\n", string(ca.Certificate))

	_, err = client.Databases.Delete(ctx, a.ID)
	require.NoError(t, err)
	assert.Equal(t, []string{a.ID}, backend.detached)

	backend.fail = true
	_, _, err = client.Databases.Create(ctx, createReq("attach-fails"))
	apiError(t, err, http.StatusInternalServerError)
	all, _, err := client.Databases.List(ctx, nil)
	require.NoError(t, err)
	require.Len(t, all, 1, "a cluster whose database could not be attached is not kept")

	require.NoError(t, sim.Close(), "Close may be called before the cleanup's Close")
	sort.Strings(backend.detached)
	want := []string{a.ID, b.ID}
	sort.Strings(want)
	assert.Equal(t, want, backend.detached, "Close detaches what is left")
	assert.Empty(t, backend.attached)
}
