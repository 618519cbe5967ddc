// Package tunnel reaches a database through an SSH relay, as
// "ssh -N -L PORT:DBHOST:PORT relay" does, and puts such a tunnel in front
// of any dbaas.Provider (see Provider).
//
// One SSH connection per relay carries every forwarded connection. Host
// keys are checked against known_hosts (hashed and "[host]:port" entries
// included) for the relay and every jump host; only a field named
// InsecureIgnoreHostKey turns that off. Keepalives (keepalive@openssh.com)
// notice a dead relay; the tunnel then reconnects with capped backoff or
// fails over to another relay, and new connections wait for it rather
// than fail. A relay that keeps failing (dials, connections that drop
// soon after they are made, forwards it refuses) is held: new connections
// skip it for a while as long as another relay is up. When none is up, a
// new connection waits up to DialTimeout and is then closed, and the
// error names every relay and why it is not taking connections.
// Half-closes are carried both ways, the number of open connections is
// bounded, and Close drains open connections up to a deadline and says
// how many it had to cut. SetRelays replaces the relay list (a reload)
// without dropping a connection; Stats gives the counters, which
// tunnel/tunnelprom exports to Prometheus.
//
// Data coming from the relay costs more CPU per byte than in OpenSSH's
// ssh, and most of the difference is inside golang.org/x/crypto/ssh: it
// copies every 32 KiB packet it reads into a freshly allocated buffer and
// hands it through three goroutines (reader, demultiplexer, forwarder).
// The package reads the SSH connection 256 KiB at a time and forwards the
// packets queued on a channel in one write; the rest is governed by
// process-wide runtime settings, which a library must leave to the
// program. TuneProcess applies the setting that suits a process doing
// nothing but forwarding, as "ssh -N" does; the dbaas CLI's tunnel command
// calls it. bench/tunnel measures the package both ways against OpenSSH.
//
//	t, err := tunnel.Open(ctx, tunnel.Config{
//		Relays:     []tunnel.Relay{{Hop: tunnel.Hop{Host: "relay.example.com", User: "deploy"}}},
//		Remote:     dbaas.Endpoint{Host: "10.0.0.5", Port: 5432},
//		Auth:       tunnel.Auth{KeyFiles: []string{"/home/deploy/.ssh/id_ed25519"}},
//	})
//	if err != nil {
//		return err
//	}
//	defer t.Close()
//	db, err := pgx.Connect(ctx, "postgres://app@"+t.Addr().String()+"/app")
package tunnel
