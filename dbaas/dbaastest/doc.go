// Package dbaastest is the test kit for dbaas providers and their users:
// RunConformance, the suite every provider must pass, and MockProvider, a
// testify mock of dbaas.Provider for users' unit tests.
//
// A provider proves itself with one test that hands the suite a Harness:
//
//	func TestConformance(t *testing.T) {
//		p := memory.New(memory.Options{ProvisionDelay: 50 * time.Millisecond})
//		dbaastest.RunConformance(t, dbaastest.Harness{
//			Provider: p,
//			Spec: func(name string, engine dbaas.Engine) dbaas.Spec {
//				return dbaas.Spec{Name: name, Engine: engine, Size: "small"}
//			},
//			Calls: p.Calls,
//			Wait:  dbaas.WaitOptions{FirstDelay: 5 * time.Millisecond},
//		})
//	}
//
// A user's unit test mocks the provider instead:
//
//	m := new(dbaastest.MockProvider)
//	m.On("Get", mock.Anything, "db-1").Return(&dbaas.Instance{ID: "db-1", Status: dbaas.StatusAvailable}, nil)
//	defer m.AssertExpectations(t)
//
// The package imports only dbaas and testify, so programs outside this
// module can use both.
package dbaastest
