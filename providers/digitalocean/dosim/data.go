package dosim

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"time"

	"github.com/agiledeploy/dbaaskit/internal/simdb"
)

// With a Backend that is a simdb.Snapshotter, every automatic backup
// holds a copy of the cluster's data. The simulator has no scheduler: a
// backup's copy is taken by the first request that finds its time has
// come (listing the backups, or restoring from the cluster), and the
// backup is listed only once its copy exists. So a backup holds what was
// written before anyone saw it listed, and nothing written after; writes
// between its scheduled time and that first request are in it too, where
// the cloud would have left them out. Copies go when the backup leaves
// the retention window, or with the cluster.

func (s *Server) snapshotter() (simdb.Snapshotter, bool) {
	snap, ok := s.opts.Backend.(simdb.Snapshotter)
	return snap, ok
}

// copyBackups takes the data copies of cluster id's backups that are due
// and drops those of backups past retention.
func (s *Server) copyBackups(id string, now time.Time) {
	snap, ok := s.snapshotter()
	if !ok {
		return
	}
	s.mu.Lock()
	c, ok := s.clusters[id]
	if !ok || !c.attached {
		s.mu.Unlock()
		return
	}
	m := s.copies[id]
	if m == nil {
		m = map[time.Time]string{}
		s.copies[id] = m
	}
	due := map[time.Time]bool{}
	var todo []time.Time
	for _, b := range c.backups(now, s.opts.BackupInterval, s.opts.BackupRetention) {
		due[b.CreatedAt] = true
		if _, ok := m[b.CreatedAt]; !ok {
			m[b.CreatedAt] = "" // being copied
			todo = append(todo, b.CreatedAt)
		}
	}
	var expired []string
	for t, k := range m {
		if !due[t] && k != "" {
			expired = append(expired, k)
			delete(m, t)
		}
	}
	s.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, t := range todo {
		key := id + "@" + t.Format(time.RFC3339) + ":" + randomKey()
		err := snap.Snapshot(ctx, id, key)
		s.mu.Lock()
		m, alive := s.copies[id]
		switch {
		case !alive && err == nil:
			// The cluster went meanwhile: its backups with it.
			expired = append(expired, key)
		case !alive:
		case err != nil:
			delete(m, t) // the next request tries again
		default:
			m[t] = key
		}
		s.mu.Unlock()
	}
	for _, k := range expired {
		_ = snap.DropSnapshot(ctx, k)
	}
}

// copiedLocked keeps the backups whose data copy exists, when copies are
// taken at all.
func (s *Server) copiedLocked(id string, backups []backupJSON) []backupJSON {
	if _, ok := s.snapshotter(); !ok {
		return backups
	}
	out := backups[:0]
	for _, b := range backups {
		if s.copies[id][b.CreatedAt] != "" {
			out = append(out, b)
		}
	}
	return out
}

// restoreKeyLocked returns the copy a backup_restore of source restores,
// and whether one is needed and missing.
func (s *Server) restoreKeyLocked(source *cluster, createdAt string, now time.Time) (key string, missing bool) {
	if _, ok := s.snapshotter(); !ok || !source.attached {
		return "", false
	}
	var at time.Time
	if createdAt != "" {
		at, _ = time.Parse(time.RFC3339, createdAt)
	} else if bs := source.backups(now, s.opts.BackupInterval, s.opts.BackupRetention); len(bs) > 0 {
		at = bs[len(bs)-1].CreatedAt
	}
	key = s.copies[source.ID][at]
	return key, key == ""
}

// dropCopies drops every data copy of cluster id.
func (s *Server) dropCopies(ctx context.Context, id string) error {
	s.mu.Lock()
	m := s.copies[id]
	delete(s.copies, id)
	s.mu.Unlock()
	snap, ok := s.snapshotter()
	if !ok {
		return nil
	}
	var errs []error
	for _, k := range m {
		if k != "" {
			errs = append(errs, snap.DropSnapshot(ctx, k))
		}
	}
	return errors.Join(errs...)
}

// attachFor attaches the database of a new cluster: a copy of the backup
// named key, or an empty one.
func (s *Server) attachFor(ctx context.Context, c *cluster, key string) (*simdb.Database, error) {
	if snap, ok := s.snapshotter(); ok && key != "" {
		return snap.Restore(ctx, key, c.ID, engineOf(c.Engine), c.Version)
	}
	// DigitalOcean's clusters come with the database defaultdb. Their
	// admin, doadmin, is a name local servers refuse to users, so the
	// backend's own admin stands in.
	account := simdb.Account{Database: c.Database}
	return simdb.Attach(ctx, s.opts.Backend, c.ID, engineOf(c.Engine), c.Version, account)
}

func randomKey() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
