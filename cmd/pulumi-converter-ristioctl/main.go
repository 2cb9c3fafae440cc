// pulumi-converter-ristioctl is the converter plugin behind `pulumi convert
// --from ristioctl`: it reads a ristioctl mesh file (mesh.yaml in the current
// directory, or the file given after `--`) and writes the equivalent ristio
// program as PCL, which the CLI turns into the language asked for. A file
// with problems gets a diagnostic per problem, at its file and line, and
// nothing is written.
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"os/signal"
	"path/filepath"

	"github.com/hashicorp/hcl/v2"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"

	"github.com/ristio/pulumi-ristio/pkg/ristioctl"
)

// defaultMeshFile is read when no file is given after `--`.
const defaultMeshFile = "mesh.yaml"

type converter struct{}

func (converter) Close() error { return nil }

func (converter) ConvertState(context.Context, *plugin.ConvertStateRequest) (*plugin.ConvertStateResponse, error) {
	return nil, errors.New("ristioctl keeps no state to convert: run `pulumi up` with adopt on the converted program instead")
}

func (converter) ConvertSnippet(context.Context, *plugin.ConvertSnippetRequest) (*plugin.ConvertSnippetResponse, error) {
	return nil, errors.New("not supported by the ristioctl converter")
}

func (converter) ConvertProgram(_ context.Context, req *plugin.ConvertProgramRequest) (*plugin.ConvertProgramResponse, error) {
	file, err := meshFile(req.SourceDirectory, req.Args)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("reading the ristioctl mesh file: %w", err)
	}
	mesh, err := ristioctl.Parse(file, data, exists)
	var problems ristioctl.Problems
	if errors.As(err, &problems) {
		return &plugin.ConvertProgramResponse{Diagnostics: diagnostics(problems)}, nil
	}
	if err != nil {
		return nil, err
	}
	out := filepath.Join(req.TargetDirectory, "main.pp")
	if err := os.WriteFile(out, []byte(ristioctl.Program(mesh)), 0o600); err != nil {
		return nil, fmt.Errorf("writing the converted program: %w", err)
	}
	return &plugin.ConvertProgramResponse{}, nil
}

// meshFile is the file named after `--` (relative to the source directory),
// or mesh.yaml there.
func meshFile(dir string, args []string) (string, error) {
	switch len(args) {
	case 0:
		return filepath.Join(dir, defaultMeshFile), nil
	case 1:
		if filepath.IsAbs(args[0]) {
			return args[0], nil
		}
		return filepath.Join(dir, args[0]), nil
	default:
		return "", fmt.Errorf("expected at most one argument, the ristioctl mesh file; got %q", args)
	}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func diagnostics(problems ristioctl.Problems) hcl.Diagnostics {
	out := make(hcl.Diagnostics, 0, len(problems))
	for _, p := range problems {
		pos := hcl.Pos{Line: p.Line, Column: p.Column}
		out = append(out, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  p.Message,
			Subject:  &hcl.Range{Filename: p.File, Start: pos, End: pos},
		})
	}
	return out
}

func main() {
	cancel := make(chan bool)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	go func() {
		<-ctx.Done()
		stop()
		close(cancel)
	}()
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: cancel,
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterConverterServer(srv, plugin.NewConverterServer(converter{}))
			return nil
		},
	})
	if err != nil {
		log.Fatalf("fatal: %v", err)
	}
	// The plugin protocol: the port we listen on, on a line of its own.
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		log.Fatalf("fatal: %v", err)
	}
}
