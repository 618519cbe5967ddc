package realdb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"sync"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/simdb"
)

// Default admin connections: the servers' superusers on loopback.
const (
	DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable&connect_timeout=5"
	DefaultMariaDBDSN  = "root@tcp(127.0.0.1:3306)/?timeout=5s"
	DefaultPrefix      = "simdb"
)

// Options say which servers to use and how to name what is made there.
type Options struct {
	// PostgresURL connects to PostgreSQL as a superuser; default
	// DefaultPostgresURL. Attached databases are reached on its host
	// and port.
	PostgresURL string
	// MariaDBDSN connects to MariaDB (go-sql-driver/mysql form) as a
	// user that may create databases and users; default
	// DefaultMariaDBDSN.
	MariaDBDSN string
	// Prefix starts the name of every database, login and snapshot
	// made, so that leftovers of a crashed run are easy to find:
	// lower-case letters, digits and underscores, at most 20; default
	// DefaultPrefix.
	Prefix string
	// Database, when set, names every attached database, for clouds
	// whose API reports no database name (Linode: the adapter reports a
	// configured one). A server then holds one attached database per
	// engine at a time, and Attach refuses a second.
	Database string
}

// Backend attaches databases on the running servers. It is safe for
// concurrent use.
type Backend struct {
	pgURL    string
	pgHost   string
	pgPort   int
	myHost   string
	myPort   int
	prefix   string
	database string
	my       *sql.DB
	myDSN    string

	mu        sync.Mutex
	closed    bool
	attached  map[string]entry
	snapshots map[string]entry
	pending   map[string]dbaas.Engine // keys and snapshot keys being made, to their family
}

// entry is one database made on a server: an attached one has a login of
// the same name; a snapshot has a role that owns its objects.
type entry struct {
	family dbaas.Engine // dbaas.Postgres or dbaas.MariaDB
	name   string       // database
	user   string       // login, or the owner role of a PostgreSQL snapshot
}

var (
	prefixRule = regexp.MustCompile(`^[a-z][a-z0-9_]{0,19}$`)
	nameRule   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)
)

// New checks opts and returns a Backend. It connects to nothing yet:
// Check says whether the servers answer.
func New(opts Options) (*Backend, error) {
	if opts.PostgresURL == "" {
		opts.PostgresURL = DefaultPostgresURL
	}
	if opts.MariaDBDSN == "" {
		opts.MariaDBDSN = DefaultMariaDBDSN
	}
	if opts.Prefix == "" {
		opts.Prefix = DefaultPrefix
	}
	if !prefixRule.MatchString(opts.Prefix) {
		return nil, dbaas.InvalidField("Prefix", "lower-case letters, digits and underscores, starting with a letter, at most 20")
	}
	if opts.Database != "" && !nameRule.MatchString(opts.Database) {
		return nil, dbaas.InvalidField("Database", "letters, digits and underscores, not starting with a digit, at most 63")
	}
	pgCfg, err := pgx.ParseConfig(opts.PostgresURL)
	if err != nil {
		return nil, dbaas.InvalidField("PostgresURL", "a PostgreSQL URL or keyword/value string")
	}
	myCfg, err := mysql.ParseDSN(opts.MariaDBDSN)
	if err != nil {
		return nil, dbaas.InvalidField("MariaDBDSN", "a go-sql-driver/mysql DSN")
	}
	if myCfg.Net != "tcp" {
		return nil, dbaas.InvalidField("MariaDBDSN", "a TCP address, which simulated instances can hand out")
	}
	myEndpoint, err := dbaas.SplitEndpoint(myCfg.Addr)
	if err != nil {
		return nil, dbaas.InvalidField("MariaDBDSN", "host:port address")
	}
	// Admin statements name one database at a time; a pool of a few
	// connections is plenty, and none stays idle past Close.
	my, err := sql.Open("mysql", opts.MariaDBDSN)
	if err != nil {
		return nil, fmt.Errorf("realdb: %w", err)
	}
	my.SetMaxIdleConns(2)
	return &Backend{
		pgURL: opts.PostgresURL, pgHost: pgCfg.Host, pgPort: int(pgCfg.Port),
		myHost: myEndpoint.Host, myPort: myEndpoint.Port,
		prefix: opts.Prefix, database: opts.Database, my: my, myDSN: opts.MariaDBDSN,
		attached: map[string]entry{}, snapshots: map[string]entry{}, pending: map[string]dbaas.Engine{},
	}, nil
}

