package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/agiledeploy/dbaaskit/dbaas"
)

// emit writes v as JSON with --output json, and otherwise calls text,
// which writes plain values for scripts or a table for people.
func (a *app) emit(v any, text func(w io.Writer) error) error {
	if a.output == "json" {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	if text == nil {
		return nil
	}
	return text(a.stdout)
}

// emitLine writes v as JSON with --output json, and otherwise line alone
// on a line: the plain value a script reads with $(...).
func (a *app) emitLine(v, line any) error {
	return a.emit(v, func(w io.Writer) error {
		_, err := fmt.Fprintln(w, line)
		return err
	})
}

// lines writes each of ss on its own line after prefix.
func lines(w io.Writer, prefix string, ss []string) {
	for _, s := range ss {
		fmt.Fprintln(w, prefix+s)
	}
}

// table writes rows aligned in columns under a header.
func table(w io.Writer, header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// fields writes key/value pairs aligned, one per line, skipping empty
// values.
func fields(w io.Writer, kv [][2]string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, p := range kv {
		if p[1] != "" {
			fmt.Fprintf(tw, "%s:\t%s\n", p[0], p[1])
		}
	}
	return tw.Flush()
}

func endpointText(e dbaas.Endpoint) string {
	if e.IsZero() {
		return ""
	}
	return e.Address()
}

func timeText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func intText(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func instanceFields(inst *dbaas.Instance) [][2]string {
	status := string(inst.Status)
	if inst.RawStatus != "" && inst.RawStatus != status {
		status += " (" + inst.RawStatus + ")"
	}
	kv := [][2]string{
		{"id", inst.ID}, {"name", inst.Name}, {"provider", inst.Provider},
		{"engine", strings.TrimSpace(string(inst.Engine) + " " + inst.Version)},
		{"status", status}, {"endpoint", endpointText(inst.Endpoint)},
		{"private endpoint", endpointText(inst.PrivateEndpoint)},
		{"region", inst.Region}, {"size", inst.Size}, {"nodes", intText(inst.Nodes)},
		{"storage", gbText(inst.StorageGB)}, {"created", timeText(inst.CreatedAt)},
	}
	for _, k := range sortedKeys(inst.Tags) {
		kv = append(kv, [2]string{"tag " + k, dash(inst.Tags[k])})
	}
	return kv
}

func gbText(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n) + " GB"
}

func instanceRows(list []*dbaas.Instance) [][]string {
	rows := make([][]string, 0, len(list))
	for _, inst := range list {
		rows = append(rows, []string{inst.ID, inst.Name, dash(strings.TrimSpace(string(inst.Engine) + " " + inst.Version)),
			string(inst.Status), dash(endpointText(inst.Endpoint)), dash(inst.Region), dash(inst.Size)})
	}
	return rows
}

var instanceHeader = []string{"ID", "NAME", "ENGINE", "STATUS", "ENDPOINT", "REGION", "SIZE"}

func backupRows(list []*dbaas.Backup) [][]string {
	rows := make([][]string, 0, len(list))
	for _, b := range list {
		created := timeText(b.CreatedAt)
		if b.Kind == dbaas.BackupPointInTime {
			created = timeText(b.EarliestRestore) + ".." + timeText(b.LatestRestore)
		}
		rows = append(rows, []string{b.ID, dash(b.Name), string(b.Kind), dash(string(b.Status)), dash(created), dash(sizeText(b.SizeBytes))})
	}
	return rows
}

var backupHeader = []string{"ID", "NAME", "KIND", "STATUS", "CREATED", "SIZE"}

func sizeText(n int64) string {
	switch {
	case n == 0:
		return ""
	case n < 1<<20:
		return strconv.FormatInt(n, 10) + " B"
	case n < 1<<30:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
}

func sourceStrings(ss []dbaas.Source) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.String()
	}
	return out
}
