package awssim

// restoredManaged reports whether a restored instance gets a managed
// master user secret. RDS makes none: the restored database keeps the
// source's master password, whoever knows it (ManageMasterUserPassword
// on a restore is for Oracle alone). A Backend, though, gives a restored
// instance a database with credentials of its own, which no client could
// know: the simulator then holds them in a managed secret, the one way
// a client can read them.
func (s *Server) restoredManaged() bool { return s.opts.Backend != nil }
