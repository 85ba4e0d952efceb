package lower

import (
	"testing"

	"github.com/simplang/simplang/frontend"
)

// lowerSource parses, checks and lowers src.
func lowerSource(t *testing.T, name, src string) (*File, error) {
	t.Helper()
	f, err := frontend.Parse(name, []byte(src))
	if err != nil {
		t.Fatalf("parse %s: %v", name, err)
	}
	return Lower(f, Options{})
}
