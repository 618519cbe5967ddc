package cli

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/fakeclock"
	"github.com/agiledeploy/dbaaskit/providers/memory"
)

// slowCLI is a cli whose backups and deletes take simulated time, shared
// by the provider and the tool's waits.
func slowCLI(t *testing.T, opts memory.Options) *cli {
	t.Helper()
	c := newCLI(t)
	clk := fakeclock.NewAuto(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))
	c.clock = clk
	opts.Clock = clk
	c.p = memory.New(opts)
	return c
}

func backupStatus(t *testing.T, c *cli, instanceID, backupID string) string {
	t.Helper()
	list, err := c.p.Backups(context.Background(), instanceID)
	require.NoError(t, err)
	for _, b := range list {
		if b.ID == backupID {
			return string(b.Status)
		}
	}
	t.Fatalf("backup %s is not listed", backupID)
	return ""
}

func TestBackupWaitPrintsTheIDOnceAvailable(t *testing.T) {
	for _, term := range []bool{false, true} {
		c := slowCLI(t, memory.Options{BackupDelay: 10 * time.Minute})
		c.terminal = term
		other := c.create("other")
		id := c.create("shop")

		// Without --wait the id comes back while the backup is made.
		r := c.run("backup", "other", "--name", "quick")
		require.Equal(t, exitOK, r.code, r.stderr)
		quick := strings.TrimSpace(r.stdout)
		assert.Contains(t, r.stderr, "backup quick of other: creating")
		assert.Equal(t, string(dbaas.BackupCreating), backupStatus(t, c, other, quick))

		start := c.clock.Now()
		r = c.run("backup", "shop", "--name", "nightly", "--wait", "--poll", "1m")
		require.Equal(t, exitOK, r.code, r.stderr)
		bid := strings.TrimSpace(r.stdout)
		require.NotEmpty(t, bid)
		assert.NotContains(t, bid, "\n", "the id alone")
		assert.Equal(t, string(dbaas.BackupAvailable), backupStatus(t, c, id, bid), "printed only once restorable")
		assert.GreaterOrEqual(t, c.clock.Now().Sub(start), 10*time.Minute)
		assert.Contains(t, r.stderr, "backup nightly of shop is available")
		if term {
			assert.Contains(t, r.stderr, "\r\033[Kwaiting for backup nightly: creating, ")
			assert.Regexp(t, `\r\033\[Kwaiting for backup nightly: available, 1\dm\d+s elapsed\r\033\[K`, r.stderr)
		} else {
			assert.NotContains(t, r.stderr, "\r", "no progress line when not a terminal")
		}
	}
}

func TestBackupWaitJSONIsTheAvailableBackup(t *testing.T) {
	c := slowCLI(t, memory.Options{BackupDelay: 5 * time.Minute})
	id := c.create("shop")
	var b dbaas.Backup
	require.NoError(t, json.Unmarshal([]byte(c.ok("backup", id, "--name", "nightly", "--wait", "-o", "json")), &b))
	assert.Equal(t, "nightly", b.Name)
	assert.Equal(t, id, b.InstanceID)
	assert.Equal(t, dbaas.BackupAvailable, b.Status)
}

func TestBackupWaitTimesOut(t *testing.T) {
	c := newCLI(t)
	c.p = memory.New(memory.Options{BackupDelay: time.Hour})
	c.create("shop")
	r := c.run("backup", "shop", "--name", "nightly", "--wait", "--poll", "10ms", "--timeout", "100ms")
	assert.Equal(t, exitTimeout, r.code, r.stderr)
	assert.Regexp(t, `wait backup \S+: timeout: still creating (after|when --timeout) 100ms`, r.stderr)
	assert.Empty(t, r.stdout, "no id for a backup that is not restorable")
}

func TestDeleteWaitReturnsOnceGone(t *testing.T) {
	for _, term := range []bool{false, true} {
		c := slowCLI(t, memory.Options{DeleteDelay: 5 * time.Minute})
		c.terminal = term
		c.create("early")
		id := c.create("shop")

		// Without --wait the instance is still there, deleting.
		r := c.run("delete", "early", "--yes", "--skip-final-backup")
		require.Equal(t, exitOK, r.code, r.stderr)
		assert.Equal(t, exitOK, c.run("get", "early").code, "still deleting")

		start := c.clock.Now()
		r = c.run("delete", "shop", "--yes", "--skip-final-backup", "--wait", "--poll", "30s")
		require.Equal(t, exitOK, r.code, r.stderr)
		assert.Empty(t, r.stdout)
		assert.GreaterOrEqual(t, c.clock.Now().Sub(start), 5*time.Minute)
		assert.Contains(t, r.stderr, "deleting shop ("+id+") without a final backup")
		assert.Contains(t, r.stderr, "shop ("+id+") is gone")
		if term {
			assert.Contains(t, r.stderr, "\r\033[Kwaiting for shop to go: deleting, ")
		}
		_, err := c.p.Get(context.Background(), id)
		assert.ErrorIs(t, err, dbaas.ErrNotFound)
		r = c.run("get", "shop")
		assert.Equal(t, exitNotFound, r.code, r.stderr)
	}
}

func TestDeleteWaitJSON(t *testing.T) {
	c := slowCLI(t, memory.Options{DeleteDelay: time.Minute})
	id := c.create("shop")
	r := c.run("delete", "shop", "--yes", "--final-backup-name", "shop-last", "--wait", "-o", "json")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.JSONEq(t, `{"id":"`+id+`","name":"shop","deleted":true,"final_backup":"shop-last","gone":true}`, r.stdout)
}

func TestDeleteWaitTimesOut(t *testing.T) {
	c := newCLI(t)
	c.p = memory.New(memory.Options{DeleteDelay: time.Hour})
	id := c.create("shop")
	r := c.run("delete", "shop", "--yes", "--skip-final-backup", "--wait", "--poll", "10ms", "--timeout", "100ms")
	assert.Equal(t, exitTimeout, r.code, r.stderr)
	assert.Regexp(t, `wait delete `+id+`: timeout: still deleting (after|when --timeout) 100ms`, r.stderr)
}
