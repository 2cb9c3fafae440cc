package main

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"

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

	pom, err := javaPOM(group, pkg.Name, version, pkg.Description, pkg.Repository, info.Dependencies)
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

// pomProject is the part of a Maven POM the SDK needs: its coordinates, its
// dependencies, and Java 11 bytecode, which the Java SDK itself targets.
// The build plugins are pinned, so every Maven builds the jar alike (the
// defaults of an older Maven cannot compile for a release).
type pomProject struct {
	XMLName      xml.Name        `xml:"project"`
	Xmlns        string          `xml:"xmlns,attr"`
	ModelVersion string          `xml:"modelVersion"`
	GroupID      string          `xml:"groupId"`
	ArtifactID   string          `xml:"artifactId"`
	Version      string          `xml:"version"`
	Packaging    string          `xml:"packaging"`
	Description  string          `xml:"description"`
	URL          string          `xml:"url"`
	Properties   pomProperties   `xml:"properties"`
	Dependencies []pomDependency `xml:"dependencies>dependency"`
	Plugins      []pomDependency `xml:"build>pluginManagement>plugins>plugin"`
}

type pomProperties struct {
	Encoding string `xml:"project.build.sourceEncoding"`
	Release  string `xml:"maven.compiler.release"`
}

type pomDependency struct {
	GroupID    string `xml:"groupId"`
	ArtifactID string `xml:"artifactId"`
	Version    string `xml:"version"`
}

// pomPlugins are the Maven plugins `mvn install` runs.
var pomPlugins = []pomDependency{
	{"org.apache.maven.plugins", "maven-compiler-plugin", "3.13.0"},
	{"org.apache.maven.plugins", "maven-resources-plugin", "3.3.1"},
	{"org.apache.maven.plugins", "maven-jar-plugin", "3.4.2"},
	{"org.apache.maven.plugins", "maven-surefire-plugin", "3.5.2"},
	{"org.apache.maven.plugins", "maven-install-plugin", "3.1.2"},
}

func javaPOM(group, artifact, version, description, url string, deps map[string]string) ([]byte, error) {
	p := pomProject{
		Xmlns:        "http://maven.apache.org/POM/4.0.0",
		ModelVersion: "4.0.0",
		GroupID:      group,
		ArtifactID:   artifact,
		Version:      version,
		Packaging:    "jar",
		Description:  description,
		URL:          url,
		Properties:   pomProperties{Encoding: "UTF-8", Release: "11"},
		Plugins:      pomPlugins,
	}
	for _, key := range slices.Sorted(maps.Keys(deps)) {
		g, a, ok := strings.Cut(key, ":")
		if !ok {
			return nil, fmt.Errorf("schema language java: dependency %q is not group:artifact", key)
		}
		p.Dependencies = append(p.Dependencies, pomDependency{GroupID: g, ArtifactID: a, Version: deps[key]})
	}
	data, err := xml.MarshalIndent(p, "", "  ")
	if err != nil {
		return nil, err
	}
	header := "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- *** WARNING: this file was generated by " + tool + ". *** -->\n"
	return append(append([]byte(header), data...), '\n'), nil
}
