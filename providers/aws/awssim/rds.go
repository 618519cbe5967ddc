package awssim

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/simdb"
)

// accountID is the account the simulator's ARNs name.
const accountID = "123456789012"

type tag struct{ Key, Value string }

// step is a pending change of the life cycle, applied once the clock
// reaches at.
type step struct {
	at     time.Time
	status string // the instance's next status; "" means gone
}

type instance struct {
	ID, Class, Engine, Version, User, DBName string
	AZ, SubnetGroup, StorageType, ResourceID string
	Storage, Port, Retention                 int
	Public, Encrypted, DeletionProtection    bool
	CopyTags                                 bool
	Tags                                     []tag
	SecurityGroups                           []string
	Status                                   string
	Created                                  time.Time
	steps                                    []step
	secretARN                                string
	password                                 string
	db                                       *simdb.Database
}

type snapshot struct {
	ID, InstanceID, Type, Engine, Version, User string
	AZ, StorageType, VpcID, ResourceID          string
	Port, Storage                               int
	Encrypted                                   bool
	Created, InstanceCreated, readyAt           time.Time
	Tags                                        []tag
	password, secretARN                         string
	// dataKey names the backend's copy of the instance's data
	// (simdb.Snapshotter), unique per snapshot so that a deleted id
	// reused at once never meets the copy still being dropped; empty
	// when no data was copied (automated backups, taken before anyone
	// could write, restore as an empty database).
	dataKey string
	copying bool // until the data is copied, whatever the clock says
	failed  bool
}

func (s *snapshot) status(now time.Time) string {
	if s.failed {
		return "failed"
	}
	if s.copying || now.Before(s.readyAt) {
		return "creating"
	}
	return "available"
}

func (s *Server) arn(kind, id string) string {
	return "arn:aws:rds:" + s.opts.Region + ":" + accountID + ":" + kind + ":" + id
}

// advanceLocked applies every life-cycle step that is due and returns the
// ids of instances that are gone, whose databases must be detached.
func (s *Server) advanceLocked(now time.Time) []string {
	var gone []string
	for _, id := range slices.Clone(s.order) {
		inst := s.instances[id]
		for len(inst.steps) > 0 && !now.Before(inst.steps[0].at) {
			st := inst.steps[0]
			inst.steps = inst.steps[1:]
			if st.status == "" {
				s.removeInstanceLocked(inst)
				if inst.db != nil {
					gone = append(gone, inst.ID)
				}
				break
			}
			inst.Status = st.status
		}
	}
	return gone
}

func (s *Server) removeInstanceLocked(inst *instance) {
	delete(s.instances, inst.ID)
	s.order = slices.DeleteFunc(s.order, func(id string) bool { return id == inst.ID })
	// Automated backups go with the instance (DeleteAutomatedBackups
	// defaults to true); manual and final snapshots stay.
	for _, sid := range slices.Clone(s.snapOrder) {
		if sn := s.snapshots[sid]; sn.InstanceID == inst.ID && sn.Type == "automated" {
			delete(s.snapshots, sid)
			s.snapOrder = slices.DeleteFunc(s.snapOrder, func(x string) bool { return x == sid })
		}
	}
	if inst.secretARN != "" {
		delete(s.secrets, inst.secretARN)
	}
}

// detach releases the databases of gone instances in the background, so
// that a request never waits on a backend.
func (s *Server) detach(ids []string) {
	if s.opts.Backend == nil || len(ids) == 0 {
		return
	}
	for _, id := range ids {
		s.bgWG.Add(1)
		go func() {
			defer s.bgWG.Done()
			// A final snapshot may still be copying the data.
			s.waitData(id)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_ = s.opts.Backend.Detach(ctx, id)
		}()
	}
}

func (s *Server) rds(ctx context.Context, req *request) ([]byte, error) {
	if v := req.get("Version"); v != rdsVersion {
		return nil, &apiError{status: http.StatusBadRequest, code: "InvalidAction", msg: "unsupported API version " + strconv.Quote(v)}
	}
	var (
		result any
		err    error
	)
	switch req.action {
	case "CreateDBInstance":
		result, err = s.createDBInstance(ctx, req)
	case "DescribeDBInstances":
		result, err = s.describeDBInstances(req)
	case "DeleteDBInstance":
		result, err = s.deleteDBInstance(ctx, req)
	case "CreateDBSnapshot":
		result, err = s.createDBSnapshot(ctx, req)
	case "DescribeDBSnapshots":
		result, err = s.describeDBSnapshots(req)
	case "DeleteDBSnapshot":
		result, err = s.deleteDBSnapshot(req)
	case "RestoreDBInstanceFromDBSnapshot":
		result, err = s.restoreFromSnapshot(ctx, req)
	case "RestoreDBInstanceToPointInTime":
		result, err = s.restoreToPointInTime(ctx, req)
	case "AddTagsToResource":
		result, err = s.addTagsToResource(req)
	case "CreateDBSubnetGroup":
		result, err = s.createDBSubnetGroup(req)
	case "DescribeDBSubnetGroups":
		result, err = s.describeDBSubnetGroups(req)
	default:
		return nil, &apiError{status: http.StatusBadRequest, code: "InvalidAction", msg: "The action " + req.action + " is not valid for this web service."}
	}
	if err != nil {
		return nil, err
	}
	return rdsResponse(req.action, req.id, result), nil
}