// Check connects to both servers and says which does not answer.
func (b *Backend) Check(ctx context.Context) error {
	pg, err := pgx.Connect(ctx, b.pgURL)
	if err != nil {
		return fmt.Errorf("realdb: PostgreSQL on %s:%d: %w", b.pgHost, b.pgPort, err)
	}
	_ = pg.Close(ctx)
	if err := b.my.PingContext(ctx); err != nil {
		return fmt.Errorf("realdb: MariaDB on %s:%d: %w", b.myHost, b.myPort, err)
	}
	return nil
}

// family maps an engine to the server that serves it.
func family(op, key string, engine dbaas.Engine) (dbaas.Engine, error) {
	switch engine {
	case dbaas.Postgres:
		return dbaas.Postgres, nil
	case dbaas.MySQL, dbaas.MariaDB:
		return dbaas.MariaDB, nil
	}
	return "", newError(op, key, dbaas.ErrUnsupported, fmt.Errorf("engine %q: only PostgreSQL, MySQL and MariaDB servers run here", engine))
}

func randomHex(n int) string {
	p := make([]byte, n)
	_, _ = rand.Read(p)
	return hex.EncodeToString(p)
}

// reserve marks key as being made in m, refusing a key in use.
func (b *Backend) reserve(op, key string, m map[string]entry) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.reserveLocked(op, key, m, "")
}

// reserveAttach reserves key for an attached database of family fam,
// refusing a second one per server when every database has one name.
func (b *Backend) reserveAttach(op, key string, fam dbaas.Engine) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.database != "" {
		for k, a := range b.attached {
			if a.family == fam {
				return newError(op, key, dbaas.ErrConflict, fmt.Errorf("%s already holds database %s on the %s server", k, b.database, fam))
			}
		}
		for k, f := range b.pending {
			if f == fam {
				return newError(op, key, dbaas.ErrConflict, fmt.Errorf("%s is making database %s on the %s server", k, b.database, fam))
			}
		}
	}
	return b.reserveLocked(op, key, b.attached, fam)
}

func (b *Backend) reserveLocked(op, key string, m map[string]entry, fam dbaas.Engine) error {
	if b.closed {
		return newError(op, key, dbaas.ErrConflict, errors.New("backend closed"))
	}
	if _, ok := m[key]; ok {
		return newError(op, key, dbaas.ErrAlreadyExists, nil)
	}
	if _, ok := b.pending[key]; ok {
		return newError(op, key, dbaas.ErrAlreadyExists, nil)
	}
	b.pending[key] = fam
	return nil
}

// settle ends a reservation, recording e when it was made.
func (b *Backend) settle(key string, m map[string]entry, e *entry) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.pending, key)
	if e != nil {
		m[key] = *e
	}
}

// Attach makes a database and a login for key on the server of engine.
func (b *Backend) Attach(ctx context.Context, key string, engine dbaas.Engine, _ string) (*simdb.Database, error) {
	return b.attach(ctx, "attach", key, engine, "")
}

// attach makes a database for key, a copy of snapshot database from when
// set.
func (b *Backend) attach(ctx context.Context, op, key string, engine dbaas.Engine, from string) (*simdb.Database, error) {
	fam, err := family(op, key, engine)
	if err != nil {
		return nil, err
	}
	e := entry{family: fam, user: b.prefix + "_" + randomHex(8)}
	e.name = e.user
	if b.database != "" {
		e.name = b.database
	}
	if err := b.reserveAttach(op, key, fam); err != nil {
		return nil, err
	}
	password := randomHex(16)
	if fam == dbaas.Postgres {
		err = b.pgAttach(ctx, e, password, from)
	} else {
		err = b.myAttach(ctx, e, password, from)
	}
	if err != nil {
		// Leave nothing half made: drop whatever part was created.
		cleanup := context.WithoutCancel(ctx)
		err = errors.Join(err, b.drop(cleanup, e))
		b.settle(key, b.attached, nil)
		return nil, newError(op, key, nil, err)
	}
	b.settle(key, b.attached, &e)
	db := &simdb.Database{User: e.user, Password: dbaas.NewSecret(password), Database: e.name}
	if fam == dbaas.Postgres {
		db.Endpoint = dbaas.Endpoint{Host: b.pgHost, Port: b.pgPort}
	} else {
		db.Endpoint = dbaas.Endpoint{Host: b.myHost, Port: b.myPort}
	}
	return db, nil
}

