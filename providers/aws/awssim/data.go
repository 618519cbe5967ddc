package awssim

import (
	"context"
	"sync"
	"time"

	"github.com/agiledeploy/dbaaskit/internal/simdb"
)

// A copyJob is the copy of an instance's data into a snapshot, when the
// Backend is a simdb.Snapshotter. Manual and final snapshots copy the
// data as it is when RDS is asked for them; automated ones are taken
// before anyone can write, so restoring one gives an empty database, as
// a point-in-time restore does (the simulator keeps no log of writes to
// replay: its restore holds no data).
type copyJob struct {
	id, key string
	sn      *snapshot
	busy    *sync.WaitGroup
}

// reserveCopyLocked plans the copy of inst's data into sn, or returns nil
// when there is nothing to copy. The instance's Detach waits for it.
func (s *Server) reserveCopyLocked(inst *instance, sn *snapshot) *copyJob {
	if _, ok := s.opts.Backend.(simdb.Snapshotter); !ok || inst.db == nil {
		return nil
	}
	sn.dataKey = "snapshot:" + sn.ID + ":" + randomHex(4)
	sn.copying = true
	if s.dataBusy == nil {
		s.dataBusy = map[string]*sync.WaitGroup{}
	}
	wg := s.dataBusy[inst.ID]
	if wg == nil {
		wg = &sync.WaitGroup{}
		s.dataBusy[inst.ID] = wg
	}
	wg.Add(1)
	return &copyJob{id: inst.ID, key: sn.dataKey, sn: sn, busy: wg}
}

// copyData runs job, in the request that asked for the snapshot, so that
// what the client writes after the answer is not in it. A failed copy
// marks the snapshot failed, as RDS does when a snapshot cannot be made.
func (s *Server) copyData(ctx context.Context, job *copyJob) {
	if job == nil {
		return
	}
	defer job.busy.Done()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	err := s.opts.Backend.(simdb.Snapshotter).Snapshot(ctx, job.id, job.key)
	s.mu.Lock()
	defer s.mu.Unlock()
	job.sn.copying = false
	if err != nil {
		job.sn.failed, job.sn.dataKey = true, ""
	}
}

// waitData waits for the copies of instance id still running.
func (s *Server) waitData(id string) {
	s.mu.Lock()
	wg := s.dataBusy[id]
	s.mu.Unlock()
	if wg != nil {
		wg.Wait()
	}
}

// dropData drops the copy named key in the background.
func (s *Server) dropData(key string) {
	snap, ok := s.opts.Backend.(simdb.Snapshotter)
	if !ok || key == "" {
		return
	}
	s.bgWG.Add(1)
	go func() {
		defer s.bgWG.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = snap.DropSnapshot(ctx, key)
	}()
}
