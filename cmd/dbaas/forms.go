package main

//go:generate go run gen_answers.go forms.go

// answered are the invocations the front answers itself when no DBAAS_
// variable is set (they change the defaults that help shows): the output
// is the same whichever providers are installed, so it is rendered once,
// at build time, into answers.go.
var answered = [][]string{
	{},
	{"help"},
	{"--help"},
	{"-h"},
	{"providers"},
	{"help", "exit-codes"},
}
