//go:build !unix

package cli

// monotonicUsec is 0 where there is no systemd to tell.
func monotonicUsec() int64 { return 0 }
