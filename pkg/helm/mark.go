package helm

import (
	"context"
	"fmt"

	"github.com/ristio/pulumi-ristio/pkg/naming"
)

// Mark records Client.Mesh on the newest revision of release name in place:
// the stored revision's labels change, and nothing else does (no new
// revision, no object of the release is written). It is how a release
// installed before releases carried their mesh gets the mark. It returns nil,
// nil when the release is gone.
func (c *Client) Mark(ctx context.Context, name string) (*Release, error) {
	if err := validName(name); err != nil {
		return nil, err
	}
	mesh := c.Mesh
	return inTurn(ctx, c, name, "mark", func() (*Release, error) {
		if mesh == "" {
			return nil, fmt.Errorf("no mesh to mark the release with")
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		history, err := c.history(name)
		if err != nil || len(history) == 0 {
			return nil, err
		}
		last := history[len(history)-1]
		if last.Labels[naming.MeshLabel] == mesh {
			return fromHelm(last, ""), nil
		}
		if last.Labels == nil {
			last.Labels = map[string]string{}
		}
		last.Labels[naming.MeshLabel] = mesh
		if err := c.cfg.Releases.Update(last); err != nil {
			return nil, fmt.Errorf("relabel revision %d: %w", last.Version, err)
		}
		return fromHelm(last, ""), nil
	})
}
