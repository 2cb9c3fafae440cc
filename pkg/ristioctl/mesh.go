// Package ristioctl reads the mesh files of ristioctl
// (RafaySystems/rafay-istio-multicluster), the tool ristio replaces: one
// multi-document YAML file with a Certificate and one Cluster per cluster,
// apiVersion ristioctl.k8smgmt.io/v3. Every problem is reported with the
// file and line it is on, and a file with problems yields no mesh.
package ristioctl

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
)

// APIVersion is the only apiVersion ristioctl reads.
const APIVersion = "ristioctl.k8smgmt.io/v3"

// Kinds of ristioctl documents.
const (
	KindCertificate = "Certificate"
	KindCluster     = "Cluster"
)

// Mesh is what one mesh file describes.
type Mesh struct {
	MeshID      string
	Certificate Certificate
	Clusters    []Cluster
}

// Certificate is the spec of ristioctl's Certificate: the root and the
// per-cluster intermediates step made.
type Certificate struct {
	Name          string
	ValidityHours int  // 0 when not given
	Password      bool // step encrypted the keys with a password it asked for
	SanSuffix     string
	FolderPath    string // where ristioctl wrote the certificates
}

// Cluster is the spec of one ristioctl Cluster.
type Cluster struct {
	Name              string
	KubeconfigFile    string
	Context           string
	Version           string
	InstallHelloWorld bool
}

// Problem is one thing wrong with a mesh file, at a line of it.
type Problem struct {
	File         string
	Line, Column int
	Message      string
}

func (p Problem) String() string {
	return fmt.Sprintf("%s:%d:%d: %s", p.File, p.Line, p.Column, p.Message)
}

// Problems is every problem found in a mesh file.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// The fields of each kind's spec, as ristioctl spells them.
var specFields = map[string][]string{
	KindCertificate: {"validityHours", "password", "sanSuffix", "meshID", "folderPath"},
	KindCluster:     {"kubeconfigFile", "context", "meshID", "version", "installHelloWorld"},
}

// Parse reads the mesh file file with contents data. exists reports whether
// a path (a kubeconfigFile, relative to the mesh file's folder when not
// absolute) exists.
func Parse(file string, data []byte, exists func(path string) bool) (*Mesh, error) {
	p := &parser{file: file, exists: exists}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			p.add(nil, "not YAML: %v", err)
			break
		}
		if len(doc.Content) == 0 {
			continue
		}
		p.document(doc.Content[0])
	}
	p.finish()
	if len(p.problems) > 0 {
		return nil, p.problems
	}
	return &p.mesh, nil
}

type parser struct {
	file     string
	exists   func(string) bool
	problems Problems
	mesh     Mesh
	// where things were first seen, for the messages about conflicts
	certificateAt *yaml.Node
	meshIDs       []meshID
	clusterAt     map[string]*yaml.Node
}

type meshID struct {
	value, owner string
	at           *yaml.Node
}

func (p *parser) add(at *yaml.Node, format string, a ...any) {
	line, col := 1, 1
	if at != nil {
		line, col = at.Line, at.Column
	}
	p.problems = append(p.problems, Problem{File: p.file, Line: line, Column: col, Message: fmt.Sprintf(format, a...)})
}

