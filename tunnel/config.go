package tunnel

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"golang.org/x/crypto/ssh"
)

// Policy says how forwarded connections are spread over several relays.
type Policy string

// The relay policies.
const (
	// Failover sends every connection through the first relay that is up,
	// in the order given. The others are dialled only when no relay is up;
	// one so reached stays connected as a warm standby, and connections go
	// back to the first relay as soon as it is up again.
	Failover Policy = "failover"
	// RoundRobin keeps one SSH connection to every relay and spreads
	// connections over those that are up, in turn.
	RoundRobin Policy = "round-robin"
)

// Hop is an SSH server on the way to the database: a relay or a jump host.
type Hop struct {
	// Host is the name or address of the SSH server. It may carry a
	// port ("relay.example.com:2222", "[2001:db8::1]:22").
	Host string
	// Port is the SSH port when Host has none; 0 means 22.
	Port int
	// User is the login name; empty means the current user.
	User string
}

// Address returns host:port.
func (h Hop) Address() string {
	if _, _, err := net.SplitHostPort(h.Host); err == nil {
		return h.Host
	}
	port := h.Port
	if port == 0 {
		port = 22
	}
	return net.JoinHostPort(h.Host, strconv.Itoa(port))
}

// Relay is an SSH server that can reach the database, and the jump hosts
// (OpenSSH's ProxyJump chain) that lead to it, nearest first. Every
// hop's host key is checked.
type Relay struct {
	Hop
	// Jump lists the jump hosts, in the order they are passed through.
	Jump []Hop
}

// String names the relay as OpenSSH would: "user@host:port" with the jump
// chain after "via".
func (r Relay) String() string {
	s := r.Address()
	if r.User != "" {
		s = r.User + "@" + s
	}
	if len(r.Jump) > 0 {
		parts := make([]string, len(r.Jump))
		for i, j := range r.Jump {
			parts[i] = j.Address()
		}
		s += " via " + strings.Join(parts, ",")
	}
	return s
}

// Auth says how to log in to the relays and jump hosts. With nothing set,
// the agent at SSH_AUTH_SOCK (when set) and the default key files
// (~/.ssh/id_ed25519, id_ecdsa, id_rsa, when present) are used, as ssh
// does.
type Auth struct {
	// KeyFiles are private key files (OpenSSH, PKCS#1, PKCS#8 PEM). A file
	// readable by group or others is refused, as OpenSSH refuses it.
	KeyFiles []string
	// Passphrase is asked for the passphrase of an encrypted key file.
	Passphrase func(file string) ([]byte, error)
	// Agent uses the ssh-agent at SSH_AUTH_SOCK.
	Agent bool
	// Signers are keys already in memory.
	Signers []ssh.Signer
}

func (a Auth) empty() bool { return len(a.KeyFiles) == 0 && !a.Agent && len(a.Signers) == 0 }

