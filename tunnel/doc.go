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
// than fail. Half-closes are carried both ways, the number of open
// connections is bounded, and Close drains open connections up to a
// deadline and says how many it had to cut.
//
// Data coming from the relay costs more CPU per byte than in OpenSSH's
// ssh, and the cost is inside golang.org/x/crypto/ssh: it allocates a
// fresh buffer for every 32 KiB packet it reads and hands each packet
// through three goroutines. In a profile of a download the garbage
// collector (marking, sweeping and the sweeper's yields) takes about 45%
// of the tunnel's CPU, system calls about 20%, goroutine hand-offs about
// 15% and decryption under 10%. Only process-wide settings
// change that, and a library must leave those to the program: a program
// that moves bulk data through a tunnel may call debug.SetGCPercent(400)
// (or run with GOGC=400), which in bench/tunnel cut the CPU per byte of a
// download to about 0.7× and brought download throughput to about that of
// OpenSSH.
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
