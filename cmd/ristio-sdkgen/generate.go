package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"path"
	"runtime/debug"

	"github.com/blang/semver"
	p "github.com/pulumi/pulumi-go-provider"
	gogen "github.com/pulumi/pulumi/pkg/v3/codegen/go"
	"github.com/pulumi/pulumi/pkg/v3/codegen/nodejs"
	"github.com/pulumi/pulumi/pkg/v3/codegen/python"
	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
	"golang.org/x/mod/modfile"

	"github.com/ristio/pulumi-ristio/provider"
)

// tool names the generator in the "do not edit" header of every file.
const tool = "ristio-sdkgen"

// Where each output lives, relative to the repository root.
const (
	schemaFile = "schema.json"
	nodeDir    = "sdk/nodejs"
	pythonDir  = "sdk/python"
	goDir      = "sdk/go"
	goModFile  = "sdk/go.mod"
	pulumiSDK  = "github.com/pulumi/pulumi/sdk/v3"
)

// providerSchema asks the provider for its schema, as the engine would.
func providerSchema(version string) (schema.PackageSpec, error) {
	if _, err := semver.ParseTolerant(version); err != nil {
		return schema.PackageSpec{}, fmt.Errorf("-version %q: %w", version, err)
	}
	prov, err := provider.New(provider.DefaultDeps())
	if err != nil {
		return schema.PackageSpec{}, fmt.Errorf("building the provider: %w", err)
	}
	spec, err := p.GetSchema(context.Background(), provider.Name, version, prov)
	if err != nil {
		return schema.PackageSpec{}, fmt.Errorf("getting the schema: %w", err)
	}
	return spec, nil
}

// generate returns every generated file by its path from the repository root.
func generate(spec schema.PackageSpec) (map[string][]byte, error) {
	out := map[string][]byte{}
	js, err := marshalSchema(spec)
	if err != nil {
		return nil, err
	}
	out[schemaFile] = js
	if err := describePackages(&spec); err != nil {
		return nil, err
	}

	languages := []struct {
		dir string
		// spec, when set, changes the schema for this language alone.
		spec func(schema.PackageSpec) (schema.PackageSpec, error)
		gen  func(*schema.Package) (map[string][]byte, error)
	}{
		{nodeDir, nil, func(pkg *schema.Package) (map[string][]byte, error) {
			return nodejs.GeneratePackage(tool, pkg, nil, nil, false, noReferences{})
		}},
		{pythonDir, nil, func(pkg *schema.Package) (map[string][]byte, error) {
			return python.GeneratePackage(tool, pkg, nil, noReferences{})
		}},
		{goDir, nil, func(pkg *schema.Package) (map[string][]byte, error) {
			return gogen.GeneratePackage(tool, pkg, nil)
		}},
		{javaDir, javaSpec, generateJava},
	}
	for _, lang := range languages {
		// Each generator records its language info in the package, so each
		// gets a package of its own.
		langSpec := spec
		if lang.spec != nil {
			if langSpec, err = lang.spec(spec); err != nil {
				return nil, err
			}
		}
		pkg, err := bind(langSpec)
		if err != nil {
			return nil, err
		}
		files, err := lang.gen(pkg)
		if err != nil {
			return nil, fmt.Errorf("generating %s: %w", lang.dir, err)
		}
		for name, data := range files {
			out[path.Join(lang.dir, name)] = data
		}
	}
	// pyproject.toml names README.md beside it; the generator writes it
	// inside the package only.
	out[path.Join(pythonDir, "README.md")] = out[path.Join(pythonDir, provider.PythonPackageName, "README.md")]

	mod, err := goMod()
	if err != nil {
		return nil, err
	}
	out[goModFile] = mod
	return out, nil
}

// marshalSchema writes the schema as Pulumi's own schema.json files read:
// indented, keys sorted (encoding/json sorts maps), and "<" left as is, also
// inside the language sections, which arrive already encoded.
func marshalSchema(spec schema.PackageSpec) ([]byte, error) {
	languages := make(map[string]schema.RawMessage, len(spec.Language))
	for name, raw := range spec.Language {
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, fmt.Errorf("schema language %s: %w", name, err)
		}
		data, err := encodeJSON(v, "")
		if err != nil {
			return nil, fmt.Errorf("schema language %s: %w", name, err)
		}
		languages[name] = bytes.TrimSpace(data)
	}
	spec.Language = languages
	return encodeJSON(spec, "    ")
}

