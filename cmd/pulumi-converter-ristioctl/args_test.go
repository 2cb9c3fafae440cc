package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ristio/pulumi-ristio/pkg/ristioctl"
)

func TestParseArgs(t *testing.T) {
	dir := t.TempDir()
	tests := map[string]struct {
		args      []string
		wantFile  string
		wantAdopt bool
		wantErr   string
	}{
		"no arguments: mesh.yaml":         {wantFile: filepath.Join(dir, "mesh.yaml")},
		"a file":                          {args: []string{"m2.yaml"}, wantFile: filepath.Join(dir, "m2.yaml")},
		"a file after the flags":          {args: []string{"--adopt", "m2.yaml"}, wantFile: filepath.Join(dir, "m2.yaml"), wantAdopt: true},
		"a file before the flags":         {args: []string{"/abs/m.yaml", "--adopt"}, wantFile: "/abs/m.yaml", wantAdopt: true},
		"two files":                       {args: []string{"a.yaml", "b.yaml"}, wantErr: "at most one mesh file"},
		"an unknown flag":                 {args: []string{"--adpot"}, wantErr: "flag provided but not defined: -adpot"},
		"root files without adopt":        {args: []string{"--root-cert", "r.pem"}, wantErr: "go with --adopt"},
		"adopt with the root files given": {args: []string{"--adopt", "--root-cert", "r.pem", "--root-key", "k.pem"}, wantFile: filepath.Join(dir, "mesh.yaml"), wantAdopt: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			o, err := parseArgs(dir, tc.args)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || o.file != tc.wantFile || o.adopt != tc.wantAdopt {
				t.Errorf("parseArgs = %+v, %v; want file %s, adopt %v", o, err, tc.wantFile, tc.wantAdopt)
			}
		})
	}
}

func TestAdoptionFindsTheRoot(t *testing.T) {
	dir := t.TempDir()
	certs := filepath.Join(dir, "certs")
	if err := os.MkdirAll(certs, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"root-cert.pem", "root-key.pem", "other.pem"} {
		if err := os.WriteFile(filepath.Join(certs, f), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	withFolder := &ristioctl.Mesh{Certificate: ristioctl.Certificate{FolderPath: "certs"}}
	tests := map[string]struct {
		args    []string
		mesh    *ristioctl.Mesh
		want    ristioctl.Adoption
		wantErr string
	}{
		"the Certificate's folderPath, relative to the mesh file": {
			args: []string{"--adopt"}, mesh: withFolder,
			want: ristioctl.Adoption{RootCertFile: filepath.Join(certs, "root-cert.pem"), RootKeyFile: filepath.Join(certs, "root-key.pem")},
		},
		"files given win over folderPath": {
			args: []string{"--adopt", "--root-cert", "certs/other.pem"}, mesh: withFolder,
			want: ristioctl.Adoption{RootCertFile: filepath.Join(certs, "other.pem"), RootKeyFile: filepath.Join(certs, "root-key.pem")},
		},
		"no folderPath and no files": {
			args: []string{"--adopt"}, mesh: &ristioctl.Mesh{}, wantErr: "--adopt needs the root ristioctl made",
		},
		"a missing file": {
			args: []string{"--adopt", "--root-cert", "gone.pem", "--root-key", "certs/root-key.pem"}, mesh: &ristioctl.Mesh{}, wantErr: "gone.pem does not exist",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			o, err := parseArgs(dir, tc.args)
			if err != nil {
				t.Fatal(err)
			}
			got, err := o.adoption(tc.mesh)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || *got != tc.want {
				t.Errorf("adoption = %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}
