package main

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/dbaas/dbaastest"
)

var (
	spec = dbaas.Spec{Name: "shop", Engine: dbaas.Postgres, Size: "small"}
	web  = []dbaas.Source{dbaas.MustParseSource("10.0.0.5"), dbaas.MustParseSource("10.0.0.6")}
	fast = dbaas.WaitOptions{FirstDelay: time.Millisecond, Timeout: time.Second}
)

func available(port int) *dbaas.Instance {
	return &dbaas.Instance{ID: "db-1", Name: "shop", Engine: dbaas.Postgres, Status: dbaas.StatusAvailable,
		Endpoint: dbaas.Endpoint{Host: "db.example.com", Port: port}}
}

// newMock returns a mock whose instance "shop" exists; Capabilities is
// asked by Wait.
func newMock(t *testing.T, existing *dbaas.Instance) *dbaastest.MockProvider {
	t.Helper()
	m := new(dbaastest.MockProvider)
	m.On("Capabilities").Return(dbaas.Capabilities{}).Maybe()
	m.On("List", mock.Anything).Return([]*dbaas.Instance{existing}, nil).Once()
	t.Cleanup(func() { m.AssertExpectations(t) })
	return m
}

func TestDeployLetsInExactlyTheWebServers(t *testing.T) {
	m := newMock(t, available(25060))
	m.On("Get", mock.Anything, "db-1").Return(available(25060), nil).Once()
	// One server is in already, one stranger must go.
	m.On("Access", mock.Anything, "db-1").Return([]dbaas.Source{web[0], dbaas.MustParseSource("192.0.2.9")}, nil).Once()
	m.On("Allow", mock.Anything, "db-1", []dbaas.Source{web[1]}).Return(nil).Once()
	m.On("Revoke", mock.Anything, "db-1", []dbaas.Source{dbaas.MustParseSource("192.0.2.9")}).Return(nil).Once()

	addr, err := Deploy(context.Background(), m, Deployment{Spec: spec, Port: 25060, WebServers: web, Wait: fast})
	require.NoError(t, err)
	assert.Equal(t, "db.example.com:25060", addr)
}

func TestDeployStopsOnAPortMismatchBeforeOpeningAccess(t *testing.T) {
	m := newMock(t, available(25060))
	m.On("Get", mock.Anything, "db-1").Return(available(25060), nil).Once()

	_, err := Deploy(context.Background(), m, Deployment{Spec: spec, Port: 5432, WebServers: web, Wait: fast})
	var mismatch *dbaas.PortMismatchError
	require.ErrorAs(t, err, &mismatch)
	assert.Equal(t, 25060, mismatch.Actual)
	m.AssertNotCalled(t, "Allow", mock.Anything, mock.Anything, mock.Anything)
}

func TestDeployRefusesAnotherEngine(t *testing.T) {
	mysql := available(3306)
	mysql.Engine = dbaas.MySQL
	m := newMock(t, mysql)

	_, err := Deploy(context.Background(), m, Deployment{Spec: spec, WebServers: web, Wait: fast})
	assert.ErrorIs(t, err, dbaas.ErrConflict)
	m.AssertNotCalled(t, "Create", mock.Anything, mock.Anything)
}

func TestDeployCreatesAndWaitsThroughProvisioning(t *testing.T) {
	m := new(dbaastest.MockProvider)
	t.Cleanup(func() { m.AssertExpectations(t) })
	m.On("Capabilities").Return(dbaas.Capabilities{}).Maybe()
	m.On("List", mock.Anything).Return(nil, nil).Once()
	provisioning := &dbaas.Instance{ID: "db-1", Name: "shop", Engine: dbaas.Postgres, Status: dbaas.StatusProvisioning}
	m.On("Create", mock.Anything, spec).Return(provisioning, nil).Once()
	m.On("Get", mock.Anything, "db-1").Return(provisioning, nil).Twice()
	m.On("Get", mock.Anything, "db-1").Return(available(5432), nil).Once()
	m.On("Access", mock.Anything, "db-1").Return(nil, nil).Once()
	m.On("Allow", mock.Anything, "db-1", web).Return(nil).Once()

	addr, err := Deploy(context.Background(), m, Deployment{Spec: spec, WebServers: web, Wait: fast})
	require.NoError(t, err)
	assert.Equal(t, "db.example.com:5432", addr)
}

func TestDeployReportsAFailedInstance(t *testing.T) {
	failed := available(5432)
	failed.Status, failed.RawStatus = dbaas.StatusFailed, "incompatible-parameters"
	m := newMock(t, failed)

	// Ensure refuses a failed instance at once: no wait on it.
	_, err := Deploy(context.Background(), m, Deployment{Spec: spec, WebServers: web, Wait: fast})
	assert.ErrorIs(t, err, dbaas.ErrConflict)
	assert.Contains(t, err.Error(), "incompatible-parameters")
}

func TestDeployTimesOut(t *testing.T) {
	provisioning := available(5432)
	provisioning.Status = dbaas.StatusProvisioning
	m := newMock(t, provisioning)
	m.On("Get", mock.Anything, "db-1").Return(provisioning, nil)

	_, err := Deploy(context.Background(), m, Deployment{Spec: spec, WebServers: web,
		Wait: dbaas.WaitOptions{FirstDelay: time.Millisecond, Timeout: 20 * time.Millisecond}})
	assert.ErrorIs(t, err, dbaas.ErrTimeout)
}

func TestMainRunsOnTheMemoryProvider(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), &out))
	assert.Regexp(t, `^database at \S+:\d+\n$`, out.String())
}
