package main

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"
	"text/template"

	javagen "github.com/pulumi/pulumi-java/pkg/codegen/java"
	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
)

const javaDir = "sdk/java"

// javaSpec is the schema as the Java generator gets it, changed in two ways
// that only concern the Java SDK; schema.json stays what the plugin serves.
//
//   - buildFiles "none": the generator writes no Gradle project (Gradle and its
//     plugins cannot be fetched where the SDK is built and tested); the SDK is a
//     Maven project whose pom.xml javaFiles writes.
//   - Component outputs lose their secret flag. The Java generator turns a
//     secret output into additionalSecretOutputs, which the Java SDK has only
//     for custom resources, so the component would not compile. The flag adds
//     nothing for a component: its outputs come from the provider's Construct,
//     which marks the secret ones itself, and stay secret in every language.
func javaSpec(spec schema.PackageSpec) (schema.PackageSpec, error) {
	info := map[string]any{}
	if raw, ok := spec.Language["java"]; ok {
		if err := json.Unmarshal(raw, &info); err != nil {
			return spec, fmt.Errorf("schema language java: %w", err)
		}
	}
	info["buildFiles"] = "none"
	raw, err := json.Marshal(info)
	if err != nil {
		return spec, err
	}
	spec.Language = maps.Clone(spec.Language)
	spec.Language["java"] = raw

	spec.Resources = maps.Clone(spec.Resources)
	for token, res := range spec.Resources {
		if !res.IsComponent {
			continue
		}
		res.Properties = maps.Clone(res.Properties)
		for name, prop := range res.Properties {
			prop.Secret = false
			res.Properties[name] = prop
		}
		spec.Resources[token] = res
	}
	return spec, nil
}

// generateJava is the Java SDK: the generator's sources and version.txt, plus
// pom.xml and plugin.json, which its Gradle build would otherwise make.
func generateJava(pkg *schema.Package) (map[string][]byte, error) {
	files, err := javagen.GeneratePackage(tool, pkg, nil, nil, false, false)
	if err != nil {
		return nil, err
	}
	var info javagen.PackageInfo
	switch v := pkg.Language["java"].(type) {
	case *javagen.PackageInfo:
		info = *v
	case javagen.PackageInfo:
		info = v
	default:
		return nil, fmt.Errorf("the Java generator left no package info (%T)", v)
	}
	if pkg.Version == nil {
		return nil, fmt.Errorf("the schema has no version")
	}
	version := pkg.Version.String()
	group := strings.TrimSuffix(info.BasePackageOrDefault(), ".")

	pom, err := javaPOM(pkg, group, info.Dependencies)
	if err != nil {
		return nil, err
	}
	files["pom.xml"] = pom

	// The Java SDK reads plugin.json beside version.txt to tell the engine
	// which plugin the package needs and where to download it.
	plugin, err := encodeJSON(map[string]any{
		"resource": true,
		"name":     pkg.Name,
		"version":  version,
		"server":   pkg.PluginDownloadURL,
	}, "  ")
	if err != nil {
		return nil, err
	}
	resources := path.Join("src/main/resources", strings.ReplaceAll(group, ".", "/"), pkg.Name)
	if _, ok := files[path.Join(resources, "version.txt")]; !ok {
		return nil, fmt.Errorf("the Java generator wrote no %s/version.txt", resources)
	}
	files[path.Join(resources, "plugin.json")] = plugin
	return files, nil
}

// pomTemplate is sdk/java/pom.xml.
//
//go:embed pom.xml.tmpl
var pomTemplate string

type pomCoordinates struct{ Group, Artifact, Version string }

// javaPOM is the SDK's Maven project: its coordinates and dependencies, the
// package's metadata Maven Central asks for, and the release profile.
func javaPOM(pkg *schema.Package, group string, deps map[string]string) ([]byte, error) {
	data := struct {
		pomCoordinates
		Tool, Description, Homepage, Repository, License, Publisher string
		Dependencies                                                []pomCoordinates
	}{
		pomCoordinates: pomCoordinates{group, pkg.Name, pkg.Version.String()},
		Tool:           tool,
		Description:    pkg.Description,
		Homepage:       pkg.Homepage,
		Repository:     pkg.Repository,
		License:        pkg.License,
		Publisher:      pkg.Publisher,
	}
	for _, key := range slices.Sorted(maps.Keys(deps)) {
		g, a, ok := strings.Cut(key, ":")
		if !ok {
			return nil, fmt.Errorf("schema language java: dependency %q is not group:artifact", key)
		}
		data.Dependencies = append(data.Dependencies, pomCoordinates{g, a, deps[key]})
	}
	t, err := template.New("pom.xml").Funcs(template.FuncMap{"xml": xmlText}).Parse(pomTemplate)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		return nil, fmt.Errorf("writing pom.xml: %w", err)
	}
	return buf.Bytes(), nil
}

// xmlText escapes s for an XML element's text.
func xmlText(s string) (string, error) {
	var b strings.Builder
	if err := xml.EscapeText(&b, []byte(s)); err != nil {
		return "", err
	}
	return b.String(), nil
}
