package awssim

// describesSnapshotsOfLocked reports whether DescribeDBSnapshots with
// DBInstanceIdentifier id lists anything: RDS documents that the
// identifier must be one of an existing DB instance, so the snapshots of
// a deleted instance (its final snapshot among them) are found only by
// listing snapshots without it and reading DBInstanceIdentifier in the
// answer.
func (s *Server) describesSnapshotsOfLocked(id string) bool {
	_, ok := s.instances[id]
	return ok
}
