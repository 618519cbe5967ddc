package dump

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/agiledeploy/dbaaskit/dbaas"
)

// ErrNoClient: no installed client program can serve this server (a
// pg_dump older than the server, or none at all).
var ErrNoClient = errors.New("no suitable database client installed")

// pgBinDirs lists where Debian and upstream packages install the
// PostgreSQL client programs, one directory per major version.
var pgBinDirs = func() []string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	return dirs
}

// pgTool is one installed PostgreSQL client program and its major version.
type pgTool struct {
	path  string
	major int
}

// pgTools lists the installed copies of a PostgreSQL client program
// (pg_dump, psql), one per major version, oldest first: those in
// /usr/lib/postgresql/N/bin, whose directory names their version, and the
// one on PATH only when there are none (on Debian it is a wrapper script
// that picks one of them, at the cost of starting Perl), asked its
// version. The list is made once per process.
func pgTools(ctx context.Context, name string) []pgTool {
	pgToolsMu.Lock()
	defer pgToolsMu.Unlock()
	if tools, ok := pgToolsSeen[name]; ok {
		return tools
	}
	var tools []pgTool
	for _, d := range pgBinDirs() {
		p := filepath.Join(d, name)
		major, err := strconv.Atoi(filepath.Base(filepath.Dir(d)))
		if fi, serr := os.Stat(p); serr != nil || err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			continue
		}
		tools = append(tools, pgTool{path: p, major: major})
	}
	if p, err := exec.LookPath(name); err == nil && len(tools) == 0 {
		out, err := exec.CommandContext(ctx, p, "--version").Output()
		if m := pgVersionRE.FindSubmatch(out); err == nil && m != nil {
			major, _ := strconv.Atoi(string(m[1]))
			tools = append(tools, pgTool{path: p, major: major})
		} else if ctx.Err() != nil {
			return nil
		}
	}
	slices.SortStableFunc(tools, func(a, b pgTool) int { return a.major - b.major })
	pgToolsSeen[name] = tools
	return tools
}

var (
	pgToolsMu   sync.Mutex
	pgToolsSeen = map[string][]pgTool{}
)

// pgVersionRE reads the major version from "pg_dump (PostgreSQL) 15.20".
var pgVersionRE = regexp.MustCompile(`\(PostgreSQL\) (\d+)`)

// pickPgTool returns the oldest installed copy of name whose major version
// is at least server's: pg_dump refuses a newer server, and the oldest
// that can writes the fewest settings an older target rejects.
func pickPgTool(ctx context.Context, name string, server int) (string, error) {
	tools := pgTools(ctx, name)
	for _, t := range tools {
		if t.major >= server {
			return t.path, nil
		}
	}
	if len(tools) == 0 {
		return "", fmt.Errorf("%s is not installed (Debian: apt-get install postgresql-client): %w", name, ErrNoClient)
	}
	var have []string
	for _, t := range tools {
		have = append(have, strconv.Itoa(t.major))
	}
	return "", fmt.Errorf("the server is PostgreSQL %d but the newest %s installed is %s (have %s): install postgresql-client-%d: %w",
		server, name, have[len(have)-1], strings.Join(have, ", "), server, ErrNoClient)
}

// mysqlTool returns the first of names found on PATH.
func mysqlTool(names ...string) (string, error) {
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s is not installed (Debian: apt-get install mariadb-client): %w", strings.Join(names, " or "), ErrNoClient)
}

// secretDir is a private temporary directory for the password and CA
// files a client program reads. remove deletes it.
type secretDir struct{ dir string }

func newSecretDir() (*secretDir, error) {
	dir, err := os.MkdirTemp("", "dbaas-client-")
	if err != nil {
		return nil, fmt.Errorf("create a private directory for the client's password: %w", err)
	}
	return &secretDir{dir: dir}, nil
}

// write writes a file only the owner can read.
func (s *secretDir) write(name string, data []byte) (string, error) {
	p := filepath.Join(s.dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		return "", fmt.Errorf("write %s for the client: %w", name, err)
	}
	return p, nil
}

func (s *secretDir) remove() { _ = os.RemoveAll(s.dir) }

// clientSetup is how a client program reaches a server: the arguments
// and environment that carry everything but the password, which lies in a
// private file the arguments or environment name.
type clientSetup struct {
	args   []string
	env    []string
	dir    *secretDir
	caFile string // the CA's file, when the connection has one and uses TLS
}

// setupClient prepares a connection to conn for a PostgreSQL or MySQL
// client program. The caller must call dir.remove.
func setupClient(conn *dbaas.ConnectionInfo) (*clientSetup, error) {
	if conn == nil {
		return nil, fmt.Errorf("connection info is nil: %w", dbaas.ErrInvalidArgument)
	}
	if err := conn.Endpoint.Validate(); err != nil {
		return nil, err
	}
	if conn.User == "" {
		return nil, fmt.Errorf("connection info: user: is empty: %w", dbaas.ErrInvalidArgument)
	}
	if conn.Database == "" {
		return nil, fmt.Errorf("connection info: database: is empty: %w", dbaas.ErrInvalidArgument)
	}
	dir, err := newSecretDir()
	if err != nil {
		return nil, err
	}
	s := &clientSetup{dir: dir}
	if conn.Engine == dbaas.Postgres {
		err = s.postgres(conn)
	} else {
		err = s.mysql(conn)
	}
	if err != nil {
		dir.remove()
		return nil, err
	}
	return s, nil
}

