package dbaas

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// WaitOptions tunes Wait. The zero value gives the documented defaults.
type WaitOptions struct {
	// FirstDelay is the first pause between polls, and the shortest;
	// default 2 s, or a twentieth of the expected provisioning time when
	// that is shorter (a local server that starts in 2 s is polled every
	// 100 ms, not every 2 s).
	FirstDelay time.Duration
	// MaxDelay caps the pause between polls; default 30 s.
	MaxDelay time.Duration
	// Timeout bounds the whole wait; default 30 min. The context's
	// deadline applies too.
	Timeout time.Duration
	// Expected is how long the instance is expected to take; default the
	// provider's Capabilities.TypicalProvisioning. Wait polls seldom
	// before it and with backoff after it. Negative disables the hint.
	Expected time.Duration
	// Until is the status Wait waits for; default StatusAvailable.
	Until Status
	// Progress, when set, is called after every poll with the instance
	// (nil on error) and the time spent so far.
	Progress func(inst *Instance, elapsed time.Duration, err error)
	// Clock is the time source; default the system clock.
	Clock Clock
}

// WaitBackupOptions tunes WaitBackup. The zero value gives the defaults
// of WaitOptions, without a provisioning-time hint.
type WaitBackupOptions struct {
	// FirstDelay, MaxDelay, Timeout and Clock are as in WaitOptions.
	FirstDelay, MaxDelay, Timeout time.Duration
	Clock                         Clock
	// Progress, when set, is called after every poll with the backup (nil
	// on error, or when it is not listed) and the time spent so far.
	Progress func(b *Backup, elapsed time.Duration, err error)
}

// WaitDeletedOptions tunes WaitDeleted. The zero value gives the defaults
// of WaitOptions, without a provisioning-time hint.
type WaitDeletedOptions struct {
	// FirstDelay, MaxDelay, Timeout and Clock are as in WaitOptions.
	FirstDelay, MaxDelay, Timeout time.Duration
	Clock                         Clock
	// Progress, when set, is called after every poll with the instance
	// (nil on error, and nil once it is gone) and the time spent so far.
	Progress func(inst *Instance, elapsed time.Duration, err error)
}

// pacing is what every wait's options share, as the poll loop reads it.
func pacing(first, maxDelay, timeout time.Duration, clock Clock) WaitOptions {
	return WaitOptions{FirstDelay: first, MaxDelay: maxDelay, Timeout: timeout, Clock: clock, Expected: -1}
}

// Wait defaults.
const (
	DefaultFirstDelay  = 2 * time.Second
	DefaultMaxDelay    = 30 * time.Second
	DefaultWaitTimeout = 30 * time.Minute
	// minFirstDelay bounds the derived first delay, so a tiny expected
	// time does not make Wait spin.
	minFirstDelay = 50 * time.Millisecond
)

func (o WaitOptions) withDefaults(p Provider) WaitOptions {
	if o.Expected == 0 {
		o.Expected = p.Capabilities().TypicalProvisioning
	}
	if o.FirstDelay <= 0 {
		o.FirstDelay = DefaultFirstDelay
		if hint := o.Expected / 20; o.Expected > 0 && hint < o.FirstDelay {
			o.FirstDelay = max(hint, minFirstDelay)
		}
	}
	if o.MaxDelay <= 0 {
		o.MaxDelay = DefaultMaxDelay
	}
	if o.MaxDelay < o.FirstDelay {
		o.MaxDelay = o.FirstDelay
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultWaitTimeout
	}
	if o.Until == "" {
		o.Until = StatusAvailable
	}
	if o.Clock == nil {
		o.Clock = SystemClock{}
	}
	return o
}

// Wait polls p until instance id reaches opts.Until (available by
// default) and returns it.
//
// Polls follow a capped exponential backoff with ±10% jitter. When the
// provider expects provisioning to take a while (TypicalProvisioning, or
// opts.Expected), Wait first polls at halving intervals towards that time
// and only then backs off: a 10-minute create costs a handful of calls,
// not one every 30 s.
//
// It returns at once on a terminal status (failed, deleting: the error
// wraps ErrConflict and names the status), with ErrTimeout when
// opts.Timeout passes, and with the context's error when it is cancelled.
// Transient errors of a poll (ErrRateLimited) are retried; others end the
// wait.
func Wait(ctx context.Context, p Provider, id string, opts WaitOptions) (*Instance, error) {
	if p == nil {
		return nil, fmt.Errorf("wait %s: provider is nil: %w", truncate(id, 64), ErrInvalidArgument)
	}
	if id == "" {
		return nil, fmt.Errorf("wait: id is empty: %w", ErrInvalidArgument)
	}
	if ctx == nil {
		return nil, fmt.Errorf("wait %s: nil context: %w", truncate(id, 64), ErrInvalidArgument)
	}
	opts = opts.withDefaults(p)
	var last *Instance
	err := poll(ctx, "wait", id, opts, string(opts.Until), func(start time.Time) (string, bool, error) {
		inst, err := p.Get(ctx, id)
		if opts.Progress != nil {
			opts.Progress(inst, opts.Clock.Now().Sub(start), err)
		}
		if err != nil {
			return "", false, err
		}
		last = inst
		if inst.Status == opts.Until {
			return string(inst.Status), true, nil
		}
		if inst.Status.Terminal() {
			return string(inst.Status), true, &Error{Op: "wait", ID: id, Kind: ErrConflict,
				Err: fmt.Errorf("instance is %s (%s), it will not become %s", inst.Status, inst.RawStatus, opts.Until)}
		}
		return string(inst.Status), false, nil
	})
	return last, err
}

