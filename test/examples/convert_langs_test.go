package examples

import (
	"context"
	"encoding/json"
	"fmt"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/blang/semver"
	gogen "github.com/pulumi/pulumi/pkg/v3/codegen/go"
	"github.com/pulumi/pulumi/pkg/v3/codegen/nodejs"
	"github.com/pulumi/pulumi/pkg/v3/codegen/pcl"
	"github.com/pulumi/pulumi/pkg/v3/codegen/python"
	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"

	"github.com/ristio/pulumi-ristio/internal/pulumitest"
)

// ristioSchema serves the checked-in schema.json to the PCL binder, as the
// CLI's loader serves the plugin's.
type ristioSchema struct{ pkg *schema.Package }

func loadRistioSchema(t *testing.T) ristioSchema {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(pulumitest.RepoRoot(), "schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	var spec schema.PackageSpec
	if err := json.Unmarshal(data, &spec); err != nil {
		t.Fatal(err)
	}
	languages := map[string]schema.Language{"nodejs": nodejs.Importer, "python": python.Importer, "go": gogen.Importer}
	// ristio's schema refers to no other package.
	pkg, err := schema.ImportSpec(spec, languages, ristioSchema{}, schema.ValidationOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return ristioSchema{pkg: pkg}
}

func (s ristioSchema) LoadPackage(name string, _ *semver.Version) (*schema.Package, error) {
	if s.pkg == nil || name != s.pkg.Name {
		return nil, fmt.Errorf("no schema for package %q", name)
	}
	return s.pkg, nil
}

func (s ristioSchema) LoadPackageV2(_ context.Context, d *schema.PackageDescriptor) (*schema.Package, error) {
	return s.LoadPackage(d.Name, nil)
}

func (s ristioSchema) LoadPackageReference(name string, v *semver.Version) (schema.PackageReference, error) {
	pkg, err := s.LoadPackage(name, v)
	if err != nil {
		return nil, err
	}
	return pkg.Reference(), nil
}

func (s ristioSchema) LoadPackageReferenceV2(ctx context.Context, d *schema.PackageDescriptor) (schema.PackageReference, error) {
	return s.LoadPackageReference(d.Name, nil)
}

// TestConvertRistioctlToOtherLanguages converts examples/ristioctl/mesh.yaml
// to PCL with the real CLI, then makes the TypeScript, Python and Go
// programs from it with Pulumi's code generators (the language hosts are
// not on this machine) and checks them against ristio's SDK: tsc for
// TypeScript, and for Python a run of the program under Pulumi's mocks,
// which fails on any argument the SDK does not take; Go is parsed only (see
// checkGo).
func TestConvertRistioctlToOtherLanguages(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the Pulumi CLI and the SDK checks")
	}
	_, pclDir := convertExample(t, "pcl")
	program, diags, err := pcl.BindDirectory(pclDir, loadRistioSchema(t))
	if err != nil || diags.HasErrors() {
		t.Fatalf("binding the converted program: %v %v", err, diags)
	}

	generate := func(lang string, gen func(*pcl.Program) (map[string][]byte, error)) map[string][]byte {
		t.Helper()
		files, err := gen(program)
		if err != nil {
			t.Fatalf("%s: %v", lang, err)
		}
		return files
	}
	t.Run("typescript", func(t *testing.T) {
		files := generate("typescript", func(p *pcl.Program) (map[string][]byte, error) {
			f, d, err := nodejs.GenerateProgram(p)
			return f, errOr(d.HasErrors(), d, err)
		})
		checkTypeScript(t, files["index.ts"])
	})
	t.Run("python", func(t *testing.T) {
		files := generate("python", func(p *pcl.Program) (map[string][]byte, error) {
			f, d, err := python.GenerateProgram(p)
			return f, errOr(d.HasErrors(), d, err)
		})
		checkPython(t, files["__main__.py"])
	})
	t.Run("go", func(t *testing.T) {
		files := generate("go", func(p *pcl.Program) (map[string][]byte, error) {
			f, d, err := gogen.GenerateProgram(p)
			return f, errOr(d.HasErrors(), d, err)
		})
		checkGo(t, files["main.go"])
	})
}

func errOr(failed bool, diags error, err error) error {
	if err == nil && failed {
		return fmt.Errorf("%v", diags)
	}
	return err
}

// checkTypeScript compiles index.ts with tsc against the packed SDK that
// scripts/sdk-check.sh installs for examples/ts.
func checkTypeScript(t *testing.T, index []byte) {
	if !strings.Contains(string(index), "new ristio.MultiClusterMesh(\"mesh\"") {
		t.Errorf("index.ts:\n%s", index)
	}
	example := filepath.Join(sdkCheck(t, "nodejs"), "nodejs", "example")
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "index.ts"), string(index))
	writeFile(t, filepath.Join(dir, "tsconfig.json"), `{"compilerOptions": {"strict": true, "noEmit": true, "target": "es2020", "module": "commonjs", "moduleResolution": "node", "skipLibCheck": true}, "files": ["index.ts"]}`)
	if err := os.Symlink(filepath.Join(example, "node_modules"), filepath.Join(dir, "node_modules")); err != nil {
		t.Fatal(err)
	}
	run(t, dir, filepath.Join(example, "node_modules", ".bin", "tsc"), "-p", ".")
}

// checkPython runs __main__.py under Pulumi's mocks with the SDK
// scripts/sdk-check.sh installs: a wrong class or argument raises.
func checkPython(t *testing.T, main []byte) {
	if !strings.Contains(string(main), "ristio.MultiClusterMesh(\"mesh\"") {
		t.Errorf("__main__.py:\n%s", main)
	}
	py := filepath.Join(sdkCheck(t, "python"), "python", "venv", "bin", "python")
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "__main__.py"), string(main))
	writeFile(t, filepath.Join(dir, "run.py"), `import asyncio, runpy, sys
import pulumi

registered = []

class Mocks(pulumi.runtime.Mocks):
    def new_resource(self, args):
        registered.append(args.typ)
        return args.name + "-id", args.inputs
    def call(self, args):
        return {}

pulumi.runtime.set_mocks(Mocks(), project="converted", stack="dev", preview=False)
runpy.run_path(sys.argv[1])
asyncio.get_event_loop().run_until_complete(asyncio.sleep(0.5))
assert "ristio:index:MultiClusterMesh" in registered, registered
print("registered", registered)
`)
	run(t, dir, py, "run.py", filepath.Join(dir, "__main__.py"))
}

// checkGo parses main.go. It is not compiled: Pulumi's Go program generator
// writes optional plain inputs of a component (istioVersion,
// installHelloWorld) as bare literals where the SDK takes pointers
// (pulumi.StringRef, pulumi.BoolRef); the README says so.
func checkGo(t *testing.T, main []byte) {
	if !strings.Contains(string(main), "ristio.NewMultiClusterMesh(ctx, \"mesh\"") ||
		!strings.Contains(string(main), `"github.com/ristio/pulumi-ristio/sdk/go/ristio"`) {
		t.Errorf("main.go:\n%s", main)
	}
	if _, err := parser.ParseFile(token.NewFileSet(), "main.go", main, parser.AllErrors); err != nil {
		t.Errorf("main.go does not parse: %v\n%s", err, main)
	}
}

func run(t *testing.T, dir, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v\n%s", filepath.Base(name), args, err, out)
	}
}
