package exoscalesim

import (
	"context"
	"time"

	"github.com/agiledeploy/dbaaskit/internal/simdb"
)

// The simulator has no scheduler: the automatic backups whose time has
// come are taken by the first request that reads the service (a get, or
// a fork from it). With a Backend that is a simdb.Snapshotter each backup
// holds a copy of the data, taken then, and the backup is listed only
// once its copy exists: it holds what was written before anyone saw it
// listed. Backups past retention are dropped with their copies.

// takeBackups records the backups of service name that are due at now.
func (s *Server) takeBackups(ctx context.Context, name string, now time.Time) {
	s.mu.Lock()
	svc, ok := s.services[name]
	if !ok || svc.status(now) != "running" {
		s.mu.Unlock()
		return
	}
	next := svc.readyAt
	if n := len(svc.backups); n > 0 {
		next = svc.backups[n-1].at.Add(s.opts.BackupInterval)
	}
	var due []backup
	for ; !next.After(now); next = next.Add(s.opts.BackupInterval) {
		// Backup times have whole seconds, as the API gives them.
		at := next.Truncate(time.Second)
		due = append(due, backup{name: backupName(svc.Type, at), at: at, size: 16 << 20})
	}
	var expired []string
	keep := svc.backups[:0]
	for _, b := range svc.backups {
		if now.Sub(b.at) > s.opts.BackupRetention {
			expired = append(expired, s.snapshots[name][b.name])
			delete(s.snapshots[name], b.name)
			continue
		}
		keep = append(keep, b)
	}
	svc.backups = keep
	snap, copying := s.opts.Backend.(simdb.Snapshotter)
	copying = copying && svc.attached
	if !copying {
		for _, b := range due {
			if now.Sub(b.at) <= s.opts.BackupRetention {
				svc.backups = append(svc.backups, b)
			}
		}
		s.mu.Unlock()
		return
	}
	if s.snapshots[name] == nil {
		s.snapshots[name] = map[string]string{}
	}
	// Only the newest due backup gets a copy: the older ones of a long
	// jump in time would hold the same data.
	var todo []backup
	for i, b := range due {
		if _, taken := s.snapshots[name][b.name]; taken || i < len(due)-1 {
			continue
		}
		s.snapshots[name][b.name] = "" // being copied
		todo = append(todo, b)
	}
	s.mu.Unlock()

	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	for _, k := range expired {
		if k != "" {
			_ = snap.DropSnapshot(cctx, k)
		}
	}
	for _, b := range todo {
		key := name + "@" + b.name + "-" + randomHex(4)
		err := snap.Snapshot(cctx, name, key)
		s.mu.Lock()
		m, alive := s.snapshots[name]
		svc, still := s.services[name]
		switch {
		case !alive || !still:
			if err == nil {
				_ = snap.DropSnapshot(cctx, key)
			}
		case err != nil:
			delete(m, b.name) // the next request tries again
		default:
			m[b.name] = key
			svc.backups = append(svc.backups, b)
		}
		s.mu.Unlock()
	}
}

// snapshotNow copies the data of service name into snapshot key, for a
// fork without a recovery time.
func (s *Server) snapshotNow(ctx context.Context, name, key string) error {
	snap := s.opts.Backend.(simdb.Snapshotter)
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	if err := snap.Snapshot(cctx, name, key); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.snapshots[name] == nil {
		s.snapshots[name] = map[string]string{}
	}
	// Kept under a name no backup has, so that it goes with the service.
	s.snapshots[name]["fork:"+key] = key
	return nil
}

// backupName is the backup's internal name, in the form the API shows.
func backupName(typ string, at time.Time) string {
	if typ == "pg" {
		return at.UTC().Format("2006-01-02_15-04") + "_0.00000000.pghoard"
	}
	return "mysql-backup-" + at.UTC().Format("20060102-150405")
}