// WaitBackup polls p.Backups(instanceID) until backup backupID is
// available (Backup.Status is BackupAvailable) and returns it: a backup
// is restorable only then, though Backup returns while it is still being
// made. It paces, retries and times out as Wait does, except that
// it takes no provisioning-time hint (TypicalProvisioning is about
// instances, not backups).
//
// It returns at once, with the last backup seen, when the backup says it
// failed (a status of failed, error, deleting or deleted, in any case:
// the error wraps ErrConflict) and when the instance's list does not
// hold it (ErrNotFound).
func WaitBackup(ctx context.Context, p Provider, instanceID, backupID string, o WaitBackupOptions) (*Backup, error) {
	const op = "wait backup"
	switch {
	case p == nil:
		return nil, &Error{Op: op, ID: truncate(backupID, 64), Err: InvalidField("provider", "is nil")}
	case ctx == nil:
		return nil, &Error{Op: op, ID: truncate(backupID, 64), Err: InvalidField("ctx", "is nil")}
	case instanceID == "":
		return nil, &Error{Op: op, ID: truncate(backupID, 64), Err: InvalidField("instance_id", "is empty")}
	case backupID == "":
		return nil, &Error{Op: op, Err: InvalidField("backup_id", "is empty")}
	}
	opts := pacing(o.FirstDelay, o.MaxDelay, o.Timeout, o.Clock).withDefaults(p)
	var last *Backup
	err := poll(ctx, op, backupID, opts, string(BackupAvailable), func(start time.Time) (string, bool, error) {
		list, err := p.Backups(ctx, instanceID)
		var b *Backup
		if err == nil {
			b = findBackup(list, backupID)
		}
		if o.Progress != nil {
			o.Progress(b, opts.Clock.Now().Sub(start), err)
		}
		switch {
		case err != nil:
			return "", false, err
		case b == nil && last == nil:
			return "", true, &Error{Op: op, ID: backupID, Kind: ErrNotFound,
				Err: fmt.Errorf("instance %s lists no backup with this id", instanceID)}
		case b == nil:
			return "", true, &Error{Op: op, ID: backupID, Kind: ErrNotFound,
				Err: fmt.Errorf("backup of instance %s is no longer listed; it was %s", instanceID, last.Status)}
		}
		last = b
		if b.Status == BackupAvailable {
			return string(b.Status), true, nil
		}
		if b.Status.Terminal() {
			return string(b.Status), true, &Error{Op: op, ID: backupID, Kind: ErrConflict,
				Err: fmt.Errorf("backup of instance %s is %s, it will not become %s", instanceID, backupStatusText(b), BackupAvailable)}
		}
		return string(b.Status), false, nil
	})
	return last, err
}

func findBackup(list []*Backup, id string) *Backup {
	for _, b := range list {
		if b != nil && b.ID == id {
			return b
		}
	}
	return nil
}

// backupStatusText is the status with the cloud's own word when it differs.
func backupStatusText(b *Backup) string {
	if b.RawStatus == "" || b.RawStatus == string(b.Status) {
		return string(b.Status)
	}
	return string(b.Status) + " (" + b.RawStatus + ")"
}

