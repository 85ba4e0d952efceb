package llama

import (
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// tiny is the small configuration most tests use: grouped-query (2 query heads share 1
// key/value head), head size 4.
var tiny = Config{Dim: 8, HiddenDim: 16, NLayers: 2, NHeads: 2, NKVHeads: 1, VocabSize: 10, SeqLen: 4}

func TestValidate(t *testing.T) {
	with := func(edit func(*Config)) Config {
		c := tiny
		edit(&c)
		return c
	}
	tests := []struct {
		name string
		cfg  Config
		want string // substring of the error; empty for a valid config
	}{
		{"tiny", tiny, ""},
		{"multi-head", with(func(c *Config) { c.NKVHeads = 2 }), ""},
		{"zero dim", with(func(c *Config) { c.Dim = 0 }), "dim is 0, must be positive"},
		{"negative hidden", with(func(c *Config) { c.HiddenDim = -16 }), "hidden_dim is -16"},
		{"zero layers", with(func(c *Config) { c.NLayers = 0 }), "n_layers is 0"},
		{"zero heads", with(func(c *Config) { c.NHeads = 0 }), "n_heads is 0"},
		{"zero kv heads", with(func(c *Config) { c.NKVHeads = 0 }), "n_kv_heads is 0"},
		{"zero vocab", with(func(c *Config) { c.VocabSize = 0 }), "vocab_size is 0"},
		{"negative seq", with(func(c *Config) { c.SeqLen = -1 }), "seq_len is -1"},
		{"dim not divisible", with(func(c *Config) { c.Dim, c.NHeads, c.NKVHeads = 10, 3, 3 }), "dim 10 is not divisible by n_heads 3"},
		{"kv heads not dividing", with(func(c *Config) { c.Dim, c.NHeads, c.NKVHeads = 16, 4, 3 }), "n_heads 4 is not a multiple of n_kv_heads 3"},
		{"more kv heads than heads", with(func(c *Config) { c.NKVHeads = 4 }), "n_heads 2 is not a multiple of n_kv_heads 4"},
		{"odd head size", with(func(c *Config) { c.Dim = 6 }), "head size dim/n_heads = 6/2 = 3 is odd"},
		{"llama 3 theta", with(func(c *Config) { c.RopeTheta = 500000 }), ""},
		{"negative theta", with(func(c *Config) { c.RopeTheta = -1 }), "rope_theta is -1, must be positive and finite (or 0 for 10000)"},
		{"NaN theta", with(func(c *Config) { c.RopeTheta = math.NaN() }), "rope_theta is NaN"},
		{"infinite theta", with(func(c *Config) { c.RopeTheta = math.Inf(1) }), "rope_theta is +Inf"},
		{"tensor overflows", with(func(c *Config) { c.Dim, c.NHeads, c.NKVHeads = 1<<40, 2, 2 }), "wq would hold 2 x 1099511627776 x 1099511627776 float32 elements"},
		{"total overflows", Config{Dim: 1 << 30, HiddenDim: 1 << 30, NLayers: 1, NHeads: 2, NKVHeads: 2, VocabSize: 1 << 30, SeqLen: 1}, "more than 2^63 bytes"},
		// Small weights and caches, but 4·n_layers·dim·seq_len attention FLOPs ≈ 2^64.
		{"flops overflow", Config{Dim: 1 << 10, HiddenDim: 2, NLayers: 1 << 21, NHeads: 1 << 9, NKVHeads: 1, VocabSize: 2, SeqLen: 1<<31 - 1}, "FLOPs per token"},
	}
	for _, p := range Presets() {
		tests = append(tests, struct {
			name string
			cfg  Config
			want string
		}{"preset " + p.Name, p.Config, ""})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Validate() = %v, want nil", err)
			case tt.want != "" && err == nil:
				t.Fatalf("Validate() = nil, want an error containing %q", tt.want)
			case tt.want != "" && !strings.Contains(err.Error(), tt.want):
				t.Fatalf("Validate() = %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestAccounting(t *testing.T) {
	// tiny: dim 8, hidden 16, 2 layers, 2 heads, 1 kv head, vocab 10, seq 4;
	// head size 4, kv_dim 4.
	//
	// Params: embedding 10·8 = 80; per layer 2 norms 16, wq and wo 2·64 = 128, wk and wv
	// 2·4·8 = 64, w1 w2 w3 3·16·8 = 384, so 592 × 2 layers = 1184; final norm 8; classifier
	// 80. Total 80 + 1184 + 8 + 80 = 1352.
	// KV cache: 2 caches × 2 layers × 4 positions × 4 = 64 floats = 256 bytes.
	// Activations: x xb xb2 q 4·8 = 32, k v 2·4 = 8, att 2·4 = 8, hb hb2 2·16 = 32,
	// logits 10: 90 floats = 360 bytes.
	// FLOPs: mat-vec weights 2·(128 + 64 + 384) + 80 = 1232, ×2 = 2464, plus attention
	// 4·2·8·(pos+1) = 64(pos+1).
	// Bytes read: matrices 1232 + one embedding row 8 + norms (2·2+1)·8 = 40, plus cache rows
	// 2·2·(pos+1)·4 = 16(pos+1), all ×4.
	c := tiny
	checks := []struct {
		name      string
		got, want int64
	}{
		{"Params", c.Params(), 1352},
		{"WeightBytes", c.WeightBytes(), 5408},
		{"KVCacheBytes", c.KVCacheBytes(), 256},
		{"ActivationBytes", c.ActivationBytes(), 360},
		{"TotalBytes", c.TotalBytes(), 5408 + 256 + 360},
		{"FLOPsPerToken(0)", c.FLOPsPerToken(0), 2464 + 64},
		{"FLOPsPerToken(3)", c.FLOPsPerToken(3), 2464 + 256},
		{"BytesPerToken(0)", c.BytesPerToken(0), 4 * (1280 + 16)},
		{"BytesPerToken(3)", c.BytesPerToken(3), 4 * (1280 + 64)},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %d, want %d", ch.name, ch.got, ch.want)
		}
	}
}

// TestAccountingF16Cache checks that an f16 KV cache halves the cache's bytes and its reads,
// and nothing else.
func TestAccountingF16Cache(t *testing.T) {
	c := tiny
	c.KVCache = CacheF16
	checks := []struct {
		name      string
		got, want int64
	}{
		{"KVCacheBytes", c.KVCacheBytes(), 128},
		{"ActivationBytes", c.ActivationBytes(), 360},
		{"TotalBytes", c.TotalBytes(), 5408 + 128 + 360},
		{"BytesPerToken(3)", c.BytesPerToken(3), 4*1280 + 2*64},
		{"BytesPerTokenOf(Q8, 0, 3)", c.BytesPerTokenOf(Q8, 4, 3), tiny.BytesPerTokenOf(Q8, 4, 3) - 2*64},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %d, want %d", ch.name, ch.got, ch.want)
		}
	}
	c.KVCache = 2
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "KV cache type CacheType(2); want f32 or f16") {
		t.Errorf("Validate(KVCache 2) = %v", err)
	}
	for _, s := range []string{"f32", "f16"} {
		if ct, err := ParseCacheType(s); err != nil || ct.String() != s {
			t.Errorf("ParseCacheType(%q) = %v, %v", s, ct, err)
		}
	}
	if _, err := ParseCacheType("bf16"); err == nil || !strings.Contains(err.Error(), `unknown KV cache type "bf16"; known types: f32, f16`) {
		t.Errorf("ParseCacheType(bf16) = %v", err)
	}
}

