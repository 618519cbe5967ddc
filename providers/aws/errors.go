package aws

import (
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
	{"RestoreTime", "from.time"},
	{"Restore time", "from.time"},
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

// ErrorKind maps the RDS, EC2 or Secrets Manager error code inside err
// to its sentinel; the SDK's error stays reachable with errors.As
// (smithy.APIError, the typed RDS faults).
func (d *rdsDriver) ErrorKind(err error) error { return errorKinds[code(err)] }

// apiErr is an SDK error as the driver returns it: as it is, or, for an
// invalid parameter whose message names a Spec field, with that field.
func apiErr(err error) error {
	var ae smithy.APIError
	if !errors.As(err, &ae) || errorKinds[ae.ErrorCode()] != dbaas.ErrInvalidArgument {
		return err
	}
	if f := fieldOf(ae.ErrorMessage()); f != "" {
		return &dbaas.Error{Kind: dbaas.ErrInvalidArgument, Field: f, Err: err}
	}
	return err
}

// isNotFound reports whether err says the resource does not exist.
func isNotFound(err error) bool {
	return errors.Is(err, dbaas.ErrNotFound) || errorKinds[code(err)] == dbaas.ErrNotFound
}

// code returns the API error code inside err, or "".
func code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}
