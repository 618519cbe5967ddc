package dbaas

import (
	"context"
	"log/slog"
	"time"
)

// Call describes one provider call, for an Observer.
type Call struct {
	// Provider is the registered name of the provider.
	Provider string
	// Op is the operation: "create", "get", "list", "delete",
	// "connection", "allow", "revoke", "access", "backup", "backups",
	// "restore", "start" or "stop".
	Op string
	// ID is the instance (or, for a restore, the backup or instance
	// restored from); empty for create and list.
	ID string
	// Start is when the call began.
	Start time.Time
}

// Observer is told of every call a provider serves that passed
// validation: Begin before the call reaches the cloud's adapter (the
// context it returns goes on to the adapter, so a tracer can start a
// span there), End after it, with its duration and error (nil on
// success; the error's Kind tells its class). Bind it to OpenTelemetry,
// Prometheus or anything else; it must be safe for concurrent use and
// quick, since it runs inside every call.
type Observer interface {
	Begin(ctx context.Context, c Call) context.Context
	End(ctx context.Context, c Call, d time.Duration, err error)
}

// SlogObserver logs each call at debug level to l (slog.Default() when
// nil) with the attributes provider, op, id, duration and, on failure,
// error and kind. It is the default Observer. Errors carry no secret, so
// neither does the log.
func SlogObserver(l *slog.Logger) Observer { return slogObserver{l} }

type slogObserver struct{ l *slog.Logger }

func (o slogObserver) logger() *slog.Logger {
	if o.l != nil {
		return o.l
	}
	return slog.Default()
}

func (o slogObserver) Begin(ctx context.Context, _ Call) context.Context { return ctx }

func (o slogObserver) End(ctx context.Context, c Call, d time.Duration, err error) {
	l := o.logger()
	if !l.Enabled(ctx, slog.LevelDebug) {
		return
	}
	attrs := []slog.Attr{slog.String("provider", c.Provider), slog.String("op", c.Op), slog.Duration("duration", d)}
	if c.ID != "" {
		attrs = append(attrs, slog.String("id", c.ID))
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", err.Error()))
		if k := Kind(err); k != nil {
			attrs = append(attrs, slog.String("kind", k.Error()))
		}
	}
	l.LogAttrs(ctx, slog.LevelDebug, "dbaas call", attrs...)
}
