// Command mocking shows how a user of dbaaskit unit-tests their own code
// with dbaastest.MockProvider: Deploy (deploy.go) ensures a database,
// waits for it, checks the configured port and syncs the access list;
// deploy_test.go tests each path of it, failures included, without any
// cloud or database. main runs Deploy on the in-memory provider:
//
//	go run ./examples/mocking
//	go test ./examples/mocking
package main
