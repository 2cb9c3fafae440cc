package gatewayapi

import "io/fs"

// LoadForTest runs the embedded-file loader over another file system.
func LoadForTest(fsys fs.FS) error {
	_, err := load(fsys)
	return err
}
