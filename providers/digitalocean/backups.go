package digitalocean

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/agiledeploy/dbaaskit/dbaas"
)

// Backup is never called (capabilities.OnDemandBackup is false):
// DigitalOcean takes daily backups on its own and offers no on-demand
// backup.
func (p *client) Backup(context.Context, string, string) (*dbaas.Backup, error) {
	return nil, dbaas.ErrUnsupported
}

// Backups lists the daily backups of a cluster, oldest first. A backup's
// ID is "<cluster id>/<creation time, RFC 3339>", which Restore takes.
func (p *client) Backups(ctx context.Context, id string) ([]*dbaas.Backup, error) {
	if err := checkID(id); err != nil {
		return nil, err
	}
	db, _, err := p.godo.Databases.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	list, _, err := p.godo.Databases.ListBackups(ctx, id, nil)
	if err != nil {
		return nil, err
	}
	out := make([]*dbaas.Backup, 0, len(list))
	for _, b := range list {
		out = append(out, &dbaas.Backup{
			ID:         backupID(id, b.CreatedAt),
			InstanceID: id,
			Kind:       dbaas.BackupAutomated,
			Status:     dbaas.BackupAvailable,
			CreatedAt:  b.CreatedAt,
			SizeBytes:  int64(b.SizeGigabytes * 1e9),
			Engine:     engineOf(db.EngineSlug),
		})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	return out, nil
}

func backupID(clusterID string, at time.Time) string {
	return clusterID + "/" + at.UTC().Format(time.RFC3339)
}

func parseBackupID(id string) (string, time.Time, error) {
	cluster, at, ok := strings.Cut(id, "/")
	if ok && checkID(cluster) == nil {
		if t, err := time.Parse(time.RFC3339, at); err == nil {
			return cluster, t, nil
		}
	}
	return "", time.Time{}, dbaas.InvalidField("backup_id", fmt.Sprintf("%q is not a DigitalOcean backup id (cluster-id/RFC3339-time, from Backups)", truncate(id, 80)))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