func instanceNotFound(id string) *apiError {
	return &apiError{status: http.StatusNotFound, code: "DBInstanceNotFound", msg: "DBInstance " + id + " not found."}
}

func snapshotNotFound(id string) *apiError {
	return &apiError{status: http.StatusNotFound, code: "DBSnapshotNotFound", msg: "DBSnapshot " + id + " not found."}
}

func snapshotExists(id string) *apiError {
	return &apiError{status: http.StatusBadRequest, code: "DBSnapshotAlreadyExists", msg: "Cannot create the snapshot because a snapshot with the identifier " + id + " already exists."}
}

func instanceExists() *apiError {
	return &apiError{status: http.StatusBadRequest, code: "DBInstanceAlreadyExists", msg: "DB instance already exists"}
}

func invalidState(msg string) *apiError {
	return &apiError{status: http.StatusBadRequest, code: "InvalidDBInstanceState", msg: msg}
}

func parseBool(req *request, name string) (bool, bool, error) {
	if !req.has(name) {
		return false, false, nil
	}
	switch req.get(name) {
	case "true":
		return true, true, nil
	case "false":
		return false, true, nil
	}
	return false, true, invalidParam("Invalid value for " + name + ": " + req.get(name))
}

func parseInt(req *request, name string) (int, bool, error) {
	if !req.has(name) {
		return 0, false, nil
	}
	n, err := strconv.Atoi(req.get(name))
	if err != nil {
		return 0, true, invalidParam("Invalid value for " + name + ": not an integer")
	}
	return n, true, nil
}

func parseTags(req *request) ([]tag, error) {
	var tags []tag
	for i := 1; ; i++ {
		k, ok := req.form["Tags.Tag."+strconv.Itoa(i)+".Key"]
		if !ok {
			break
		}
		if k == "" || len(k) > 128 || strings.HasPrefix(strings.ToLower(k), "aws:") {
			return nil, invalidParam("Invalid tag key " + strconv.Quote(k))
		}
		v := req.form["Tags.Tag."+strconv.Itoa(i)+".Value"]
		if len(v) > 256 {
			return nil, invalidParam("Invalid tag value for key " + strconv.Quote(k))
		}
		tags = append(tags, tag{Key: k, Value: v})
	}
	if len(tags) > 50 {
		return nil, invalidParam("Too many tags: at most 50")
	}
	return tags, nil
}

// instanceSettings are the parameters CreateDBInstance and the restores
// share.
type instanceSettings struct {
	class, az, subnetGroup, storageType string
	port                                int
	public, protect, copyTags           bool
	groups                              []string
	tags                                []tag
}

func (s *Server) parseSettings(req *request, engine string, defaultPort int) (instanceSettings, error) {
	set := instanceSettings{
		class:       req.get("DBInstanceClass"),
		az:          req.get("AvailabilityZone"),
		subnetGroup: req.get("DBSubnetGroupName"),
		storageType: req.get("StorageType"),
	}
	var err error
	if set.class != "" || req.action == "CreateDBInstance" {
		if err := validClass(set.class, engine); err != nil {
			return set, err
		}
	}
	port, ok, err := parseInt(req, "Port")
	if err != nil {
		return set, err
	}
	if !ok {
		port = defaultPort
	}
	if port < 1150 || port > 65535 {
		return set, invalidParam("Invalid port " + strconv.Itoa(port) + ": it must be 1150 to 65535")
	}
	set.port = port
	if set.az != "" && !strings.HasPrefix(set.az, s.opts.Region) {
		return set, invalidParam("Invalid availability zone " + set.az + " for region " + s.opts.Region)
	}
	if set.storageType == "" {
		set.storageType = "gp2"
	}
	if !slices.Contains([]string{"gp2", "gp3", "io1", "io2", "standard"}, set.storageType) {
		return set, invalidParam("Invalid storage type: " + set.storageType)
	}
	if set.public, _, err = parseBool(req, "PubliclyAccessible"); err != nil {
		return set, err
	}
	if set.protect, _, err = parseBool(req, "DeletionProtection"); err != nil {
		return set, err
	}
	if set.copyTags, _, err = parseBool(req, "CopyTagsToSnapshot"); err != nil {
		return set, err
	}
	if set.tags, err = parseTags(req); err != nil {
		return set, err
	}
	set.groups = req.list("VpcSecurityGroupIds.VpcSecurityGroupId")
	return set, nil
}

