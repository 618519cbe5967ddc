package exoscalesim

import (
	"net"
	"net/url"
	"strconv"
	"time"
)

// commonJSON is a service as /dbaas-service lists it.
type commonJSON struct {
	Name                  string    `json:"name"`
	Type                  string    `json:"type"`
	Plan                  string    `json:"plan"`
	State                 string    `json:"state"`
	Zone                  string    `json:"zone"`
	NodeCount             int64     `json:"node-count"`
	NodeCPUCount          int64     `json:"node-cpu-count"`
	NodeMemory            int64     `json:"node-memory"`
	DiskSize              int64     `json:"disk-size"`
	TerminationProtection bool      `json:"termination-protection"`
	CreatedAt             time.Time `json:"created-at"`
	UpdatedAt             time.Time `json:"updated-at"`
	Notifications         []any     `json:"notifications"`
	Integrations          []any     `json:"integrations"`
}

// serviceJSON is a service as GET /dbaas-postgres/{name} and
// /dbaas-mysql/{name} answer it. Passwords are not in it: the API hands
// them out through the password-reveal endpoint only.
type serviceJSON struct {
	commonJSON
	Version        string              `json:"version"`
	IPFilter       []string            `json:"ip-filter"`
	URI            string              `json:"uri"`
	URIParams      map[string]any      `json:"uri-params"`
	ConnectionInfo connectionInfoJSON  `json:"connection-info"`
	Components     []componentJSON     `json:"components"`
	Users          []userJSON          `json:"users"`
	Databases      []string            `json:"databases"`
	Backups        []backupJSON        `json:"backups"`
	BackupSchedule *backupScheduleJSON `json:"backup-schedule,omitempty"`
	NodeStates     []nodeStateJSON     `json:"node-states"`
	PrometheusURI  prometheusJSON      `json:"prometheus-uri"`
}

type connectionInfoJSON struct {
	URI    []string            `json:"uri"`
	Params []map[string]string `json:"params"`
}

type componentJSON struct {
	Component string `json:"component"`
	Host      string `json:"host"`
	Port      int    `json:"port"`
	Route     string `json:"route"`
	Usage     string `json:"usage"`
}

type userJSON struct {
	Username       string `json:"username"`
	Type           string `json:"type"`
	Authentication string `json:"authentication,omitempty"`
}

type backupJSON struct {
	BackupName string    `json:"backup-name"`
	BackupTime time.Time `json:"backup-time"`
	DataSize   int64     `json:"data-size"`
}

type backupScheduleJSON struct {
	BackupHour   int64 `json:"backup-hour"`
	BackupMinute int64 `json:"backup-minute"`
}

type nodeStateJSON struct {
	Name  string `json:"name"`
	State string `json:"state"`
	Role  string `json:"role"`
}

type prometheusJSON struct {
	Host string `json:"host"`
	Port int    `json:"port"`
}

func (svc *service) common(now time.Time) commonJSON {
	st, _ := findType(svc.Type)
	p, _ := st.plan(svc.Plan)
	return commonJSON{Name: svc.Name, Type: svc.Type, Plan: svc.Plan, State: svc.status(now), Zone: svc.Zone,
		NodeCount: p.NodeCount, NodeCPUCount: p.NodeCPUCount, NodeMemory: p.NodeMemory, DiskSize: p.DiskSpace,
		TerminationProtection: svc.protected, CreatedAt: svc.createdAt.UTC(), UpdatedAt: svc.updatedAt.UTC(),
		Notifications: []any{}, Integrations: []any{}}
}

func (svc *service) json(now time.Time) serviceJSON {
	c := svc.common(now)
	out := serviceJSON{commonJSON: c, Version: svc.Version, IPFilter: append([]string{}, svc.ipFilter...),
		Databases: append([]string{}, svc.databases...), Users: []userJSON{}, Backups: []backupJSON{},
		PrometheusURI: prometheusJSON{Host: "public-" + svc.Name + ".a.aivencloud.com", Port: 9273}}
	port := strconv.Itoa(svc.port)
	params := map[string]string{"host": svc.host, "port": port, "user": svc.adminUser, "dbname": svc.defaultDatabase}
	u := url.URL{User: url.User(svc.adminUser), Host: net.JoinHostPort(svc.host, port), Path: "/" + svc.defaultDatabase}
	q := url.Values{}
	component := "mysql"
	if svc.Type == "pg" {
		u.Scheme, component = "postgres", "pg"
		mode := "disable"
		if svc.tls {
			mode = "require"
		}
		params["sslmode"] = mode
		q.Set("sslmode", mode)
	} else {
		u.Scheme = "mysql"
		mode := "DISABLED"
		if svc.tls {
			mode = "REQUIRED"
		}
		params["ssl-mode"] = mode
		q.Set("ssl-mode", mode)
	}
	u.RawQuery = q.Encode()
	out.URI = u.String()
	out.URIParams = map[string]any{}
	for k, v := range params {
		out.URIParams[k] = v
	}
	out.ConnectionInfo = connectionInfoJSON{URI: []string{out.URI}, Params: []map[string]string{params}}
	out.Components = []componentJSON{{Component: component, Host: svc.host, Port: svc.port, Route: "dynamic", Usage: "primary"}}
	for _, us := range svc.users {
		uj := userJSON{Username: us.name, Type: us.kind}
		if svc.Type == "mysql" {
			uj.Authentication = us.authentication
		}
		out.Users = append(out.Users, uj)
	}
	for _, b := range svc.backups {
		out.Backups = append(out.Backups, backupJSON{BackupName: b.name, BackupTime: b.at.UTC(), DataSize: b.size})
	}
	if svc.backupHour >= 0 {
		out.BackupSchedule = &backupScheduleJSON{BackupHour: svc.backupHour, BackupMinute: svc.backupMinute}
	}
	state := "running"
	if c.State != "running" {
		state = "setting_up_vm"
	}
	for i := range c.NodeCount {
		role := "standby"
		if i == 0 {
			role = "master"
		}
		out.NodeStates = append(out.NodeStates, nodeStateJSON{Name: svc.Name + "-" + strconv.FormatInt(i+1, 10), State: state, Role: role})
	}
	return out
}