func encodeJSON(v any, indent string) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", indent)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// describePackages gives the npm and Python packages the schema's description
// and a README pointing at the documentation, unless the provider's language
// map already sets them. Only the SDKs see this; schema.json stays what the
// plugin serves.
func describePackages(spec *schema.PackageSpec) error {
	readme := fmt.Sprintf("# %s\n\n%s\n\nDocumentation and examples: %s\n", provider.Name, spec.Description, spec.Homepage)
	defaults := map[string]map[string]string{
		"nodejs": {"packageDescription": spec.Description, "readme": readme},
		"python": {"readme": readme},
	}
	spec.Language = maps.Clone(spec.Language) // the caller's map stays as it was
	for lang, fields := range defaults {
		info := map[string]any{}
		if raw, ok := spec.Language[lang]; ok {
			if err := json.Unmarshal(raw, &info); err != nil {
				return fmt.Errorf("schema language %s: %w", lang, err)
			}
		}
		for k, v := range fields {
			if _, set := info[k]; !set {
				info[k] = v
			}
		}
		raw, err := json.Marshal(info)
		if err != nil {
			return err
		}
		spec.Language[lang] = raw
	}
	return nil
}

func bind(spec schema.PackageSpec) (*schema.Package, error) {
	pkg, diags, err := schema.BindSpec(spec, noReferences{}, schema.ValidationOptions{})
	if err != nil {
		return nil, fmt.Errorf("binding the schema: %w", err)
	}
	if diags.HasErrors() {
		return nil, fmt.Errorf("binding the schema: %w", diags)
	}
	return pkg, nil
}

// goMod is the Go SDK's module: github.com/ristio/pulumi-ristio/sdk, one
// folder above the package (sdk/go/ristio), so `go get` finds it by path. It
// requires the Pulumi Go SDK this generator was built with, which is the one
// the provider uses. `make sdks` runs `go mod tidy` on it afterwards.
func goMod() ([]byte, error) {
	sdkVersion, err := pulumiSDKVersion()
	if err != nil {
		return nil, err
	}
	var f modfile.File
	for _, step := range []error{
		f.AddModuleStmt(path.Dir(path.Dir(provider.GoImportBasePath))),
		f.AddGoStmt("1.26"),
		f.AddRequire(pulumiSDK, sdkVersion),
	} {
		if step != nil {
			return nil, fmt.Errorf("writing sdk/go.mod: %w", step)
		}
	}
	return f.Format()
}

func pulumiSDKVersion() (string, error) {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "", errors.New("no build information: cannot tell which Pulumi Go SDK to require")
	}
	for _, dep := range info.Deps {
		if dep.Path == pulumiSDK {
			if dep.Replace != nil {
				dep = dep.Replace
			}
			return dep.Version, nil
		}
	}
	return "", fmt.Errorf("%s is not in the build information", pulumiSDK)
}

// noReferences loads no other package: ristio's schema refers to none, and
// finding one is an error rather than a download.
type noReferences struct{}

func (noReferences) LoadPackage(pkg string, version *semver.Version) (*schema.Package, error) {
	return nil, fmt.Errorf("the schema refers to package %s, which ristio-sdkgen cannot load", pkg)
}

func (noReferences) LoadPackageV2(_ context.Context, d *schema.PackageDescriptor) (*schema.Package, error) {
	return nil, fmt.Errorf("the schema refers to package %s, which ristio-sdkgen cannot load", d.Name)
}

func (noReferences) LoadPackageReference(pkg string, version *semver.Version) (schema.PackageReference, error) {
	return nil, fmt.Errorf("the schema refers to package %s, which ristio-sdkgen cannot load", pkg)
}

func (noReferences) LoadPackageReferenceV2(_ context.Context, d *schema.PackageDescriptor) (schema.PackageReference, error) {
	return nil, fmt.Errorf("the schema refers to package %s, which ristio-sdkgen cannot load", d.Name)
}