// Detach drops the database and login of key. An unknown key is not an
// error: simulators detach on every delete path.
func (b *Backend) Detach(ctx context.Context, key string) error {
	b.mu.Lock()
	e, ok := b.attached[key]
	delete(b.attached, key)
	b.mu.Unlock()
	if !ok {
		return nil
	}
	if err := b.drop(ctx, e); err != nil {
		return newError("detach", key, nil, err)
	}
	return nil
}

// Snapshot copies the database of key into a new snapshot.
func (b *Backend) Snapshot(ctx context.Context, key, snapshotKey string) error {
	b.mu.Lock()
	src, ok := b.attached[key]
	b.mu.Unlock()
	if !ok {
		return newError("snapshot", key, dbaas.ErrNotFound, errors.New("no database attached"))
	}
	if err := b.reserve("snapshot", snapshotKey, b.snapshots); err != nil {
		return err
	}
	snap := entry{family: src.family, name: b.prefix + "_s" + randomHex(8)}
	var err error
	if src.family == dbaas.Postgres {
		snap.user = snap.name
		err = b.pgSnapshot(ctx, src, snap)
	} else {
		err = b.myCopy(ctx, src.name, snap.name)
	}
	if err != nil {
		err = errors.Join(err, b.drop(context.WithoutCancel(ctx), snap))
		b.settle(snapshotKey, b.snapshots, nil)
		return newError("snapshot", key, nil, err)
	}
	b.settle(snapshotKey, b.snapshots, &snap)
	return nil
}

// Restore attaches newKey with a copy of snapshot snapshotKey.
func (b *Backend) Restore(ctx context.Context, snapshotKey, newKey string, engine dbaas.Engine, _ string) (*simdb.Database, error) {
	b.mu.Lock()
	snap, ok := b.snapshots[snapshotKey]
	b.mu.Unlock()
	if !ok {
		return nil, newError("restore", snapshotKey, dbaas.ErrNotFound, errors.New("no such snapshot"))
	}
	fam, err := family("restore", newKey, engine)
	if err != nil {
		return nil, err
	}
	if fam != snap.family {
		return nil, newError("restore", snapshotKey, dbaas.ErrInvalidArgument, fmt.Errorf("engine %s cannot restore a snapshot of a %s database", engine, snap.family))
	}
	return b.attach(ctx, "restore", newKey, engine, snap.name)
}

// DropSnapshot drops snapshot snapshotKey; an unknown one is not an
// error.
func (b *Backend) DropSnapshot(ctx context.Context, snapshotKey string) error {
	b.mu.Lock()
	snap, ok := b.snapshots[snapshotKey]
	delete(b.snapshots, snapshotKey)
	b.mu.Unlock()
	if !ok {
		return nil
	}
	if err := b.drop(ctx, snap); err != nil {
		return newError("drop snapshot", snapshotKey, nil, err)
	}
	return nil
}

// Close drops every database, login and snapshot still held, and refuses
// further Attach and Snapshot calls. A second Close does nothing.
func (b *Backend) Close(ctx context.Context) error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	var all []entry
	for _, m := range []map[string]entry{b.attached, b.snapshots} {
		for k, e := range m {
			all = append(all, e)
			delete(m, k)
		}
	}
	b.mu.Unlock()
	var errs []error
	for _, e := range all {
		errs = append(errs, b.drop(ctx, e))
	}
	errs = append(errs, b.my.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("realdb: close: %w", err)
	}
	return nil
}

// Held reports how many attached databases and snapshots b holds.
func (b *Backend) Held() (attached, snapshots int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.attached), len(b.snapshots)
}

// drop removes e's database and its login or owner role.
func (b *Backend) drop(ctx context.Context, e entry) error {
	if e.family == dbaas.Postgres {
		return b.pgDrop(ctx, e)
	}
	return b.myDrop(ctx, e)
}

// newError is an error of op on key, classified by kind (a dbaas
// sentinel, or nil).
func newError(op, key string, kind, cause error) error {
	return &dbaas.Error{Op: op, ID: key, Kind: kind, Err: cause}
}
