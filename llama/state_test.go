package llama

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// newStateSizes makes a state for cfg and returns it with the length of each allocation.
func newStateSizes(t *testing.T, cfg Config) (*State, []int) {
	t.Helper()
	var sizes []int
	s, err := NewState(cfg, func(n int) ([]float32, error) {
		sizes = append(sizes, n)
		return make([]float32, n), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return s, sizes
}

func TestNewState(t *testing.T) {
	s, sizes := newStateSizes(t, tiny)
	// x xb xb2 q (dim 8), k v (kv_dim 4), att (2 heads × 4), hb hb2 (16), logits (10),
	// key and value caches (2 layers × 4 positions × 4).
	if diff := cmp.Diff([]int{8, 8, 8, 8, 4, 4, 8, 16, 16, 10, 32, 32}, sizes); diff != "" {
		t.Errorf("allocation sizes (-want +got):\n%s", diff)
	}
	if len(s.KeyCache) != 32 || len(s.Logits) != 10 {
		t.Errorf("KeyCache %d, Logits %d floats; want 32 and 10", len(s.KeyCache), len(s.Logits))
	}
	if _, err := NewState(Config{Dim: 8}, nil); err == nil {
		t.Error("NewState accepted an invalid config")
	}
}

func TestNewStateF16Cache(t *testing.T) {
	c := tiny
	c.KVCache = CacheF16
	s, sizes := newStateSizes(t, c)
	// The activations as in TestNewState; each cache's 32 halves in 16 floats.
	if diff := cmp.Diff([]int{8, 8, 8, 8, 4, 4, 8, 16, 16, 10, 16, 16}, sizes); diff != "" {
		t.Errorf("allocation sizes (-want +got):\n%s", diff)
	}
	if len(s.KeyCacheF16) != 32 || len(s.ValueCacheF16) != 32 || s.KeyCache != nil || s.ValueCache != nil {
		t.Errorf("caches: f16 %d and %d halves, f32 %d and %d floats; want 32, 32, none, none",
			len(s.KeyCacheF16), len(s.ValueCacheF16), len(s.KeyCache), len(s.ValueCache))
	}
	for i := range s.KeyCacheF16 {
		s.KeyCacheF16[i], s.ValueCacheF16[i] = 1, 1
	}
	s.Reset()
	for i := range s.KeyCacheF16 {
		if s.KeyCacheF16[i] != 0 || s.ValueCacheF16[i] != 0 {
			t.Fatalf("after Reset the f16 caches' element %d = %#x, %#x, want 0", i, s.KeyCacheF16[i], s.ValueCacheF16[i])
		}
	}
}

func TestReset(t *testing.T) {
	s, err := NewState(tiny, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range stateBuffers(tiny, s) {
		for i := range *b.data {
			(*b.data)[i] = 1
		}
	}
	s.Reset()
	for name, c := range map[string][]float32{"KeyCache": s.KeyCache, "ValueCache": s.ValueCache} {
		for i, v := range c {
			if v != 0 {
				t.Fatalf("after Reset %s[%d] = %v, want 0", name, i, v)
			}
		}
	}
}
