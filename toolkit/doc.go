// Package toolkit reads the configuration strings of the Agile Deployment
// Toolkit, the shell toolkit this SDK grows out of, so that its templates
// keep working unchanged.
//
// The toolkit describes a managed database to provision in the variable
// DATABASE_DBaaS_INSTALLATION_TYPE as colon-separated fields after a
// "<kind>:DBAAS:" prefix, where kind is MySQL, Maria or Postgres, in one
// form per cloud:
//
//	digitalocean  KIND:DBAAS:engine:region:nodes:size:version:cluster:db:user:pass:vpc_uuid
//	linode        KIND:DBAAS:engine/version:region:type:cluster_size:label:db:user:pass[:vpc_id:subnet_id]
//	aws           KIND:DBAAS:engine:az:class:dbname:identifier:storageGB:user:pass
//	vultr         KIND:DBAAS:engine:version:region:plan:db:label:vpc
//	exoscale      KIND:DBAAS:engine:zone:size:name
//
// Parse turns one into a dbaas.Spec for the matching provider. On
// DigitalOcean and Linode the db, user and pass fields name what the
// toolkit makes inside the cluster after creating it (those clouds create
// their own administrator), so they come back in Config.AppDatabase,
// AppUser and AppPassword rather than in the Spec; on AWS they are the
// instance's own. Vultr's db field is likewise Config.AppDatabase; its
// label is the Spec's Name, so it follows the Spec's name rules (lower
// case, 3 to 32 characters).
//
//	cfg, err := toolkit.Parse(os.Getenv("DATABASE_DBaaS_INSTALLATION_TYPE"), "")
//	if err != nil {
//		return err // names the field and the form expected, never the password
//	}
//	p, err := dbaas.Open(ctx, cfg.Provider, dbaas.Config{})
//	inst, _, err := dbaas.Ensure(ctx, p, cfg.Spec)
package toolkit
