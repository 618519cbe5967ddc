// Package frontdoor serves the databases a simdb.Backend attaches as a
// cloud serves its own: each on a host of its own and on the port the
// cloud fixes. A cloud such as DigitalOcean gives every cluster its own
// host name and the same port (25060), while the local servers behind
// the simulators each listen on a random port of 127.0.0.1; a client
// configured with the cloud's port could not reach them.
//
// New wraps a backend: every database it attaches is served through a
// TCP relay on 127.0.0.2, 127.0.0.3, … (Linux routes all of 127.0.0.0/8
// to the loopback interface, so these addresses need no setup), an
// address whose port is taken being skipped, and the database's endpoint
// is that address and the fixed port.
//
//	b := localdb.New(p)
//	defer b.Close(ctx)
//	fd := frontdoor.New(b, func(dbaas.Engine) int { return 25060 })
//	defer fd.Close()
//	sim, url, err := dosim.Start(dosim.Options{Backend: fd})
//
// Relay, the TCP relay itself, is usable on its own.
package frontdoor