// Config configures a Tunnel. The zero values of the optional fields are
// safe defaults.
type Config struct {
	// Relays are the SSH servers that can reach Remote. At least one.
	Relays []Relay
	// Policy spreads connections over the relays; default Failover.
	Policy Policy
	// Remote is the database as the relay sees it: host (no port) and port.
	Remote dbaas.Endpoint

	// Listen is the local address: "127.0.0.1:0" by default (a free
	// port), "host:port" for TCP, or "unix:/path" for a Unix socket (see
	// PostgresSocket). An address that is not loopback is refused unless
	// AllowRemoteClients is set: no default exposes the database.
	Listen string
	// AllowRemoteClients permits a Listen address that is not loopback.
	AllowRemoteClients bool

	// Auth says how to log in.
	Auth Auth
	// KnownHosts are the known_hosts files that host keys are checked
	// against; default ~/.ssh/known_hosts. Hashed entries and
	// "[host]:port" entries work. A malformed line is an error.
	KnownHosts []string
	// InsecureIgnoreHostKey accepts any host key. It makes the tunnel open
	// to a machine in the middle; use it only in throwaway tests.
	InsecureIgnoreHostKey bool
	// Ciphers, when set, limits the SSH ciphers offered (for example
	// "aes128-gcm@openssh.com").
	Ciphers []string

	// DialTimeout bounds each TCP dial and SSH handshake, and how long a
	// new connection waits for a relay while none is up; default 15 s.
	DialTimeout time.Duration
	// KeepaliveInterval is the time between keepalive@openssh.com probes
	// (OpenSSH's ServerAliveInterval); default 15 s.
	KeepaliveInterval time.Duration
	// KeepaliveCount is how many probes may go unanswered before the relay
	// is declared dead and the SSH connection is dropped
	// (ServerAliveCountMax); default 3.
	KeepaliveCount int
	// MinBackoff and MaxBackoff bound the wait between reconnect attempts
	// to a relay; defaults 100 ms and 1 s. A connection waiting for the
	// relay cuts the wait short, but never below MinBackoff.
	MinBackoff, MaxBackoff time.Duration

	// HoldAfter is how many failures in a row (a failed dial, an SSH
	// connection lost soon after it was made, a forward the relay refused)
	// put a relay on hold: new connections skip it while another relay is
	// up, and it is dialled again only after its hold; default 3. A forward
	// through the relay that succeeds ends the run of failures.
	HoldAfter int
	// HoldTime is how long a relay is held after HoldAfter failures in a
	// row, doubled at each further failure up to 8 × HoldTime; default
	// 10 s. While no relay is up, holds do not apply: every relay is
	// dialled with the usual backoff, since any relay is better than none.
	HoldTime time.Duration

	// MaxConns bounds the forwarded connections open at once; a
	// connection past it is closed at once. Default 1024.
	MaxConns int
	// DrainTimeout is how long Close waits for open connections to end
	// before it cuts them; default 10 s.
	DrainTimeout time.Duration

	// Logger receives connection and relay events; default discards.
	Logger *slog.Logger
}

// Default values of Config.
const (
	DefaultDialTimeout       = 15 * time.Second
	DefaultKeepaliveInterval = 15 * time.Second
	DefaultKeepaliveCount    = 3
	DefaultMinBackoff        = 100 * time.Millisecond
	DefaultMaxBackoff        = time.Second
	DefaultHoldAfter         = 3
	DefaultHoldTime          = 10 * time.Second
	DefaultMaxConns          = 1024
	DefaultDrainTimeout      = 10 * time.Second
)

// PostgresSocket returns the Listen value for a Unix socket that psql and
// libpq find with host=dir port=port: "unix:dir/.s.PGSQL.port".
func PostgresSocket(dir string, port int) string {
	return "unix:" + filepath.Join(dir, ".s.PGSQL."+strconv.Itoa(port))
}

func invalid(field, rule string) error {
	return fmt.Errorf("tunnel config: %s: %s: %w", field, rule, dbaas.ErrInvalidArgument)
}