func TestAccountingQuantized(t *testing.T) {
	// tiny with groups of 8: 1312 elements in matrices, embedding and classifier (1352 minus
	// 40 norm weights, always float32: 160 bytes), 164 groups. A decode step reads 1232 matrix
	// elements (154 groups), one embedding row of 8 (1 group), and 4 × (40 + 16(pos+1)) bytes
	// of norms and cache.
	c := tiny
	for _, tt := range []struct {
		typ                WeightType
		weights, perToken0 int64
	}{
		{F32, 5408, 5184},
		{BF16, 2*1312 + 160, 2*1232 + 2*8 + 224},
		{Q8, 1312 + 4*164 + 160, 1232 + 4*154 + 8 + 4 + 224},
		{Q4, 1312/2 + 2*164 + 160, 1232/2 + 2*154 + 4 + 2 + 224},
	} {
		if got := c.WeightBytesOf(tt.typ, 8); got != tt.weights {
			t.Errorf("%v: WeightBytesOf = %d, want %d", tt.typ, got, tt.weights)
		}
		if got := c.BytesPerTokenOf(tt.typ, 8, 0); got != tt.perToken0 {
			t.Errorf("%v: BytesPerTokenOf(pos 0) = %d, want %d", tt.typ, got, tt.perToken0)
		}
		if got, want := c.BytesPerTokenOf(tt.typ, 8, 3)-c.BytesPerTokenOf(tt.typ, 8, 0), int64(4*48); got != want {
			t.Errorf("%v: three more cached positions read %d more bytes, want %d", tt.typ, got, want)
		}
		if got, want := c.TotalBytesOf(tt.typ, 8), tt.weights+256+360; got != want {
			t.Errorf("%v: TotalBytesOf = %d, want %d", tt.typ, got, want)
		}
	}
	// Against the arrays NewQWeights allocates, and the F32 forms against the old methods.
	for _, p := range Presets() {
		if got, want := p.Config.WeightBytesOf(F32, 0), p.Config.WeightBytes(); got != want {
			t.Errorf("%s: WeightBytesOf(F32) = %d, WeightBytes = %d", p.Name, got, want)
		}
		if got, want := p.Config.BytesPerTokenOf(F32, 0, 5), p.Config.BytesPerToken(5); got != want {
			t.Errorf("%s: BytesPerTokenOf(F32) = %d, BytesPerToken = %d", p.Name, got, want)
		}
	}
	for _, typ := range []WeightType{BF16, Q8, Q4} {
		q, err := NewQWeights(quantCfg, typ, 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		var n int64
		for _, b := range qTensors(quantCfg, q) {
			n += int64(2*len(b.t.BF16) + len(b.t.Q8) + 4*len(b.t.Scales) + len(b.t.Q4) + 2*len(b.t.Half))
		}
		for _, b := range qNorms(quantCfg, q) {
			n += int64(4 * len(*b.data))
		}
		if got := quantCfg.WeightBytesOf(typ, 0); got != n {
			t.Errorf("%v: WeightBytesOf = %d, NewQWeights allocates %d", typ, got, n)
		}
	}
	// What fits in this project's 24 GiB machine (the targets), weights only.
	const gib = 1 << 30
	for _, tt := range []struct {
		name string
		typ  WeightType
		max  int64
	}{{"7B", Q8, 8 * gib}, {"8B", Q8, 9 * gib}, {"30B", Q4, 18 * gib}} {
		c, _ := Preset(tt.name)
		got := c.WeightBytesOf(tt.typ, 0)
		if got > tt.max {
			t.Errorf("%s at %v: %.2f GiB of weights, want under %d GiB", tt.name, tt.typ, float64(got)/gib, tt.max/gib)
		}
		t.Logf("%s at %v: weights %.2f GB, KV cache at seq_len %d %.2f GB", tt.name, tt.typ, float64(got)/1e9, c.SeqLen, float64(c.KVCacheBytes())/1e9)
	}
}

// TestPublishedParams checks Params against the published sizes of the real models whose
// shapes the 7B and 8B presets copy (LLaMA 2 7B and Llama 3 8B, untied classifiers).
func TestPublishedParams(t *testing.T) {
	for _, tt := range []struct {
		name string
		want int64
	}{
		{"7B", 6_738_415_616},
		{"8B", 8_030_261_248},
	} {
		cfg, err := Preset(tt.name)
		if err != nil {
			t.Fatal(err)
		}
		if got := cfg.Params(); got != tt.want {
			t.Errorf("%s: Params() = %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestPresets(t *testing.T) {
	var names []string
	for _, p := range Presets() {
		names = append(names, p.Name)
	}
	if diff := cmp.Diff([]string{"125M", "500M", "1B", "3B", "7B", "8B", "30B"}, names); diff != "" {
		t.Errorf("Presets() names (-want +got):\n%s", diff)
	}
	got, err := Preset("3B")
	if err != nil {
		t.Fatal(err)
	}
	want := Config{Dim: 2048, HiddenDim: 8192, NLayers: 32, NHeads: 32, NKVHeads: 32, VocabSize: 32000, SeqLen: 1024}
	if got != want {
		t.Errorf("Preset(3B) = %+v, want %+v", got, want)
	}
	// The shapes the large presets copy: LLaMA 2 7B, Llama 3 8B, LLaMA 30B.
	for _, tt := range []struct {
		name                 string
		heads, kvHeads, head int
		vocab                int
		theta                float64
	}{
		{"7B", 32, 32, 128, 32000, 10000},
		{"8B", 32, 8, 128, 128256, 500000},
		{"30B", 52, 52, 128, 32000, 10000},
	} {
		c, err := Preset(tt.name)
		if err != nil {
			t.Fatal(err)
		}
		if c.NHeads != tt.heads || c.NKVHeads != tt.kvHeads || c.HeadSize() != tt.head || c.VocabSize != tt.vocab || c.Theta() != tt.theta {
			t.Errorf("Preset(%s) = %+v (head size %d, θ %v), want %d heads, %d kv heads of %d, vocab %d, θ %v",
				tt.name, c, c.HeadSize(), c.Theta(), tt.heads, tt.kvHeads, tt.head, tt.vocab, tt.theta)
		}
	}
	// Presets returns a copy: editing it must not change the table.
	Presets()[0].Config.Dim = 1
	if c, _ := Preset("125M"); c.Dim != 768 {
		t.Errorf("editing Presets() changed Preset(125M) to dim %d", c.Dim)
	}
	_, err = Preset("2B")
	if err == nil || !strings.Contains(err.Error(), `unknown model "2B"`) || !strings.Contains(err.Error(), "125M, 500M, 1B, 3B, 7B, 8B, 30B") {
		t.Errorf("Preset(2B) error = %v, want one naming the model and listing the known ones", err)
	}
}