// WaitDeleted polls p.Get(id) until it answers ErrNotFound, and then
// returns nil: Delete returns while the instance is still deleting, and
// its name, endpoint and quota are free only once it is gone. It paces,
// retries and times out as Wait does (the timeout error names the last
// status), except that it takes no provisioning-time hint.
//
// It returns at once when the instance is in any status but deleting
// (it is not being deleted, or its deletion failed): the error wraps
// ErrConflict and names the status.
func WaitDeleted(ctx context.Context, p Provider, id string, o WaitDeletedOptions) error {
	const op = "wait delete"
	switch {
	case p == nil:
		return &Error{Op: op, ID: truncate(id, 64), Err: InvalidField("provider", "is nil")}
	case ctx == nil:
		return &Error{Op: op, ID: truncate(id, 64), Err: InvalidField("ctx", "is nil")}
	case id == "":
		return &Error{Op: op, Err: InvalidField("id", "is empty")}
	}
	opts := pacing(o.FirstDelay, o.MaxDelay, o.Timeout, o.Clock).withDefaults(p)
	opts.Progress = o.Progress
	return poll(ctx, op, id, opts, "gone", func(start time.Time) (string, bool, error) {
		inst, err := p.Get(ctx, id)
		gone := errors.Is(err, ErrNotFound)
		if opts.Progress != nil {
			if gone {
				opts.Progress(nil, opts.Clock.Now().Sub(start), nil)
			} else {
				opts.Progress(inst, opts.Clock.Now().Sub(start), err)
			}
		}
		switch {
		case gone:
			return "", true, nil
		case err != nil:
			return "", false, err
		case inst.Status != StatusDeleting:
			return string(inst.Status), true, &Error{Op: op, ID: id, Kind: ErrConflict,
				Err: fmt.Errorf("instance is %s, not deleting: it will not go away", statusText(inst))}
		}
		return string(inst.Status), false, nil
	})
}

// statusText is the status with the cloud's own word when it differs.
func statusText(inst *Instance) string {
	if inst.RawStatus == "" || inst.RawStatus == string(inst.Status) {
		return string(inst.Status)
	}
	return string(inst.Status) + " (" + inst.RawStatus + ")"
}

// poll is the loop of every wait: it calls look until look says the wait
// is over, pausing between calls as backoff says, and stops on timeout
// and on cancellation.
//
// look reports the status it saw ("" when its call failed), whether the
// wait is over and an error. When the wait is over, poll returns look's
// error as is: nil for success, the reason otherwise. Before that, an
// error is the failed call's: ErrRateLimited is retried, any other ends
// the wait wrapped as "op id: err".
func poll(ctx context.Context, op, id string, opts WaitOptions, wanted string, look func(start time.Time) (status string, done bool, err error)) error {
	start := opts.Clock.Now()
	deadline := start.Add(opts.Timeout)
	b := backoff{opts: opts}
	last := ""
	for {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("%s %s: %w", op, id, err)
		}
		status, done, err := look(start)
		if status != "" {
			last = status
		}
		switch {
		case done:
			return err
		case err != nil && ctx.Err() != nil:
			return fmt.Errorf("%s %s: %w", op, id, ctx.Err())
		case err != nil && !errors.Is(err, ErrRateLimited):
			return fmt.Errorf("%s %s: %w", op, id, err)
		}
		now := opts.Clock.Now()
		if !now.Before(deadline) {
			return timeoutError(op, id, opts.Timeout, last, wanted)
		}
		d := b.next(now.Sub(start))
		if rest := deadline.Sub(now); d > rest {
			d = rest
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s %s: %w", op, id, ctx.Err())
		case <-opts.Clock.After(d):
		}
	}
}

// timeoutError names the last status seen ("unknown" when no poll
// answered) and the one wanted.
func timeoutError(op, id string, timeout time.Duration, last, wanted string) error {
	if last == "" {
		last = "unknown"
	}
	return &Error{Op: op, ID: id, Kind: ErrTimeout,
		Err: fmt.Errorf("still %s after %s, wanted %s", last, timeout, wanted)}
}

// backoff computes the pauses of Wait.
type backoff struct {
	opts  WaitOptions
	delay time.Duration
}

func (b *backoff) next(elapsed time.Duration) time.Duration {
	exp := b.opts.Expected
	if exp > 0 && elapsed < exp {
		// Halve the remaining expected time: polls at 1/2, 3/4, 7/8 … of it.
		d := (exp - elapsed) / 2
		if floor := exp / 16; d < floor {
			d = floor
		}
		return max(jitter(d), b.opts.FirstDelay)
	}
	limit := b.opts.MaxDelay
	if exp > 0 && exp/10 > limit {
		limit = exp / 10
	}
	switch {
	case b.delay == 0:
		b.delay = b.opts.FirstDelay
		if exp > 0 && exp/20 > b.delay {
			b.delay = exp / 20
		}
	default:
		b.delay *= 2
	}
	if b.delay > limit {
		b.delay = limit
	}
	return jitter(b.delay)
}

// jitter spreads d by ±10% so that many waiters do not poll in step.
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return d
	}
	f := 0.9 + 0.2*rand.Float64()
	return time.Duration(float64(d) * f)
}
