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
// before anyone can write, so restoring one gives an empty database. A
// point-in-time restore with UseLatestRestorableTime copies the data as
// it is (the window ends now); one to an earlier RestoreTime gets an
// empty database, as the simulator keeps no log of writes to replay.
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
	return &copyJob{id: inst.ID, key: sn.dataKey, sn: sn, busy: s.busyLocked(inst.ID)}
}

// busyLocked counts one more copy of instance id's data in progress.
func (s *Server) busyLocked(id string) *sync.WaitGroup {
	if s.dataBusy == nil {
		s.dataBusy = map[string]*sync.WaitGroup{}
	}
	wg := s.dataBusy[id]
	if wg == nil {
		wg = &sync.WaitGroup{}
		s.dataBusy[id] = wg
	}
	wg.Add(1)
	return wg
}

// attachLatest attaches the database of inst, restored to the latest
// restorable time of src: that is now, in the simulator, so a copy of
// src's data as it is holds exactly what the cloud's restore would. The
// copy is made for this restore alone and dropped once attached.
func (s *Server) attachLatest(ctx context.Context, src string, inst *instance, busy *sync.WaitGroup) {
	snap := s.opts.Backend.(simdb.Snapshotter)
	key := "latest:" + inst.ID + ":" + randomHex(4)
	err := snap.Snapshot(ctx, src, key)
	busy.Done()
	if err != nil {
		// An unknown key makes the restore fail, and the instance with it.
		key = "failed:" + key
	}
	s.attachFrom(ctx, inst.ID, inst.Engine, inst.Version, key)
	if err == nil {
		_ = snap.DropSnapshot(context.WithoutCancel(ctx), key)
	}
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
