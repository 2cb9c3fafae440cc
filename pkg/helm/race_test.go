//go:build race

package helm

const raceDetector = true