// fields maps a mapping node's keys to their key and value nodes.
func (p *parser) fields(n *yaml.Node, what string, known []string) map[string][2]*yaml.Node {
	out := map[string][2]*yaml.Node{}
	if n.Kind != yaml.MappingNode {
		p.add(n, "%s must be a mapping", what)
		return out
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if known != nil && !contains(known, k.Value) {
			p.add(k, "%s: unknown field %q (known: %s)", what, k.Value, strings.Join(known, ", "))
			continue
		}
		out[k.Value] = [2]*yaml.Node{k, v}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (p *parser) document(n *yaml.Node) {
	top := p.fields(n, "document", []string{"apiVersion", "kind", "metadata", "spec"})
	if len(top) == 0 {
		return
	}
	if v, ok := top["apiVersion"]; !ok || v[1].Value != APIVersion {
		at := n
		if ok {
			at = v[1]
		}
		p.add(at, "apiVersion must be %s", APIVersion)
		return
	}
	kind, ok := top["kind"]
	if !ok {
		p.add(n, "document has no kind")
		return
	}
	fields, known := specFields[kind[1].Value]
	if !known {
		p.add(kind[1], "unknown kind %q (ristioctl has Certificate and Cluster)", kind[1].Value)
		return
	}
	name := ""
	if md, ok := top["metadata"]; ok {
		meta := p.fields(md[1], "metadata", nil)
		if v, ok := meta["name"]; ok {
			name = v[1].Value
		}
	}
	if name == "" {
		p.add(n, "%s has no metadata.name", kind[1].Value)
	}
	spec, ok := top["spec"]
	if !ok {
		p.add(n, "%s %q has no spec", kind[1].Value, name)
		return
	}
	what := fmt.Sprintf("%s %q spec", kind[1].Value, name)
	s := p.fields(spec[1], what, fields)
	if kind[1].Value == KindCertificate {
		p.certificate(n, name, s)
	} else {
		p.cluster(n, name, s)
	}
}

func (p *parser) certificate(at *yaml.Node, name string, s map[string][2]*yaml.Node) {
	if p.certificateAt != nil {
		p.add(at, "a second Certificate %q: a mesh has one (the first is at line %d)", name, p.certificateAt.Line)
		return
	}
	p.certificateAt = at
	c := &p.mesh.Certificate
	c.Name = name
	if v, ok := s["validityHours"]; ok {
		if err := v[1].Decode(&c.ValidityHours); err != nil || c.ValidityHours <= 0 {
			p.add(v[1], "validityHours must be a positive number of hours")
		}
	}
	p.decodeBool(s, "password", &c.Password)
	p.decodeString(s, "sanSuffix", &c.SanSuffix)
	p.decodeString(s, "folderPath", &c.FolderPath)
	p.noteMeshID(s, "Certificate "+quote(name))
}

func (p *parser) cluster(at *yaml.Node, name string, s map[string][2]*yaml.Node) {
	if p.clusterAt == nil {
		p.clusterAt = map[string]*yaml.Node{}
	}
	if first, dup := p.clusterAt[name]; dup {
		p.add(at, "duplicate cluster %q (also at line %d)", name, first.Line)
		return
	}
	p.clusterAt[name] = at
	c := Cluster{Name: name}
	p.decodeString(s, "kubeconfigFile", &c.KubeconfigFile)
	p.decodeString(s, "context", &c.Context)
	p.decodeString(s, "version", &c.Version)
	p.decodeBool(s, "installHelloWorld", &c.InstallHelloWorld)
	if v, ok := s["kubeconfigFile"]; ok && c.KubeconfigFile != "" {
		path := c.KubeconfigFile
		if !filepath.IsAbs(path) {
			path = filepath.Join(filepath.Dir(p.file), path)
		}
		if !p.exists(path) {
			p.add(v[1], "cluster %q: kubeconfigFile %s does not exist", name, path)
		}
	}
	p.noteMeshID(s, "cluster "+quote(name))
	p.mesh.Clusters = append(p.mesh.Clusters, c)
}

func quote(s string) string { return fmt.Sprintf("%q", s) }

func (p *parser) decodeString(s map[string][2]*yaml.Node, key string, into *string) {
	if v, ok := s[key]; ok {
		if v[1].Kind != yaml.ScalarNode {
			p.add(v[1], "%s must be a string", key)
			return
		}
		*into = v[1].Value
	}
}

func (p *parser) decodeBool(s map[string][2]*yaml.Node, key string, into *bool) {
	if v, ok := s[key]; ok {
		if err := v[1].Decode(into); err != nil {
			p.add(v[1], "%s must be true or false", key)
		}
	}
}

func (p *parser) noteMeshID(s map[string][2]*yaml.Node, owner string) {
	v, ok := s["meshID"]
	if !ok {
		return
	}
	p.meshIDs = append(p.meshIDs, meshID{value: v[1].Value, owner: owner, at: v[1]})
}

// finish checks what needs the whole file.
func (p *parser) finish() {
	if p.certificateAt == nil {
		p.add(nil, "no Certificate: a mesh file needs one (it names the mesh's root and intermediates)")
	}
	if len(p.mesh.Clusters) == 0 {
		p.add(nil, "no Cluster")
	}
	for _, id := range p.meshIDs {
		if p.mesh.MeshID == "" {
			p.mesh.MeshID = id.value
			continue
		}
		if id.value != p.mesh.MeshID {
			first := p.meshIDs[0]
			p.add(id.at, "%s has meshID %q, but %s (line %d) has %q: one mesh has one meshID", id.owner, id.value, first.owner, first.at.Line, first.value)
		}
	}
	if p.mesh.MeshID == "" && p.certificateAt != nil {
		p.add(p.certificateAt, "no meshID: give it on the Certificate")
	}
}