func (s *clientSetup) postgres(conn *dbaas.ConnectionInfo) error {
	pass, err := s.dir.write("pgpass", []byte(fmt.Sprintf("*:*:*:*:%s\n", pgpassEscape(conn.Password.Reveal()))))
	if err != nil {
		return err
	}
	mode := conn.TLS
	if mode == "" {
		mode = dbaas.TLSDisable
	}
	s.env = []string{
		"PGHOST=" + conn.Endpoint.Host,
		"PGPORT=" + strconv.Itoa(conn.Endpoint.Port),
		"PGUSER=" + conn.User,
		"PGDATABASE=" + conn.Database,
		"PGPASSFILE=" + pass,
		"PGCONNECT_TIMEOUT=10",
		"PGAPPNAME=dbaas",
	}
	if len(conn.CACertPEM) > 0 && mode != dbaas.TLSDisable {
		ca, err := s.dir.write("ca.pem", conn.CACertPEM)
		if err != nil {
			return err
		}
		s.caFile = ca
		if mode == dbaas.TLSRequire {
			// as dbaas.PostgresURL: a CA given is a CA checked
			mode = dbaas.TLSVerifyCA
		}
		s.env = append(s.env, "PGSSLROOTCERT="+ca)
	}
	if mode == dbaas.TLSVerifyFull && conn.ServerName != "" && conn.ServerName != conn.Endpoint.Host && net.ParseIP(conn.Endpoint.Host) != nil {
		// Behind a tunnel: libpq connects to PGHOSTADDR and checks the
		// certificate against PGHOST, the instance's own name.
		s.env[0] = "PGHOST=" + conn.ServerName
		s.env = append(s.env, "PGHOSTADDR="+conn.Endpoint.Host)
	}
	s.env = append(s.env, "PGSSLMODE="+string(mode))
	return nil
}

// pgpassEscape escapes a .pgpass field.
func pgpassEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `:`, `\:`).Replace(s)
}

func (s *clientSetup) mysql(conn *dbaas.ConnectionInfo) error {
	var b bytes.Buffer
	b.WriteString("[client]\n")
	fmt.Fprintf(&b, "host=%s\nport=%d\nuser=%s\npassword=%s\n", optionValue(conn.Endpoint.Host), conn.Endpoint.Port, optionValue(conn.User), optionValue(conn.Password.Reveal()))
	b.WriteString("protocol=tcp\ndefault-character-set=utf8mb4\n")
	switch conn.TLS {
	case "", dbaas.TLSDisable:
		b.WriteString("skip-ssl\n")
	default:
		b.WriteString("ssl\n")
		if len(conn.CACertPEM) > 0 {
			ca, err := s.dir.write("ca.pem", conn.CACertPEM)
			if err != nil {
				return err
			}
			s.caFile = ca
			// The client checks the name against the host it connects
			// to and has no option for another name: behind a tunnel
			// (ServerName apart from the endpoint) the check fails closed
			// unless the certificate also names the local address.
			fmt.Fprintf(&b, "ssl-ca=%s\nssl-verify-server-cert\n", optionValue(ca))
		}
	}
	file, err := s.dir.write("my.cnf", b.Bytes())
	if err != nil {
		return err
	}
	// --defaults-extra-file must come first on the command line
	s.args = []string{"--defaults-extra-file=" + file}
	return nil
}

// optionValue quotes a value for a MySQL option file, whose reader
// understands double quotes with backslash escapes.
func optionValue(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", `\r`, "\t", `\t`).Replace(s) + `"`
}

// command builds the client program's command with the connection's
// environment added to the process's own.
func (s *clientSetup) command(ctx context.Context, path string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, path, append(slices.Clone(s.args), args...)...)
	cmd.Env = append(os.Environ(), s.env...)
	return cmd
}

// stderrTail keeps the last bytes a client program wrote to stderr, for
// the error message.
type stderrTail struct{ b []byte }

const stderrKeep = 4 << 10

func (t *stderrTail) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > 2*stderrKeep {
		t.b = append(t.b[:0], t.b[len(t.b)-stderrKeep:]...)
	}
	return len(p), nil
}

// raw returns the last bytes written, lines kept.
func (t *stderrTail) raw() string {
	b := t.b
	if len(b) > stderrKeep {
		b = b[len(b)-stderrKeep:]
	}
	return string(bytes.ToValidUTF8(b, []byte("?")))
}

// String returns the last lines written, on one line.
func (t *stderrTail) String() string {
	b := t.b
	if len(b) > stderrKeep {
		b = b[len(b)-stderrKeep:]
	}
	return strings.Join(strings.Fields(string(bytes.ToValidUTF8(b, []byte("?")))), " ")
}
