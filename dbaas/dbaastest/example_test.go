package dbaastest_test

import (
	"context"
	"fmt"
	"time"

	"github.com/stretchr/testify/mock"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/dbaas/dbaastest"
)

// provision is the code under test: it makes sure the database exists and
// waits until it is usable.
func provision(ctx context.Context, p dbaas.Provider, spec dbaas.Spec) (*dbaas.Instance, error) {
	inst, _, err := dbaas.Ensure(ctx, p, spec)
	if err != nil {
		return nil, err
	}
	return dbaas.Wait(ctx, p, inst.ID, dbaas.WaitOptions{FirstDelay: time.Millisecond})
}

// printT reports mock expectation failures on standard output, standing
// in for the *testing.T of a real unit test.
type printT struct{}

func (printT) Logf(format string, args ...any)   { fmt.Printf(format+"\n", args...) }
func (printT) Errorf(format string, args ...any) { fmt.Printf(format+"\n", args...) }
func (printT) FailNow()                          { panic("test failed") }

// A unit test of provision mocks the provider: no instance of that name
// yet, a create, one poll while provisioning, one once available.
func Example() {
	m := new(dbaastest.MockProvider)
	spec := dbaas.Spec{Name: "shop", Engine: dbaas.Postgres, Size: "small"}

	m.On("List", mock.Anything).Return(nil, nil).Once()
	m.On("Create", mock.Anything, spec).
		Return(&dbaas.Instance{ID: "db-1", Name: "shop", Engine: dbaas.Postgres, Status: dbaas.StatusProvisioning}, nil).Once()
	m.On("Capabilities").Return(dbaas.Capabilities{})
	m.On("Get", mock.Anything, "db-1").
		Return(&dbaas.Instance{ID: "db-1", Status: dbaas.StatusProvisioning}, nil).Once()
	m.On("Get", mock.Anything, "db-1").
		Return(&dbaas.Instance{ID: "db-1", Status: dbaas.StatusAvailable, Endpoint: dbaas.Endpoint{Host: "db.example.com", Port: 5432}}, nil).Once()

	inst, err := provision(context.Background(), m, spec)
	fmt.Println(inst.ID, inst.Status, inst.Endpoint, err)
	fmt.Println("expectations met:", m.AssertExpectations(printT{}))
	// Output:
	// db-1 available db.example.com:5432 <nil>
	// expectations met: true
}
