package vultrsim

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"time"

	"github.com/agiledeploy/dbaaskit/internal/simdb"
)

// mark is a copy of a database's data at a time: a daily backup, or a
// point of the point-in-time window taken by a GET of /backups.
type mark struct {
	at  time.Time
	key string
}

func (s *Server) snapshotter() (simdb.Snapshotter, bool) {
	snap, ok := s.opts.Backend.(simdb.Snapshotter)
	return snap, ok
}

// takeMarks copies the data of database id for each daily backup that is
// due and has no copy yet, and, with window, for now; copies older than
// the oldest backup kept are dropped. It does nothing without a
// Snapshotter or a running, attached database.
func (s *Server) takeMarks(id string, now time.Time, window bool) {
	snap, ok := s.snapshotter()
	if !ok {
		return
	}
	s.copyMu.Lock()
	defer s.copyMu.Unlock()
	s.mu.Lock()
	d, ok := s.dbs[id]
	if !ok || !d.attached || now.Before(d.ReadyAt) {
		s.mu.Unlock()
		return
	}
	due := s.backupTimes(d, now)
	have := map[time.Time]bool{}
	for _, m := range s.marks[id] {
		have[m.at] = true
	}
	var todo []time.Time
	for _, t := range due {
		if !have[t] {
			todo = append(todo, t)
		}
	}
	if window && !have[now] && !contains2(todo, now) {
		todo = append(todo, now)
	}
	var expired []mark
	if len(due) > 0 {
		kept := s.marks[id][:0]
		for _, m := range s.marks[id] {
			if m.at.Before(due[0]) {
				expired = append(expired, m)
				continue
			}
			kept = append(kept, m)
		}
		s.marks[id] = kept
	}
	s.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, t := range todo {
		key := fmt.Sprintf("%s@%d-%s", id, t.UnixNano(), randString(6))
		if err := snap.Snapshot(ctx, id, key); err != nil {
			continue // the next request tries again
		}
		s.mu.Lock()
		if _, alive := s.dbs[id]; alive {
			ms := append(s.marks[id], mark{at: t, key: key})
			sort.Slice(ms, func(i, j int) bool { return ms[i].at.Before(ms[j].at) })
			s.marks[id] = ms
		} else {
			expired = append(expired, mark{at: t, key: key})
		}
		s.mu.Unlock()
	}
	_ = s.dropMarks(ctx, expired)
}

func contains2(list []time.Time, t time.Time) bool {
	for _, v := range list {
		if v.Equal(t) {
			return true
		}
	}
	return false
}

// markAtLocked returns the key of the newest copy of id taken at or
// before t.
func (s *Server) markAtLocked(id string, t time.Time) string {
	key := ""
	for _, m := range s.marks[id] {
		if !m.at.After(t) {
			key = m.key
		}
	}
	return key
}

// dropMarks drops data copies.
func (s *Server) dropMarks(ctx context.Context, ms []mark) error {
	snap, ok := s.snapshotter()
	if !ok {
		return nil
	}
	var errs []error
	for _, m := range ms {
		errs = append(errs, snap.DropSnapshot(ctx, m.key))
	}
	return errors.Join(errs...)
}

type backupPoint struct {
	Date string `json:"date,omitempty"`
	Time string `json:"time,omitempty"`
}

func point(t time.Time) backupPoint {
	return backupPoint{Date: t.UTC().Format(dateLayout), Time: t.UTC().Format(timeLayout)}
}

func (s *Server) handleBackups(w http.ResponseWriter, r *http.Request) {
	now := s.clock.Now()
	id := r.PathValue("id")
	s.mu.Lock()
	_, ok := s.lookup(w, r)
	s.mu.Unlock()
	if !ok {
		return
	}
	s.takeMarks(id, now, true)
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.lookup(w, r)
	if !ok {
		return
	}
	out := map[string]backupPoint{"latest_backup": {}, "oldest_backup": {}}
	if bs := s.backupTimes(d, now); len(bs) > 0 {
		out["latest_backup"], out["oldest_backup"] = point(bs[len(bs)-1]), point(bs[0])
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleRestore(w http.ResponseWriter, r *http.Request) { s.restoreFrom(w, r, false) }

func (s *Server) handleFork(w http.ResponseWriter, r *http.Request) { s.restoreFrom(w, r, true) }

// restoreFrom makes a new database from a backup of {id}: the latest
// (type basebackup, the default) or the database as it was at date and
// time (type pitr). A fork may choose the plan, region and VPC; a restore
// keeps the source's.
func (s *Server) restoreFrom(w http.ResponseWriter, r *http.Request, fork bool) {
	var req restoreRequest
	if !decode(w, r, &req) {
		return
	}
	now := s.clock.Now()
	s.mu.Lock()
	src, ok := s.lookup(w, r)
	if !ok {
		s.mu.Unlock()
		return
	}
	srcCopy := *src
	srcCopy.TrustedIPs = append([]string(nil), src.TrustedIPs...)
	times := s.backupTimes(src, now)
	s.mu.Unlock()

	unprocessable := func(msg string) { writeError(w, http.StatusUnprocessableEntity, msg) }
	switch {
	case req.Label == "":
		unprocessable("Missing required field: label.")
		return
	case fork && req.Plan == "":
		unprocessable("Missing required field: plan.")
		return
	case fork && req.Region == "":
		unprocessable("Missing required field: region.")
		return
	case srcCopy.status(now) == statusRebuilding:
		badRequest(w, "Managed database is not yet running.")
		return
	case len(times) == 0:
		unprocessable("No backups are available for this managed database yet.")
		return
	}
	var at time.Time
	switch req.Type {
	case "", "basebackup":
		at = times[len(times)-1]
	case "pitr":
		if req.Date == "" || req.Time == "" {
			unprocessable("Fields date and time are required for a pitr restore.")
			return
		}
		t, err := time.Parse(dateLayout+" "+timeLayout, req.Date+" "+req.Time)
		if err != nil {
			unprocessable("Invalid date or time: use YYYY-MM-DD and HH:MM:SS (UTC).")
			return
		}
		if t.Before(times[0]) || t.After(now) {
			unprocessable(fmt.Sprintf("Restore time %s %s is outside the backup window (%s to now).", req.Date, req.Time, times[0].Format(dateTimeLayout)))
			return
		}
		at = t
	default:
		unprocessable("Invalid type " + req.Type + ": use basebackup or pitr.")
		return
	}
	p, region, vpc := srcCopy.Plan, srcCopy.Region, srcCopy.VPC
	if fork {
		region = req.Region
		var msg string
		if p, msg = checkPlacement(req.Plan, region, srcCopy.Engine); msg != "" {
			unprocessable(msg)
			return
		}
		vpc = req.VPCID
	}
	s.takeMarks(srcCopy.ID, now, false)
	dataKey := ""
	if _, ok := s.snapshotter(); ok && srcCopy.attached {
		s.mu.Lock()
		dataKey = s.markAtLocked(srcCopy.ID, at)
		s.mu.Unlock()
		if dataKey == "" {
			writeError(w, http.StatusInternalServerError, "Internal Server Error")
			return
		}
	}
	d := s.newDatabase(req.Label, srcCopy.Tag, srcCopy.Engine, srcCopy.Version, p, region, vpc, srcCopy.TrustedIPs,
		srcCopy.MaintDOW, srcCopy.MaintTime, now)
	s.admit(w, d, dataKey, now, http.StatusOK)
}
