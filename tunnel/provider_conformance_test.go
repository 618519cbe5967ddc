package tunnel

import (
	"testing"
	"time"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/dbaas/dbaastest"
	"github.com/agiledeploy/dbaaskit/providers/memory"
	"github.com/stretchr/testify/require"
)

// The whole contract holds through the tunnel: tunnel.Provider over a
// provisioning provider passes the conformance suite, with Connection
// answering the local end of a tunnel per instance.
func TestProviderConformanceOverMemory(t *testing.T) {
	leakCheck(t)
	f := newFixture(t)
	inner := memory.New(memory.Options{ProvisionDelay: 20 * time.Millisecond})
	p, err := NewProvider(inner, f.config(dbaas.Endpoint{}), ProviderOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, p.Close()) })
	dbaastest.RunConformance(t, dbaastest.Harness{
		Provider: p,
		Spec: func(name string, engine dbaas.Engine) dbaas.Spec {
			return dbaas.Spec{Name: name, Engine: engine, Size: "small"}
		},
		Wait:         dbaas.WaitOptions{FirstDelay: 5 * time.Millisecond, MaxDelay: 50 * time.Millisecond, Timeout: 30 * time.Second},
		LocalForward: true,
	})
}
