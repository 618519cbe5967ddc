// Command dbaas provisions and manages databases on any provider of
// dbaaskit from the shell: it replaces a toolkit's doctl, linode-cli and
// "aws rds" calls and their wait loops with one tool.
//
// Install it with
//
//	go install github.com/agiledeploy/dbaaskit/cmd/...@latest
//
// which installs dbaas and the programs beside it that run its commands:
// dbaas itself prints its version and help and hands every other command
// to dbaas-core (the local, memory and static providers), dbaas-aws,
// dbaas-digitalocean, dbaas-linode, dbaas-vultr or dbaas-exoscale (one
// cloud beside those) or dbaas-all (every provider, dbaas sim, toolkit
// lines and commands that name two clouds), so that a command loads only
// the cloud SDK it uses. It looks for them beside itself, then on PATH.
//
// and use it from scripts:
//
//	id=$(dbaas --provider digitalocean ensure shop --engine mysql --size db-s-1vcpu-1gb --wait) || exit
//	dbaas check-port shop --expect "$DB_PORT" || exit
//	DB_HOST=$(dbaas endpoint shop)
//	list-webservers | dbaas sync-access shop --file -
//
// # Global flags
//
// --provider (env DBAAS_PROVIDER, default local), --region (DBAAS_REGION),
// --base-url (DBAAS_BASE_URL), --token-file (DBAAS_TOKEN_FILE; otherwise the
// provider reads DIGITALOCEAN_TOKEN, LINODE_TOKEN or the AWS chain), --set
// key=value (provider settings), --output text|json (DBAAS_OUTPUT),
// --quiet, --timeout.
//
// # Output
//
// Text output is for scripts and people: commands that produce one value
// print it alone on a line (create, ensure and restore print the new id;
// endpoint the host; port the port; connection the URI or DSN; backup the
// backup id; wait the status); listings are aligned tables (list,
// backups, providers) or one item per line (access); get prints aligned
// "key: value" lines. Notes ("created shop (id), provisioning") go to
// stderr and --quiet silences them. During a wait, a live progress line
// is drawn on stderr only when stderr is a terminal.
//
// --wait makes a command return only once the cloud is done: create,
// ensure and restore once the instance is available, backup (printing
// its id) once the backup can be restored, delete once the instance is
// gone. --poll sets the first pause between the polls of every wait.
//
// JSON output (--output json) is stable: fields are only ever added.
//
//	create, ensure, restore  the instance (as get) plus "created": bool
//	get, wait                {"id","name","provider","engine","version","status","raw_status",
//	                          "endpoint":{"host","port"},"private_endpoint","region","size",
//	                          "nodes","storage_gb","created_at","tags"}
//	list                     [instance, ...] ([] when empty)
//	endpoint, port           {"host","port"}
//	connection               {"engine","endpoint","private_endpoint","user","database","tls",
//	                          "uri","ca_cert_pem"} and "password" with --show-secrets only
//	check-port               {"id","configured","actual","ok"}
//	allow, revoke, access    {"id","allowed"|"revoked","sources":["cidr:10.0.0.0/16", ...]}
//	sync-access              {"id","added":[...],"removed":[...],"dry_run"}
//	backup                   {"id","instance_id","name","kind","status","created_at",...}
//	backups                  [backup, ...]
//	delete                   {"id","name","deleted":true,"final_backup","gone"} ("gone":true with --wait)
//	providers                [{"name","capabilities":{...},"note"} | {"name","error"}]
//	version                  {"version","go","platform","providers"}
//	dump load                {"rewrite":{dump report},"bytes","tables":[...],"committed"}
//	migrate                  {"source","target","complete","stage","error","load":{as dump load},
//	                          "copy_seconds","verify":{as below}}
//	migrate --verify-only    {"match","tables":[{"name","status","primary_key","source_rows",
//	                          "target_rows","source_checksum","target_checksum"}],
//	                          "objects":[{"kind","name","in_source","in_target"}],"seconds"}
//
// With --output json an error is one JSON object on stderr:
// {"error":"…","kind":"not_found","exit_code":3}.
//
// # Exit codes
//
// 0 success, 1 failure, 2 usage, 3 not found, 4 timeout, 5 unsupported,
// 6 port mismatch, 7 invalid input, 130 interrupted; "dbaas help
// exit-codes" explains each.
//
// # Secrets
//
// Passwords are printed only by "connection --show-secrets". Passwords
// come in through --admin-password-file (or "-" for stdin) or the
// environment (DBAAS_ADMIN_PASSWORD), never as flag values that other
// users could read in the process list.
package main
