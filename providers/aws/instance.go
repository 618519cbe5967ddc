package aws

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"

	"github.com/agiledeploy/dbaaskit/dbaas"
)

// Tags the adapter keeps for itself on instances; Instance.Tags leaves
// them out.
const (
	// tagCreateToken marks the Create call that made an instance, so that
	// a create the SDK retried after a lost answer is recognised as ours
	// and never reported as a conflict or made twice.
	tagCreateToken = "dbaaskit:create-token"
	// tagFinalSnapshot holds the final_snapshot_identifier option.
	tagFinalSnapshot = "dbaaskit:final-snapshot"
)

// statusMap maps every RDS DB instance status word to the normalized one.
// Words not listed (RDS adds some now and then) become unknown.
var statusMap = map[string]dbaas.Status{
	"available":                           dbaas.StatusAvailable,
	"backing-up":                          dbaas.StatusBackingUp,
	"creating":                            dbaas.StatusProvisioning,
	"starting":                            dbaas.StatusProvisioning,
	"configuring-enhanced-monitoring":     dbaas.StatusModifying,
	"configuring-iam-database-auth":       dbaas.StatusModifying,
	"configuring-log-exports":             dbaas.StatusModifying,
	"converting-to-vpc":                   dbaas.StatusModifying,
	"maintenance":                         dbaas.StatusModifying,
	"modifying":                           dbaas.StatusModifying,
	"moving-to-vpc":                       dbaas.StatusModifying,
	"rebooting":                           dbaas.StatusModifying,
	"renaming":                            dbaas.StatusModifying,
	"resetting-master-credentials":        dbaas.StatusModifying,
	"storage-config-upgrade":              dbaas.StatusModifying,
	"storage-initialization":              dbaas.StatusModifying,
	"storage-optimization":                dbaas.StatusModifying,
	"upgrading":                           dbaas.StatusModifying,
	"delete-precheck":                     dbaas.StatusDeleting,
	"deleting":                            dbaas.StatusDeleting,
	"stopped":                             dbaas.StatusStopped,
	"stopping":                            dbaas.StatusStopped,
	"failed":                              dbaas.StatusFailed,
	"inaccessible-encryption-credentials": dbaas.StatusFailed,
	"inaccessible-encryption-credentials-recoverable": dbaas.StatusFailed,
	"incompatible-network":                            dbaas.StatusFailed,
	"incompatible-option-group":                       dbaas.StatusFailed,
	"incompatible-parameters":                         dbaas.StatusFailed,
	"incompatible-restore":                            dbaas.StatusFailed,
	"insufficient-capacity":                           dbaas.StatusFailed,
	"restore-error":                                   dbaas.StatusFailed,
	// Full storage will not clear by waiting: a terminal status for Wait.
	"storage-full": dbaas.StatusFailed,
}

// normalizeStatus maps an RDS status word to the normalized status.
func normalizeStatus(raw string) dbaas.Status {
	if s, ok := statusMap[strings.ToLower(raw)]; ok {
		return s
	}
	return dbaas.StatusUnknown
}

func toInstance(d *types.DBInstance, region string) *dbaas.Instance {
	inst := &dbaas.Instance{
		ID:        aws.ToString(d.DBInstanceIdentifier),
		Name:      aws.ToString(d.DBInstanceIdentifier),
		Provider:  Name,
		Engine:    dbaas.Engine(aws.ToString(d.Engine)),
		Version:   aws.ToString(d.EngineVersion),
		RawStatus: aws.ToString(d.DBInstanceStatus),
		Region:    region,
		Size:      aws.ToString(d.DBInstanceClass),
		Nodes:     1,
		StorageGB: int(aws.ToInt32(d.AllocatedStorage)),
	}
	inst.Status = normalizeStatus(inst.RawStatus)
	if e, err := dbaas.ParseEngine(string(inst.Engine)); err == nil {
		inst.Engine = e
	}
	if az := aws.ToString(d.AvailabilityZone); az != "" {
		inst.Region = az
	}
	if aws.ToBool(d.MultiAZ) {
		inst.Nodes = 2
	}
	if d.Endpoint != nil {
		// Address is the host alone; RDS gives the port apart.
		inst.Endpoint = dbaas.Endpoint{Host: aws.ToString(d.Endpoint.Address), Port: int(aws.ToInt32(d.Endpoint.Port))}
	}
	if d.InstanceCreateTime != nil {
		inst.CreatedAt = d.InstanceCreateTime.UTC()
	}
	for _, t := range d.TagList {
		k := aws.ToString(t.Key)
		if strings.HasPrefix(k, "dbaaskit:") {
			continue
		}
		if inst.Tags == nil {
			inst.Tags = map[string]string{}
		}
		inst.Tags[k] = aws.ToString(t.Value)
	}
	return inst
}

func tagValue(tags []types.Tag, key string) (string, bool) {
	for _, t := range tags {
		if aws.ToString(t.Key) == key {
			return aws.ToString(t.Value), true
		}
	}
	return "", false
}

// describe returns the RDS instance id.
func (d *rdsDriver) describe(ctx context.Context, id string) (*types.DBInstance, error) {
	out, err := d.rds.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(id)})
	if isNotFound(err) {
		d.gone(ctx, id)
	}
	if err != nil {
		return nil, apiErr(err)
	}
	if len(out.DBInstances) == 0 {
		return nil, &dbaas.Error{Kind: dbaas.ErrNotFound, Err: errors.New("RDS describes no such DB instance")}
	}
	return &out.DBInstances[0], nil
}

// Get returns the instance, or ErrNotFound.
func (d *rdsDriver) Get(ctx context.Context, id string) (*dbaas.Instance, error) {
	db, err := d.describe(ctx, id)
	if err != nil {
		return nil, err
	}
	return toInstance(db, d.opts.Region), nil
}

// List returns every DB instance of the region, reading every page.
func (d *rdsDriver) List(ctx context.Context) ([]*dbaas.Instance, error) {
	var out []*dbaas.Instance
	pages := rds.NewDescribeDBInstancesPaginator(d.rds, &rds.DescribeDBInstancesInput{})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, apiErr(err)
		}
		for i := range page.DBInstances {
			out = append(out, toInstance(&page.DBInstances[i], d.opts.Region))
		}
	}
	d.mu.Lock()
	var gone []string
	for id := range d.pendingGroups {
		if !slices.ContainsFunc(out, func(i *dbaas.Instance) bool { return i.ID == id }) {
			gone = append(gone, id)
		}
	}
	d.mu.Unlock()
	for _, id := range gone {
		d.gone(ctx, id)
	}
	return out, nil
}