// checkRefsLocked checks that the subnet group and security groups exist.
func (s *Server) checkRefsLocked(set *instanceSettings) error {
	if set.subnetGroup != "" {
		if _, ok := s.subnetGrps[strings.ToLower(set.subnetGroup)]; !ok {
			return &apiError{status: http.StatusNotFound, code: "DBSubnetGroupNotFoundFault", msg: "DBSubnetGroup '" + set.subnetGroup + "' not found."}
		}
	}
	for _, g := range set.groups {
		if _, ok := s.groups[g]; !ok {
			return invalidParam("Invalid security group , groupId= " + g + " , groupName=.")
		}
	}
	if len(set.groups) == 0 {
		set.groups = []string{defaultGroupID}
	}
	return nil
}

func (s *Server) createDBInstance(ctx context.Context, req *request) (any, error) {
	id := strings.ToLower(req.get("DBInstanceIdentifier"))
	if id == "" {
		return nil, missingParam("DBInstanceIdentifier")
	}
	if err := validIdentifier("DBInstanceIdentifier", id, 63); err != nil {
		return nil, err
	}
	engine := req.get("Engine")
	if engine == "" {
		return nil, missingParam("Engine")
	}
	if _, ok := engineDefaults[engine]; !ok {
		return nil, invalidParam("Invalid DB engine: " + engine)
	}
	version, err := validVersion(engine, req.get("EngineVersion"))
	if err != nil {
		return nil, err
	}
	set, err := s.parseSettings(req, engine, engineDefaults[engine].port)
	if err != nil {
		return nil, err
	}
	storage, ok, err := parseInt(req, "AllocatedStorage")
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, missingParam("AllocatedStorage")
	}
	if storage < 20 || storage > 65536 {
		return nil, invalidParam(fmt.Sprintf("Invalid storage size for engine name %s and storage type %s: %d", engine, set.storageType, storage))
	}
	user := req.get("MasterUsername")
	if user == "" {
		return nil, missingParam("MasterUsername")
	}
	if err := validUser(engine, user); err != nil {
		return nil, err
	}
	managed, _, err := parseBool(req, "ManageMasterUserPassword")
	if err != nil {
		return nil, err
	}
	password := req.get("MasterUserPassword")
	switch {
	case managed && password != "":
		return nil, invalidCombination("You can't specify MasterUserPassword and ManageMasterUserPassword at the same time.")
	case !managed && password == "":
		return nil, missingParam("MasterUserPassword")
	case password != "":
		if err := validPassword(engine, password); err != nil {
			return nil, err
		}
	}
	dbName := req.get("DBName")
	if dbName != "" {
		if err := validDBName(engine, dbName); err != nil {
			return nil, err
		}
	}
	retention, ok, err := parseInt(req, "BackupRetentionPeriod")
	if err != nil {
		return nil, err
	}
	if !ok {
		retention = 1
	}
	if retention < 0 || retention > 35 {
		return nil, invalidParam("Invalid backup retention period " + strconv.Itoa(retention) + ": it must be 0 to 35")
	}
	encrypted, _, err := parseBool(req, "StorageEncrypted")
	if err != nil {
		return nil, err
	}

	s.mu.Lock()
	now := s.clock.Now()
	gone := s.advanceLocked(now)
	defer s.detach(gone)
	if managed {
		// RDS generates the password it manages.
		password = randomHex(24)
	}
	inst := &instance{
		ID: id, Engine: engine, Version: version, User: user, DBName: dbName,
		Storage: storage, Retention: retention, Encrypted: encrypted, password: password,
	}
	if err := s.addInstanceLocked(inst, set, managed, now); err != nil {
		s.mu.Unlock()
		return nil, err
	}
	out := s.instanceXML(inst, now)
	s.mu.Unlock()
	s.attach(ctx, inst.ID, engine, version)
	return struct {
		DBInstance dbInstanceXML
	}{out}, nil
}

