package aws

import (
	"context"
	"errors"
	"strings"

	"github.com/aws/smithy-go"

	"github.com/agiledeploy/dbaaskit/dbaas"
)

// errorKinds maps RDS, EC2 and Secrets Manager error codes to the dbaas
// sentinels.
var errorKinds = map[string]error{
	"DBInstanceNotFound":         dbaas.ErrNotFound,
	"DBSnapshotNotFound":         dbaas.ErrNotFound,
	"DBSubnetGroupNotFoundFault": dbaas.ErrNotFound,
	"InvalidGroup.NotFound":      dbaas.ErrNotFound,
	"InvalidVpcID.NotFound":      dbaas.ErrNotFound,
	"ResourceNotFoundException":  dbaas.ErrNotFound,
	"DBParameterGroupNotFound":   dbaas.ErrNotFound,

	"DBInstanceAlreadyExists":     dbaas.ErrAlreadyExists,
	"DBSnapshotAlreadyExists":     dbaas.ErrAlreadyExists,
	"DBSubnetGroupAlreadyExists":  dbaas.ErrAlreadyExists,
	"InvalidGroup.Duplicate":      dbaas.ErrAlreadyExists,
	"InvalidPermission.Duplicate": dbaas.ErrAlreadyExists,

	"InvalidParameterValue":              dbaas.ErrInvalidArgument,
	"InvalidParameterCombination":        dbaas.ErrInvalidArgument,
	"MissingParameter":                   dbaas.ErrInvalidArgument,
	"ValidationError":                    dbaas.ErrInvalidArgument,
	"InvalidParameterException":          dbaas.ErrInvalidArgument,
	"InvalidRestoreFault":                dbaas.ErrInvalidArgument,
	"InvalidSubnet":                      dbaas.ErrInvalidArgument,
	"DBSubnetGroupDoesNotCoverEnoughAZs": dbaas.ErrInvalidArgument,
	"StorageTypeNotSupported":            dbaas.ErrInvalidArgument,
	"InvalidVPCNetworkStateFault":        dbaas.ErrInvalidArgument,

	"InvalidDBInstanceState":             dbaas.ErrConflict,
	"InvalidDBSnapshotState":             dbaas.ErrConflict,
	"DependencyViolation":                dbaas.ErrConflict,
	"PointInTimeRestoreNotEnabled":       dbaas.ErrConflict,
	"InstanceQuotaExceeded":              dbaas.ErrConflict,
	"SnapshotQuotaExceeded":              dbaas.ErrConflict,
	"StorageQuotaExceeded":               dbaas.ErrConflict,
	"RulesPerSecurityGroupLimitExceeded": dbaas.ErrConflict,
	"InsufficientDBInstanceCapacity":     dbaas.ErrConflict,

	"AccessDenied":                dbaas.ErrPermissionDenied,
	"AccessDeniedException":       dbaas.ErrPermissionDenied,
	"UnauthorizedOperation":       dbaas.ErrPermissionDenied,
	"AuthFailure":                 dbaas.ErrPermissionDenied,
	"InvalidClientTokenId":        dbaas.ErrPermissionDenied,
	"SignatureDoesNotMatch":       dbaas.ErrPermissionDenied,
	"MissingAuthenticationToken":  dbaas.ErrPermissionDenied,
	"ExpiredToken":                dbaas.ErrPermissionDenied,
	"UnrecognizedClientException": dbaas.ErrPermissionDenied,

	"Throttling":               dbaas.ErrRateLimited,
	"ThrottlingException":      dbaas.ErrRateLimited,
	"RequestLimitExceeded":     dbaas.ErrRateLimited,
	"TooManyRequestsException": dbaas.ErrRateLimited,
	"EC2ThrottledException":    dbaas.ErrRateLimited,
}

// paramFields maps RDS parameter names, as its messages quote them, to the
// Spec fields they come from.
var paramFields = []struct{ param, field string }{
	{"DBInstanceIdentifier", "name"},
	{"DBInstanceClass", "size"},
	{"AllocatedStorage", "storage_gb"},
	{"storage size", "storage_gb"},
	{"MasterUserPassword", "admin_password"},
	{"MasterUsername", "admin_user"},
	{"DBName", "database"},
	{"EngineVersion", "version"},
	{"version", "version"},
	{"BackupRetentionPeriod", "backup_retention_days"},
	{"AvailabilityZone", "region"},
	{"availability zone", "region"},
	{"DBSubnetGroupName", "subnet"},
	{"StorageType", "options[storage_type]"},
	{"storage type", "options[storage_type]"},
	{"Port", "port"},
	{"port", "port"},
	{"RestoreTime", "backup_id"},
	{"Restore time", "backup_id"},
	{"DB engine", "engine"},
	{"Engine", "engine"},
}

// fieldOf names the Spec field an invalid-parameter message is about.
func fieldOf(msg string) string {
	for _, pf := range paramFields {
		for off := 0; ; {
			i := strings.Index(msg[off:], pf.param)
			if i < 0 {
				break
			}
			start, end := off+i, off+i+len(pf.param)
			// Whole words only: "Port" must not match "Support".
			if (start == 0 || !isLetter(msg[start-1])) && (end == len(msg) || !isLetter(msg[end])) {
				return pf.field
			}
			off = end
		}
	}
	return ""
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// wrap turns an SDK error into a *dbaas.Error whose Kind is the matching
// sentinel and whose cause stays reachable with errors.As (smithy.APIError,
// the typed RDS faults).
func wrap(op, id string, err error) error {
	if err == nil {
		return nil
	}
	var de *dbaas.Error
	if errors.As(err, &de) {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return dbaas.NewError(op, id, nil, err)
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return dbaas.NewError(op, id, nil, err)
	}
	kind := errorKinds[ae.ErrorCode()]
	e := dbaas.NewError(op, id, kind, err)
	if kind == dbaas.ErrInvalidArgument {
		e.Field = fieldOf(ae.ErrorMessage())
	}
	return e
}

// code returns the API error code inside err, or "".
func code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}
