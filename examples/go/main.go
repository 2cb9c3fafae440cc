// Command ristio-mesh-go is the Pulumi program of this example; the mesh
// itself is declared in package mesh, so other code can reuse it.
package main

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/ristio/pulumi-ristio/examples/go/mesh"
)

func main() {
	pulumi.Run(mesh.Program)
}
