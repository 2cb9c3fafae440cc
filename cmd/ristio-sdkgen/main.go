// Command ristio-sdkgen writes schema.json and the Node.js, Python and Go SDKs
// from the provider itself: the schema is what the plugin's GetSchema
// returns, so the SDKs can never drift from the Go annotations.
//
//	ristio-sdkgen [-version 0.1.0] [-out .]
//
// It replaces <out>/schema.json, <out>/sdk/nodejs, <out>/sdk/python,
// <out>/sdk/go, <out>/sdk/go.mod and <out>/sdk/java. The output depends only
// on the provider's code and the version, so two runs give the same files.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/ristio/pulumi-ristio/provider"
)

func main() {
	version := flag.String("version", provider.Version, "package version stamped into the schema and the SDKs")
	out := flag.String("out", ".", "repository root: schema.json and sdk/ are written under it")
	flag.Parse()
	if err := run(*out, *version); err != nil {
		fmt.Fprintf(os.Stderr, "ristio-sdkgen: %s\n", err)
		os.Exit(1)
	}
}

func run(out, version string) error {
	spec, err := providerSchema(version)
	if err != nil {
		return err
	}
	files, err := generate(spec)
	if err != nil {
		return err
	}
	return write(out, files)
}