// scheduleCreateLocked plans creating → backing-up (the first automated
// backup) → available.
func (s *Server) scheduleCreateLocked(inst *instance, now time.Time) {
	t := now.Add(s.opts.ProvisionDelay)
	if inst.Retention > 0 {
		inst.steps = append(inst.steps, step{at: t, status: "backing-up"})
		sn := &snapshot{
			ID: "rds:" + inst.ID + "-" + t.UTC().Format("2006-01-02-15-04"), InstanceID: inst.ID, Type: "automated",
			Created: t, readyAt: t.Add(s.opts.BackupDelay),
		}
		s.fillSnapshotLocked(sn, inst)
		s.addSnapshotLocked(sn)
		t = t.Add(s.opts.BackupDelay)
	}
	inst.steps = append(inst.steps, step{at: t, status: "available"})
}

func (s *Server) fillSnapshotLocked(sn *snapshot, inst *instance) {
	sn.Engine, sn.Version, sn.User, sn.AZ, sn.StorageType = inst.Engine, inst.Version, inst.User, inst.AZ, inst.StorageType
	sn.Port, sn.Storage, sn.Encrypted, sn.InstanceCreated = inst.Port, inst.Storage, inst.Encrypted, inst.Created
	sn.password, sn.secretARN, sn.ResourceID, sn.VpcID = inst.password, inst.secretARN, inst.ResourceID, DefaultVPC
	if inst.CopyTags {
		sn.Tags = slices.Clone(inst.Tags)
	}
}

// manualSnapshotLocked records the manual snapshot sid of inst, ready
// after BackupDelay, with tags when given (else what the instance copies
// to its snapshots), and returns the copy of its data, if any, which the
// caller runs outside the lock. The caller has checked that sid is free
// and inst available.
func (s *Server) manualSnapshotLocked(sid string, inst *instance, tags []tag, now time.Time) (*snapshot, *copyJob) {
	sn := &snapshot{ID: sid, InstanceID: inst.ID, Type: "manual", Created: now, readyAt: now.Add(s.opts.BackupDelay)}
	s.fillSnapshotLocked(sn, inst)
	if len(tags) > 0 {
		sn.Tags = tags
	}
	s.addSnapshotLocked(sn)
	return sn, s.reserveCopyLocked(inst, sn)
}

func (s *Server) addSnapshotLocked(sn *snapshot) {
	if _, ok := s.snapshots[sn.ID]; ok {
		sn.ID += "-" + randomHex(4)
	}
	s.snapshots[sn.ID] = sn
	s.snapOrder = append(s.snapOrder, sn.ID)
}

// attach puts a backend database behind the instance. It runs in the
// request (the instance is still "creating", so nobody can use the
// endpoint yet); a failure marks the instance failed, as a real
// provisioning failure would.
func (s *Server) attach(ctx context.Context, id, engine, version string) {
	s.attachFrom(ctx, id, engine, version, "")
}

