// Command pulumi-resource-ristio is ristio's Pulumi provider plugin.
package main

import (
	"context"
	"fmt"
	"os"

	p "github.com/pulumi/pulumi-go-provider"

	"github.com/ristio/pulumi-ristio/provider"
)

func main() {
	prov, err := provider.New(provider.DefaultDeps())
	if err == nil {
		err = p.RunProvider(context.Background(), provider.Name, provider.Version, prov)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-resource-ristio: %s\n", err)
		os.Exit(1)
	}
}
