package dbaas

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Endpoint is where a database listens. Host is a name or an IP address and
// never holds a port; Port is separate.
type Endpoint struct {
	Host string `json:"host"`
	Port int    `json:"port"`
}

// IsZero reports whether the endpoint is unset.
func (e Endpoint) IsZero() bool { return e.Host == "" && e.Port == 0 }

// Address joins host and port for net.Dial ("db.example.com:5432",
// "[2001:db8::1]:5432").
func (e Endpoint) Address() string { return net.JoinHostPort(e.Host, strconv.Itoa(e.Port)) }

// String is Address.
func (e Endpoint) String() string { return e.Address() }

// Validate checks that Host holds no port (the toolkit once had users strip
// ":port" by hand) and that Port is in range.
func (e Endpoint) Validate() error {
	if e.Host == "" {
		return InvalidField("endpoint.host", "is empty")
	}
	if strings.Contains(e.Host, ":") {
		if _, err := netip.ParseAddr(e.Host); err != nil {
			return InvalidField("endpoint.host", fmt.Sprintf("%q must not hold a port", truncate(e.Host, 64)))
		}
	}
	if strings.ContainsAny(e.Host, "/[] \t") {
		return InvalidField("endpoint.host", fmt.Sprintf("%q is not a host name or address", truncate(e.Host, 64)))
	}
	if e.Port < 1 || e.Port > 65535 {
		return InvalidField("endpoint.port", fmt.Sprintf("%d is not 1 to 65535", e.Port))
	}
	return nil
}

// SplitEndpoint parses "host:port" (or "[v6]:port") into an Endpoint, for
// clouds and configurations that give the two together.
func SplitEndpoint(hostport string) (Endpoint, error) {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return Endpoint{}, fmt.Errorf("endpoint %q: want host:port: %w", truncate(hostport, 64), ErrInvalidArgument)
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return Endpoint{}, fmt.Errorf("endpoint %q: port is not a number: %w", truncate(hostport, 64), ErrInvalidArgument)
	}
	e := Endpoint{Host: host, Port: p}
	return e, e.Validate()
}

// Instance is a database instance (a cluster, on clouds that call it so).
type Instance struct {
	// ID is the provider's identifier, used in every other call.
	ID string `json:"id"`
	// Name is the name it was created with (Spec.Name).
	Name string `json:"name"`
	// Provider is the registered name of the provider that manages it.
	Provider string `json:"provider"`
	Engine   Engine `json:"engine"`
	Version  string `json:"version,omitempty"`
	Status   Status `json:"status"`
	// RawStatus is the cloud's own word for the status.
	RawStatus string `json:"raw_status,omitempty"`
	// Endpoint is the public (or only) endpoint; zero until the cloud has
	// assigned one.
	Endpoint Endpoint `json:"endpoint"`
	// PrivateEndpoint is the endpoint inside the private network, when the
	// cloud gives one apart.
	PrivateEndpoint Endpoint          `json:"private_endpoint,omitzero"`
	Region          string            `json:"region,omitempty"`
	Size            string            `json:"size,omitempty"`
	Nodes           int               `json:"nodes,omitempty"`
	StorageGB       int               `json:"storage_gb,omitempty"`
	CreatedAt       time.Time         `json:"created_at,omitzero"`
	Tags            map[string]string `json:"tags,omitempty"`
}

// Clone returns a deep copy.
func (i *Instance) Clone() *Instance {
	if i == nil {
		return nil
	}
	c := *i
	if i.Tags != nil {
		c.Tags = make(map[string]string, len(i.Tags))
		for k, v := range i.Tags {
			c.Tags[k] = v
		}
	}
	return &c
}

// BackupKind says how a backup came to be.
type BackupKind string

// The kinds of backup.
const (
	// BackupManual was taken on demand (Provider.Backup).
	BackupManual BackupKind = "manual"
	// BackupAutomated was taken by the cloud's schedule.
	BackupAutomated BackupKind = "automated"
	// BackupFinal was taken when the instance was deleted.
	BackupFinal BackupKind = "final"
	// BackupPointInTime is a window inside which any moment can be
	// restored; restore it with a reference made by PointInTime.
	BackupPointInTime BackupKind = "point-in-time"
)

// Backup is a native backup (snapshot) of an instance, or a window of
// restorable time.
type Backup struct {
	// ID is what Restore takes.
	ID string `json:"id"`
	// InstanceID is the instance it was taken from.
	InstanceID string     `json:"instance_id"`
	Name       string     `json:"name,omitempty"`
	Kind       BackupKind `json:"kind"`
	// Status is the normalized status; BackupAvailable once it can be
	// restored.
	Status BackupStatus `json:"status"`
	// RawStatus is the cloud's own word for the status.
	RawStatus string    `json:"raw_status,omitempty"`
	CreatedAt time.Time `json:"created_at,omitzero"`
	SizeBytes int64     `json:"size_bytes,omitempty"`
	Engine    Engine    `json:"engine,omitempty"`
	// EarliestRestore and LatestRestore bound a point-in-time window.
	EarliestRestore time.Time `json:"earliest_restore,omitzero"`
	LatestRestore   time.Time `json:"latest_restore,omitzero"`
}

// DeleteOptions controls Delete.
type DeleteOptions struct {
	// SkipFinalBackup deletes without a final backup. Without it, a
	// provider that can take a final backup (Capabilities.FinalBackup)
	// takes one, and a provider that cannot refuses with ErrUnsupported:
	// nothing is lost silently.
	SkipFinalBackup bool
	// FinalBackupName names the final backup; empty means "<name>-final-<time>".
	FinalBackupName string
}
