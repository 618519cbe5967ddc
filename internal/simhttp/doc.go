// Package simhttp is the HTTP scaffolding the cloud simulators share:
// serving a handler on a free loopback port, stopping it without leaving
// a goroutine or a connection behind, and the wire faults (a held-back
// answer, a dropped connection) their fault injection is made of.
//
//	srv, err := simhttp.Start(handler)
//	if err != nil {
//		return err
//	}
//	defer srv.Close()
//	client := cloud.NewClient(srv.URL)
//
// Only 127.0.0.1 is ever listened on: a simulator is not for other hosts.
package simhttp
