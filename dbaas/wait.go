package dbaas

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// WaitOptions tunes Wait, WaitBackup and WaitDeleted. The zero value
// gives the documented defaults.
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
	// WaitBackup and WaitDeleted ignore it.
	Until Status
	// Progress, when set, is called after every poll of Wait and
	// WaitDeleted with the instance (nil on error, and nil once
	// WaitDeleted sees it gone) and the time spent so far.
	Progress func(inst *Instance, elapsed time.Duration, err error)
	// BackupProgress, when set, is called after every poll of WaitBackup
	// with the backup (nil on error, or when it is not listed) and the
	// time spent so far.
	BackupProgress func(b *Backup, elapsed time.Duration, err error)
	// Clock is the time source; default the system clock.
	Clock Clock
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
// opts.Expected defaults to no hint (TypicalProvisioning is about
// instances, not backups) and opts.Until is ignored.
//
// It returns at once, with the last backup seen, when the backup says it
// failed (a status of failed, error, deleting or deleted, in any case:
// the error wraps ErrConflict) and when the instance's list does not
// hold it (ErrNotFound). backupID is a backup's ID, not a PointInTime
// reference, which names no backup that is made.
func WaitBackup(ctx context.Context, p Provider, instanceID, backupID string, opts WaitOptions) (*Backup, error) {
	const op = "wait backup"
	switch {
	case p == nil:
		return nil, NewError(op, truncate(backupID, 64), nil, InvalidField("provider", "is nil"))
	case ctx == nil:
		return nil, NewError(op, truncate(backupID, 64), nil, InvalidField("ctx", "is nil"))
	case instanceID == "":
		return nil, NewError(op, truncate(backupID, 64), nil, InvalidField("instance_id", "is empty"))
	case backupID == "":
		return nil, NewError(op, "", nil, InvalidField("backup_id", "is empty"))
	}
	if _, _, pitr, _ := ParsePointInTime(backupID); pitr {
		return nil, NewError(op, truncate(backupID, 64), nil, InvalidField("backup_id",
			"is a point-in-time reference, not a backup being made: want a Backup.ID"))
	}
	opts = opts.noExpectedHint().withDefaults(p)
	var last *Backup
	err := poll(ctx, op, backupID, opts, BackupAvailable, func(start time.Time) (string, bool, error) {
		list, err := p.Backups(ctx, instanceID)
		var b *Backup
		if err == nil {
			b = findBackup(list, backupID)
		}
		if opts.BackupProgress != nil {
			opts.BackupProgress(b, opts.Clock.Now().Sub(start), err)
		}
		switch {
		case err != nil:
			return "", false, err
		case b == nil && last == nil:
			return "", true, NewError(op, backupID, ErrNotFound,
				fmt.Errorf("instance %s lists no backup with this id", instanceID))
		case b == nil:
			return "", true, NewError(op, backupID, ErrNotFound,
				fmt.Errorf("backup of instance %s is no longer listed; it was %s", instanceID, last.Status))
		}
		last = b
		if b.Status == BackupAvailable {
			return b.Status, true, nil
		}
		if backupFailed(b.Status) {
			return b.Status, true, NewError(op, backupID, ErrConflict,
				fmt.Errorf("backup of instance %s is %s, it will not become %s", instanceID, b.Status, BackupAvailable))
		}
		return b.Status, false, nil
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

// backupFailed reports whether a backup in this status will not become
// available: the words the clouds use (RDS snapshots say failed, and
// deleted once deleted) and their kin.
func backupFailed(status string) bool {
	for _, w := range []string{"failed", "error", "deleting", "deleted"} {
		if strings.EqualFold(status, w) {
			return true
		}
	}
	return false
}

// WaitDeleted polls p.Get(id) until it answers ErrNotFound, and then
// returns nil: Delete returns while the instance is still deleting, and
// its name, endpoint and quota are free only once it is gone. It paces,
// retries and times out as Wait does (the timeout error names the last
// status), except that opts.Expected defaults to no hint and opts.Until
// is ignored.
//
// It returns at once when the instance is in any status but deleting
// (it is not being deleted, or its deletion failed): the error wraps
// ErrConflict and names the status.
func WaitDeleted(ctx context.Context, p Provider, id string, opts WaitOptions) error {
	const op = "wait delete"
	switch {
	case p == nil:
		return NewError(op, truncate(id, 64), nil, InvalidField("provider", "is nil"))
	case ctx == nil:
		return NewError(op, truncate(id, 64), nil, InvalidField("ctx", "is nil"))
	case id == "":
		return NewError(op, "", nil, InvalidField("id", "is empty"))
	}
	opts = opts.noExpectedHint().withDefaults(p)
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
			return string(inst.Status), true, NewError(op, id, ErrConflict,
				fmt.Errorf("instance is %s, not deleting: it will not go away", statusText(inst)))
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

// noExpectedHint turns off the provisioning-time hint unless the caller
// gave one: it describes creating an instance, not other waits.
func (o WaitOptions) noExpectedHint() WaitOptions {
	if o.Expected == 0 {
		o.Expected = -1
	}
	return o
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
