// pulumi-converter-ristioctl is the converter plugin behind `pulumi convert
// --from ristioctl`: it reads a ristioctl mesh file (mesh.yaml in the current
// directory, or the file given after `--`) and writes the equivalent ristio
// program as PCL, which the CLI turns into the language asked for. With
// `-- --adopt`, the program takes the live mesh over under ristioctl's root
// instead of making a new one. A file with problems gets a diagnostic per
// problem, at its file and line, and nothing is written.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"path/filepath"

	"github.com/hashicorp/hcl/v2"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"

	ristio "github.com/ristio/pulumi-ristio"
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
	opts, err := parseArgs(req.SourceDirectory, req.Args)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(opts.file)
	if err != nil {
		return nil, fmt.Errorf("reading the ristioctl mesh file: %w", err)
	}
	mesh, err := ristioctl.Parse(opts.file, data, exists)
	var problems ristioctl.Problems
	if errors.As(err, &problems) {
		return &plugin.ConvertProgramResponse{Diagnostics: diagnostics(problems)}, nil
	}
	if err != nil {
		return nil, err
	}
	var adopt *ristioctl.Adoption
	if opts.adopt {
		if adopt, err = opts.adoption(mesh); err != nil {
			return nil, err
		}
	}
	out := filepath.Join(req.TargetDirectory, "main.pp")
	if err := os.WriteFile(out, []byte(ristioctl.Program(mesh, adopt, ristioctl.Plugin{MeshToken: ristio.MeshToken, Version: ristio.Version, DownloadURL: ristio.PluginDownloadURL})), 0o600); err != nil {
		return nil, fmt.Errorf("writing the converted program: %w", err)
	}
	return &plugin.ConvertProgramResponse{}, nil
}

// options are the arguments given after `--`: the mesh file (mesh.yaml in
// the source directory by default) and, to take the live mesh over,
// --adopt with the files of ristioctl's root.
type options struct {
	dir, file         string
	adopt             bool
	rootCert, rootKey string
}

func parseArgs(dir string, args []string) (options, error) {
	o := options{dir: dir}
	fs := flag.NewFlagSet("ristioctl converter", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.BoolVar(&o.adopt, "adopt", false, "take the live mesh over (adopt on every cluster) under ristioctl's root")
	fs.StringVar(&o.rootCert, "root-cert", "", "ristioctl's root certificate (default: <folderPath>/root-cert.pem)")
	fs.StringVar(&o.rootKey, "root-key", "", "ristioctl's root key (default: <folderPath>/root-key.pem)")
	// The mesh file may come before or after the flags.
	var files []string
	for {
		if err := fs.Parse(args); err != nil {
			return o, fmt.Errorf("arguments after --: %w (expected [mesh file] [--adopt [--root-cert FILE --root-key FILE]])", err)
		}
		if fs.NArg() == 0 {
			break
		}
		files, args = append(files, fs.Arg(0)), fs.Args()[1:]
	}
	switch len(files) {
	case 0:
		o.file = filepath.Join(dir, defaultMeshFile)
	case 1:
		o.file = absPath(dir, files[0])
	default:
		return o, fmt.Errorf("expected at most one mesh file after --; got %q", files)
	}
	if !o.adopt && (o.rootCert != "" || o.rootKey != "") {
		return o, errors.New("--root-cert and --root-key go with --adopt")
	}
	return o, nil
}

// adoption finds ristioctl's root: the files given, else root-cert.pem and
// root-key.pem in the Certificate's folderPath (relative to the mesh file).
// The program names them by absolute path, so it runs from any folder.
func (o options) adoption(mesh *ristioctl.Mesh) (*ristioctl.Adoption, error) {
	cert, key := o.rootCert, o.rootKey
	if folder := mesh.Certificate.FolderPath; folder != "" {
		folder = absPath(filepath.Dir(o.file), folder)
		if cert == "" {
			cert = filepath.Join(folder, "root-cert.pem")
		}
		if key == "" {
			key = filepath.Join(folder, "root-key.pem")
		}
	}
	if cert == "" || key == "" {
		return nil, errors.New("--adopt needs the root ristioctl made, which every cluster's cacerts chains to: give --root-cert and --root-key, or set folderPath in the Certificate")
	}
	a := &ristioctl.Adoption{RootCertFile: absPath(o.dir, cert), RootKeyFile: absPath(o.dir, key)}
	for _, f := range []string{a.RootCertFile, a.RootKeyFile} {
		if !exists(f) {
			return nil, fmt.Errorf("--adopt: %s does not exist", f)
		}
	}
	return a, nil
}

// absPath makes p absolute, relative to dir when it is not already.
func absPath(dir, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	abs, err := filepath.Abs(filepath.Join(dir, p))
	if err != nil {
		return filepath.Join(dir, p)
	}
	return abs
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