// attachFrom attaches a database holding the data copied as dataKey, or
// an empty one when dataKey is empty.
func (s *Server) attachFrom(ctx context.Context, id, engine, version, dataKey string) {
	if s.opts.Backend == nil {
		return
	}
	e, err := dbaas.ParseEngine(engine)
	var db *simdb.Database
	if err == nil {
		if snap, ok := s.opts.Backend.(simdb.Snapshotter); ok && dataKey != "" {
			db, err = snap.Restore(ctx, dataKey, id, e, version)
		} else {
			db, err = simdb.Attach(ctx, s.opts.Backend, id, e, version, s.account(id))
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	inst, ok := s.instances[id]
	if !ok {
		if err == nil {
			s.detach([]string{id})
		}
		return
	}
	if err != nil {
		inst.Status, inst.steps = "failed", nil
		return
	}
	inst.db = db
	if _, kept := s.opts.Backend.(simdb.AccountAttacher); kept && dataKey == "" {
		// The server was made with the master user, password and
		// database the instance was created with, as RDS's is.
		return
	}
	inst.User, inst.password, inst.DBName = db.User, db.Password.Reveal(), db.Database
	if inst.secretARN != "" {
		s.secrets[inst.secretARN].set(db.User, db.Password.Reveal())
	}
}

// account is the master user, password and database instance id was
// created with, for the server behind it.
func (s *Server) account(id string) simdb.Account {
	s.mu.Lock()
	defer s.mu.Unlock()
	inst, ok := s.instances[id]
	if !ok {
		return simdb.Account{}
	}
	acct := simdb.Account{User: inst.User, Password: dbaas.NewSecret(inst.password), Database: inst.DBName}
	if inst.Port != engineDefaults[inst.Engine].port {
		// A port the caller chose is the backing server's too, so the
		// endpoint reported is the one asked for. The engine's default
		// is usually held by the machine's own server: the backend
		// picks a port then, and the endpoint says which.
		acct.Port = inst.Port
	}
	return acct
}

func (s *Server) describeDBInstances(req *request) (any, error) {
	id := strings.ToLower(req.get("DBInstanceIdentifier"))
	max, err := parseMaxRecords(req)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	defer s.detach(s.advanceLocked(now))
	if id != "" {
		inst, ok := s.instances[id]
		if !ok {
			return nil, instanceNotFound(id)
		}
		return describeInstancesResult{DBInstances: []dbInstanceXML{s.instanceXML(inst, now)}}, nil
	}
	start, end, next, err := page(req, len(s.order), max)
	if err != nil {
		return nil, err
	}
	out := describeInstancesResult{Marker: next}
	for _, iid := range s.order[start:end] {
		out.DBInstances = append(out.DBInstances, s.instanceXML(s.instances[iid], now))
	}
	return out, nil
}

// parseMaxRecords reads the page size of a Describe call: 100 when absent,
// and RDS rejects anything outside 20 to 100.
func parseMaxRecords(req *request) (int, error) {
	max, ok, err := parseInt(req, "MaxRecords")
	if err != nil {
		return 0, err
	}
	if !ok {
		return 100, nil
	}
	if max < 20 || max > 100 {
		return 0, invalidParam("Invalid value for MaxRecords: must be 20 to 100")
	}
	return max, nil
}

// page picks the items [start, end) of n listed ones that a Describe call
// returns from its Marker, and the Marker of the next page ("" on the last).
func page(req *request, n, max int) (start, end int, next string, err error) {
	start, err = parseMarker(req.get("Marker"), n)
	if err != nil {
		return 0, 0, "", err
	}
	end = min(start+max, n)
	if end < n {
		next = strconv.Itoa(end)
	}
	return start, end, next, nil
}

func parseMarker(m string, n int) (int, error) {
	if m == "" {
		return 0, nil
	}
	i, err := strconv.Atoi(m)
	if err != nil || i < 0 || i > n {
		return 0, invalidParam("Invalid Marker")
	}
	return i, nil
}

func (s *Server) deleteDBInstance(ctx context.Context, req *request) (any, error) {
	result, job, err := s.deleteDBInstanceLocked(req)
	s.copyData(ctx, job)
	return result, err
}

// deleteDBInstanceLocked starts the deletion and returns the copy of the
// final snapshot's data, if any, which the caller runs outside the lock.
func (s *Server) deleteDBInstanceLocked(req *request) (any, *copyJob, error) {
	id := strings.ToLower(req.get("DBInstanceIdentifier"))
	if id == "" {
		return nil, nil, missingParam("DBInstanceIdentifier")
	}
	skip, _, err := parseBool(req, "SkipFinalSnapshot")
	if err != nil {
		return nil, nil, err
	}
	final := req.get("FinalDBSnapshotIdentifier")
	switch {
	case skip && final != "":
		return nil, nil, invalidCombination("Cannot specify FinalDBSnapshotIdentifier with SkipFinalSnapshot")
	case !skip && final == "":
		return nil, nil, invalidCombination("FinalDBSnapshotIdentifier is required unless SkipFinalSnapshot is specified.")
	case final != "":
		if err := validIdentifier("FinalDBSnapshotIdentifier", final, 255); err != nil {
			return nil, nil, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	defer s.detach(s.advanceLocked(now))
	inst, ok := s.instances[id]
	if !ok {
		return nil, nil, instanceNotFound(id)
	}
	if inst.DeletionProtection {
		return nil, nil, invalidCombination("Cannot delete protected DB Instance, please disable deletion protection and try again.")
	}
	if inst.Status == "deleting" {
		return nil, nil, invalidState("Instance " + id + " is already being deleted.")
	}
	t := now
	var job *copyJob
	if final != "" {
		if inst.Status != "available" {
			return nil, nil, invalidState("Instance " + id + " is currently " + inst.Status + " - a final snapshot cannot be taken.")
		}
		if _, ok := s.snapshots[final]; ok {
			return nil, nil, snapshotExists(final)
		}
		_, job = s.manualSnapshotLocked(final, inst, nil, now)
		t = t.Add(s.opts.BackupDelay)
	}
	inst.Status = "deleting"
	inst.steps = []step{{at: t.Add(s.opts.DeleteDelay), status: ""}}
	return struct{ DBInstance dbInstanceXML }{s.instanceXML(inst, now)}, job, nil
}

func (s *Server) createDBSnapshot(ctx context.Context, req *request) (any, error) {
	result, job, err := s.createDBSnapshotLocked(req)
	s.copyData(ctx, job)
	return result, err
}

// createDBSnapshotLocked records the snapshot and returns the copy of its
// data, if any, which the caller runs outside the lock.
func (s *Server) createDBSnapshotLocked(req *request) (any, *copyJob, error) {
	id := strings.ToLower(req.get("DBInstanceIdentifier"))
	sid := req.get("DBSnapshotIdentifier")
	if id == "" {
		return nil, nil, missingParam("DBInstanceIdentifier")
	}
	if sid == "" {
		return nil, nil, missingParam("DBSnapshotIdentifier")
	}
	if err := validIdentifier("DBSnapshotIdentifier", sid, 255); err != nil {
		return nil, nil, err
	}
	tags, err := parseTags(req)
	if err != nil {
		return nil, nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	defer s.detach(s.advanceLocked(now))
	inst, ok := s.instances[id]
	if !ok {
		return nil, nil, instanceNotFound(id)
	}
	if _, ok := s.snapshots[sid]; ok {
		return nil, nil, snapshotExists(sid)
	}
	if inst.Status != "available" {
		return nil, nil, invalidState("Cannot create a snapshot because the database instance " + id + " is not currently in the available state.")
	}
	sn, job := s.manualSnapshotLocked(sid, inst, tags, now)
	if s.opts.BackupDelay > 0 {
		inst.Status = "backing-up"
		inst.steps = append([]step{{at: sn.readyAt, status: "available"}}, inst.steps...)
	}
	return struct{ DBSnapshot dbSnapshotXML }{s.snapshotXML(sn, now)}, job, nil
}

func (s *Server) describeDBSnapshots(req *request) (any, error) {
	id := strings.ToLower(req.get("DBInstanceIdentifier"))
	sid := req.get("DBSnapshotIdentifier")
	typ := req.get("SnapshotType")
	if typ != "" && typ != "automated" && typ != "manual" && typ != "shared" && typ != "public" && typ != "awsbackup" {
		return nil, invalidParam("Invalid SnapshotType " + strconv.Quote(typ))
	}
	max, err := parseMaxRecords(req)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	defer s.detach(s.advanceLocked(now))
	if sid != "" {
		sn, ok := s.snapshots[sid]
		if !ok {
			return nil, snapshotNotFound(sid)
		}
		return describeSnapshotsResult{DBSnapshots: []dbSnapshotXML{s.snapshotXML(sn, now)}}, nil
	}
	var match []*snapshot
	for _, k := range s.snapOrder {
		sn := s.snapshots[k]
		if id != "" && (sn.InstanceID != id || !s.describesSnapshotsOfLocked(id)) {
			continue
		}
		if typ != "" && sn.Type != typ {
			continue
		}
		match = append(match, sn)
	}
	start, end, next, err := page(req, len(match), max)
	if err != nil {
		return nil, err
	}
	out := describeSnapshotsResult{Marker: next}
	for _, sn := range match[start:end] {
		out.DBSnapshots = append(out.DBSnapshots, s.snapshotXML(sn, now))
	}
	return out, nil
}

func (s *Server) deleteDBSnapshot(req *request) (any, error) {
	sid := req.get("DBSnapshotIdentifier")
	if sid == "" {
		return nil, missingParam("DBSnapshotIdentifier")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	defer s.detach(s.advanceLocked(now))
	sn, ok := s.snapshots[sid]
	if !ok {
		return nil, snapshotNotFound(sid)
	}
	if sn.Type == "automated" {
		return nil, &apiError{status: http.StatusBadRequest, code: "InvalidDBSnapshotState", msg: "Only manual snapshots may be deleted."}
	}
	if sn.status(now) != "available" {
		return nil, &apiError{status: http.StatusBadRequest, code: "InvalidDBSnapshotState", msg: "Cannot delete the snapshot because it is " + sn.status(now) + "."}
	}
	out := s.snapshotXML(sn, now)
	out.Status = "deleted"
	s.dropData(sn.dataKey)
	delete(s.snapshots, sid)
	s.snapOrder = slices.DeleteFunc(s.snapOrder, func(x string) bool { return x == sid })
	return struct{ DBSnapshot dbSnapshotXML }{out}, nil
}

// addInstanceLocked checks the references of set and that inst.ID is
// free, then completes inst (which holds what the call itself decides:
// engine, version, user, storage, retention, encryption, password) with
// set, gives it a secret holding its password when managed, records it
// and plans its creation.
func (s *Server) addInstanceLocked(inst *instance, set instanceSettings, managed bool, now time.Time) error {
	if err := s.checkRefsLocked(&set); err != nil {
		return err
	}
	if _, ok := s.instances[inst.ID]; ok {
		return instanceExists()
	}
	inst.Class, inst.AZ, inst.SubnetGroup, inst.StorageType = set.class, set.az, set.subnetGroup, set.storageType
	inst.Port, inst.Public, inst.DeletionProtection, inst.CopyTags = set.port, set.public, set.protect, set.copyTags
	inst.Tags, inst.SecurityGroups = set.tags, set.groups
	inst.ResourceID = "db-" + strings.ToUpper(randomHex(26))
	inst.Status, inst.Created = "creating", now
	if inst.AZ == "" {
		inst.AZ = s.opts.Region + "a"
	}
	if managed {
		inst.secretARN = s.newSecretLocked(inst.User, inst.password)
	}
	s.scheduleCreateLocked(inst, now)
	s.instances[inst.ID] = inst
	s.order = append(s.order, inst.ID)
	return nil
}

// newInstanceFromLocked makes the instance a restore creates from the
// copy sn of its source, with the source's master password.
func (s *Server) newInstanceFromLocked(id string, set instanceSettings, sn *snapshot, now time.Time) (*instance, error) {
	inst := &instance{
		ID: id, Engine: sn.Engine, Version: sn.Version, User: sn.User, Storage: sn.Storage,
		Retention: 1, Encrypted: sn.Encrypted, password: sn.password,
	}
	if err := s.addInstanceLocked(inst, set, s.restoredManaged(), now); err != nil {
		return nil, err
	}
	return inst, nil
}

func (s *Server) restoreFromSnapshot(ctx context.Context, req *request) (any, error) {
	id := strings.ToLower(req.get("DBInstanceIdentifier"))
	sid := req.get("DBSnapshotIdentifier")
	if id == "" {
		return nil, missingParam("DBInstanceIdentifier")
	}
	if sid == "" {
		return nil, missingParam("DBSnapshotIdentifier")
	}
	if err := validIdentifier("DBInstanceIdentifier", id, 63); err != nil {
		return nil, err
	}
	s.mu.Lock()
	now := s.clock.Now()
	gone := s.advanceLocked(now)
	defer s.detach(gone)
	sn, ok := s.snapshots[sid]
	if !ok {
		s.mu.Unlock()
		return nil, snapshotNotFound(sid)
	}
	if sn.status(now) != "available" {
		s.mu.Unlock()
		return nil, &apiError{status: http.StatusBadRequest, code: "InvalidDBSnapshotState", msg: "Snapshot " + sid + " is not in the available state."}
	}
	set, err := s.parseSettings(req, sn.Engine, sn.Port)
	if err == nil && set.class == "" {
		err = missingParam("DBInstanceClass")
	}
	var inst *instance
	if err == nil {
		inst, err = s.newInstanceFromLocked(id, set, sn, now)
	}
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	out := s.instanceXML(inst, now)
	dataKey := sn.dataKey
	s.mu.Unlock()
	s.attachFrom(ctx, inst.ID, inst.Engine, inst.Version, dataKey)
	return struct{ DBInstance dbInstanceXML }{out}, nil
}

func (s *Server) restoreToPointInTime(ctx context.Context, req *request) (any, error) {
	src := strings.ToLower(req.get("SourceDBInstanceIdentifier"))
	id := strings.ToLower(req.get("TargetDBInstanceIdentifier"))
	if src == "" {
		return nil, missingParam("SourceDBInstanceIdentifier")
	}
	if id == "" {
		return nil, missingParam("TargetDBInstanceIdentifier")
	}
	if err := validIdentifier("TargetDBInstanceIdentifier", id, 63); err != nil {
		return nil, err
	}
	latest, _, err := parseBool(req, "UseLatestRestorableTime")
	if err != nil {
		return nil, err
	}
	var at time.Time
	if rt := req.get("RestoreTime"); rt != "" {
		if latest {
			return nil, invalidCombination("Cannot specify RestoreTime with UseLatestRestorableTime")
		}
		if at, err = time.Parse(time.RFC3339, rt); err != nil {
			return nil, invalidParam("Invalid RestoreTime " + strconv.Quote(rt))
		}
	} else if !latest {
		return nil, invalidCombination("Either RestoreTime or UseLatestRestorableTime must be specified")
	}
	s.mu.Lock()
	now := s.clock.Now()
	gone := s.advanceLocked(now)
	defer s.detach(gone)
	srcInst, ok := s.instances[src]
	if !ok {
		s.mu.Unlock()
		return nil, instanceNotFound(src)
	}
	if srcInst.Retention == 0 {
		s.mu.Unlock()
		return nil, &apiError{status: http.StatusBadRequest, code: "PointInTimeRestoreNotEnabled", msg: "Point-in-time restore is not enabled for " + src + ": its backup retention period is 0."}
	}
	earliest, last := s.restoreWindowLocked(srcInst, now)
	if latest {
		at = last
	}
	if earliest.IsZero() || at.Before(earliest) || at.After(last) {
		s.mu.Unlock()
		return nil, &apiError{status: http.StatusBadRequest, code: "InvalidRestoreFault", msg: fmt.Sprintf("Restore time %s is not within the restorable window %s to %s", isoTime(at), isoTime(earliest), isoTime(last))}
	}
	sn := &snapshot{}
	s.fillSnapshotLocked(sn, srcInst)
	_, copies := s.opts.Backend.(simdb.Snapshotter)
	copyLatest := latest && copies && srcInst.db != nil
	set, err := s.parseSettings(req, srcInst.Engine, srcInst.Port)
	if err == nil && set.class == "" {
		set.class = srcInst.Class
	}
	var inst *instance
	if err == nil {
		inst, err = s.newInstanceFromLocked(id, set, sn, now)
	}
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	out := s.instanceXML(inst, now)
	if copyLatest {
		busy := s.busyLocked(src)
		s.mu.Unlock()
		s.attachLatest(ctx, src, inst, busy)
		return struct{ DBInstance dbInstanceXML }{out}, nil
	}
	s.mu.Unlock()
	s.attach(ctx, inst.ID, inst.Engine, inst.Version)
	return struct{ DBInstance dbInstanceXML }{out}, nil
}

// restoreWindowLocked is the point-in-time window: from the first
// automated backup to now (RDS lags about five minutes; the simulator
// does not).
func (s *Server) restoreWindowLocked(inst *instance, now time.Time) (earliest, latest time.Time) {
	for _, k := range s.snapOrder {
		sn := s.snapshots[k]
		if sn.InstanceID == inst.ID && sn.Type == "automated" && sn.status(now) == "available" {
			if earliest.IsZero() || sn.Created.Before(earliest) {
				earliest = sn.Created
			}
		}
	}
	return earliest, now
}

// Instances returns the ids of the instances that exist, sorted; for tests.
func (s *Server) Instances() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.detach(s.advanceLocked(s.clock.Now()))
	ids := slices.Clone(s.order)
	sort.Strings(ids)
	return ids
}

// SetStatus forces an instance's status (for example "failed" or
// "storage-full") and cancels its pending life cycle; for tests.
func (s *Server) SetStatus(id, status string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	inst, ok := s.instances[id]
	if ok {
		inst.Status, inst.steps = status, nil
	}
	return ok
}

func (s *Server) addTagsToResource(req *request) (any, error) {
	arn := req.get("ResourceName")
	if arn == "" {
		return nil, missingParam("ResourceName")
	}
	tags, err := parseTags(req)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var target *[]tag
	prefix := "arn:aws:rds:" + s.opts.Region + ":" + accountID + ":"
	switch {
	case strings.HasPrefix(arn, prefix+"db:"):
		if inst, ok := s.instances[strings.TrimPrefix(arn, prefix+"db:")]; ok {
			target = &inst.Tags
		}
	case strings.HasPrefix(arn, prefix+"snapshot:"):
		if sn, ok := s.snapshots[strings.TrimPrefix(arn, prefix+"snapshot:")]; ok {
			target = &sn.Tags
		}
	}
	if target == nil {
		return nil, &apiError{status: http.StatusNotFound, code: "DBInstanceNotFound", msg: "Resource " + arn + " not found."}
	}
	for _, t := range tags {
		i := slices.IndexFunc(*target, func(x tag) bool { return x.Key == t.Key })
		if i >= 0 {
			(*target)[i].Value = t.Value
		} else {
			*target = append(*target, t)
		}
	}
	if len(*target) > 50 {
		return nil, &apiError{status: http.StatusBadRequest, code: "TagQuotaPerResourceExceeded", msg: "at most 50 tags per resource"}
	}
	// RDS answers with an empty result element.
	return struct{}{}, nil
}
