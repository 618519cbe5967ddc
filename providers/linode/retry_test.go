package linode_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/fakeclock"
	"github.com/agiledeploy/dbaaskit/providers/linode"
	"github.com/agiledeploy/dbaaskit/providers/linode/linodesim"
)

// TestIdempotentRequestsSurviveOneServerError: a single 500, 502 or 503
// on a GET, PUT or DELETE is sent again and the operation succeeds, as a
// lost answer to a DELETE does.
func TestIdempotentRequestsSurviveOneServerError(t *testing.T) {
	ops := []struct {
		name   string
		method string
		call   func(ctx context.Context, p *linode.Provider, id string) error
	}{
		{"get", http.MethodGet, func(ctx context.Context, p *linode.Provider, id string) error {
			_, err := p.Get(ctx, id)
			return err
		}},
		{"allow", http.MethodPut, func(ctx context.Context, p *linode.Provider, id string) error {
			return p.Allow(ctx, id, dbaas.CIDR("192.0.2.0/24"))
		}},
		{"delete", http.MethodDelete, func(ctx context.Context, p *linode.Provider, id string) error {
			return p.Delete(ctx, id, dbaas.DeleteOptions{SkipFinalBackup: true})
		}},
	}
	faults := []struct {
		name  string
		fault linodesim.Fault
	}{
		{"500", linodesim.Fault{Status: http.StatusInternalServerError}},
		{"502", linodesim.Fault{Status: http.StatusBadGateway}},
		{"503", linodesim.Fault{Status: http.StatusServiceUnavailable}},
		{"answer lost", linodesim.Fault{Drop: true, AfterHandling: true}},
	}
	for _, op := range ops {
		for _, f := range faults {
			t.Run(op.name+"/"+f.name, func(t *testing.T) {
				e := newEnv(t, fakeclock.NewAuto(epoch), linodesim.Options{}, nil)
				ctx := context.Background()
				inst, err := e.p.Create(ctx, spec("flaky", dbaas.Postgres))
				require.NoError(t, err)
				name := op.method + " " + pgPath + "/{id}"
				fault := f.fault
				fault.Op = name
				e.sim.Inject(fault)
				before := e.sim.Calls(name)

				require.NoError(t, op.call(ctx, e.p, inst.ID))
				assert.EqualValues(t, 1, e.sim.FaultHits(), "the fault was met")
				assert.Equal(t, before+2, e.sim.Calls(name), "sent once more")
			})
		}
	}
}

// TestRetriesPrintNothing: linodego announces each of its retries with
// log.Printf ("[INFO] Received error … - Retrying"), which lands on the
// caller's stderr; the provider's retries print nothing.
func TestRetriesPrintNothing(t *testing.T) {
	var buf bytes.Buffer
	prev := log.Writer()
	log.SetOutput(&buf)
	t.Cleanup(func() { log.SetOutput(prev) })

	e := newEnv(t, fakeclock.NewAuto(epoch), linodesim.Options{}, nil)
	ctx := context.Background()
	inst, err := e.p.Create(ctx, spec("quiet", dbaas.MySQL))
	require.NoError(t, err)
	for _, f := range []linodesim.Fault{
		{Status: http.StatusServiceUnavailable},
		{Status: http.StatusTooManyRequests, RetryAfter: 2 * time.Second},
	} {
		f.Op = "GET /v4/databases/mysql/instances/{id}"
		e.sim.Inject(f)
		_, err := e.p.Get(ctx, inst.ID)
		require.NoError(t, err, fmt.Sprint(f.Status))
	}
	assert.EqualValues(t, 2, e.sim.FaultHits())
	assert.Empty(t, buf.String(), "nothing reached the standard logger")
}