// withDefaults checks c and fills in the defaults. It touches nothing
// outside c.
func (c Config) withDefaults() (Config, error) {
	if err := validateRelays(c.Relays); err != nil {
		return c, err
	}
	switch c.Policy {
	case "":
		c.Policy = Failover
	case Failover, RoundRobin:
	default:
		return c, invalid("policy", fmt.Sprintf("%q is not %q or %q", c.Policy, Failover, RoundRobin))
	}
	if err := c.Remote.Validate(); err != nil {
		return c, fmt.Errorf("tunnel config: remote: %w", err)
	}
	if c.Listen == "" {
		c.Listen = "127.0.0.1:0"
	}
	if err := c.checkListen(); err != nil {
		return c, err
	}
	if c.DialTimeout < 0 || c.KeepaliveInterval < 0 || c.KeepaliveCount < 0 || c.MinBackoff < 0 ||
		c.MaxBackoff < 0 || c.MaxConns < 0 || c.DrainTimeout < 0 || c.HoldAfter < 0 || c.HoldTime < 0 {
		return c, invalid("durations and counts", "must not be negative")
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.DialTimeout, DefaultDialTimeout)
	def(&c.KeepaliveInterval, DefaultKeepaliveInterval)
	def(&c.MinBackoff, DefaultMinBackoff)
	def(&c.MaxBackoff, DefaultMaxBackoff)
	def(&c.DrainTimeout, DefaultDrainTimeout)
	def(&c.HoldTime, DefaultHoldTime)
	if c.HoldAfter == 0 {
		c.HoldAfter = DefaultHoldAfter
	}
	if c.KeepaliveCount == 0 {
		c.KeepaliveCount = DefaultKeepaliveCount
	}
	if c.MaxConns == 0 {
		c.MaxConns = DefaultMaxConns
	}
	if c.MaxBackoff < c.MinBackoff {
		return c, invalid("max_backoff", fmt.Sprintf("%s is less than min_backoff %s", c.MaxBackoff, c.MinBackoff))
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if len(c.KnownHosts) == 0 && !c.InsecureIgnoreHostKey {
		home, err := os.UserHomeDir()
		if err != nil {
			return c, invalid("known_hosts", "no file given and no home directory to find ~/.ssh/known_hosts: "+err.Error())
		}
		c.KnownHosts = []string{filepath.Join(home, ".ssh", "known_hosts")}
	}
	return c, nil
}

// validateRelays checks a relay list: at least one relay, every hop a
// host or host:port, no relay twice.
func validateRelays(relays []Relay) error {
	if len(relays) == 0 {
		return invalid("relays", "at least one relay is required")
	}
	seen := map[string]int{}
	for i, r := range relays {
		hops := append([]Hop{r.Hop}, r.Jump...)
		for j, h := range hops {
			field := fmt.Sprintf("relays[%d]", i)
			if j > 0 {
				field = fmt.Sprintf("relays[%d].jump[%d]", i, j-1)
			}
			if err := h.validate(field); err != nil {
				return err
			}
		}
		if k, dup := seen[r.String()]; dup {
			return invalid(fmt.Sprintf("relays[%d]", i), fmt.Sprintf("%s is relays[%d] again", r, k))
		}
		seen[r.String()] = i
	}
	return nil
}

func (h Hop) validate(field string) error {
	if h.Host == "" {
		return invalid(field+".host", "is empty")
	}
	if strings.ContainsAny(h.Host, " \t/@") {
		return invalid(field+".host", fmt.Sprintf("%q is not a host name or host:port", h.Host))
	}
	if h.Port < 0 || h.Port > 65535 {
		return invalid(field+".port", fmt.Sprintf("%d is not 0 to 65535", h.Port))
	}
	if strings.ContainsAny(h.Host, "[]") {
		if _, _, err := net.SplitHostPort(h.Host); err != nil {
			return invalid(field+".host", fmt.Sprintf("%q is not host or [host]:port", h.Host))
		}
	}
	if _, p, err := net.SplitHostPort(h.Host); err == nil {
		if h.Port != 0 {
			return invalid(field+".port", "is set and host "+h.Host+" has a port too")
		}
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return invalid(field+".host", fmt.Sprintf("port %q is not 1 to 65535", p))
		}
	} else if strings.Count(h.Host, ":") == 1 {
		return invalid(field+".host", fmt.Sprintf("%q is not host or host:port", h.Host))
	}
	return nil
}

func (c Config) listenNetwork() (network, address string) {
	if p, ok := strings.CutPrefix(c.Listen, "unix:"); ok {
		return "unix", p
	}
	return "tcp", c.Listen
}

func (c Config) checkListen() error {
	network, addr := c.listenNetwork()
	if network == "unix" {
		if addr == "" || !filepath.IsAbs(addr) {
			return invalid("listen", fmt.Sprintf("unix socket path %q must be absolute", addr))
		}
		return nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return invalid("listen", fmt.Sprintf("%q is not host:port or unix:/path", c.Listen))
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return invalid("listen", fmt.Sprintf("port %q is not 0 to 65535", port))
	}
	if c.AllowRemoteClients {
		return nil
	}
	if host == "localhost" {
		return nil
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !ip.IsLoopback() {
		return invalid("listen", fmt.Sprintf("%q is not a loopback address: anyone who reaches it reaches the database; set AllowRemoteClients to mean it", c.Listen))
	}
	return nil
}

func splitHostPort(addr string) (host, port string, err error) { return net.SplitHostPort(addr) }
