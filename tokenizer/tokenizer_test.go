package tokenizer

import (
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

// realPath is the 32,000-token Llama 2 tokenizer, relative to this package's directory.
const realPath = "../../shared/llama2c/tokenizer.bin"

var real struct {
	once sync.Once
	tok  *Tokenizer
	err  error
}

// llama2 loads the real tokenizer once for all tests.
func llama2(tb testing.TB) *Tokenizer {
	tb.Helper()
	real.once.Do(func() { real.tok, real.err = Load(realPath, 32000) })
	if real.err != nil {
		tb.Fatalf("the real tokenizer is needed at %s (shared llama2c folder): %v", realPath, real.err)
	}
	return real.tok
}

// The reference encodings of /work/shared/llama2c/README.md, as llama2.c produces them.
func TestEncodeReference(t *testing.T) {
	tok := llama2(t)
	tests := []struct {
		text string
		want []int
	}{
		{"Hello world", []int{1, 15043, 3186}},
		{"Once upon a time, there was a little girl named Lily.", []int{1, 9038, 2501, 263, 931, 29892, 727, 471, 263, 2217, 7826, 4257, 365, 2354, 29889}},
		{"héllo wörld 🙂", []int{1, 298, 3610, 417, 281, 1340, 430, 29871, 243, 162, 156, 133}},
		{"", []int{1}},
		{"  leading spaces", []int{1, 259, 8236, 8162}},
		{"I believe the meaning of life is", []int{1, 306, 4658, 278, 6593, 310, 2834, 338}},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			if got := tok.Encode(tt.text, true, false); !slices.Equal(got, tt.want) {
				t.Errorf("Encode(%q) = %v, want %v", tt.text, got, tt.want)
			}
		})
	}
}

func TestEncodeDelimiters(t *testing.T) {
	tok := llama2(t)
	tests := []struct {
		name     string
		text     string
		bos, eos bool
		want     []int
	}{
		{"neither", "Hello world", false, false, []int{15043, 3186}},
		{"eos only", "Hello world", false, true, []int{15043, 3186, 2}},
		{"both", "Hello world", true, true, []int{1, 15043, 3186, 2}},
		{"empty, neither", "", false, false, nil},
		{"empty, both", "", true, true, []int{1, 2}},
		{"invalid UTF-8 bytes fall back", "\xff\xc3", false, false, []int{29871, 0xff + 3, 0xc3 + 3}},
		{"NUL is a byte fallback", "\x00", false, false, []int{29871, 3}},
		{"newline is a byte fallback", "a\nb", false, false, []int{263, 13, 29890}},
		{"BOS piece is not text", "\n<s>\n", false, false, []int{29871, 13, 29966, 29879, 29958, 13}},
		{"<unk> piece is not text", "<unk>", false, false, []int{529, 2960, 29958}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tok.Encode(tt.text, tt.bos, tt.eos); !slices.Equal(got, tt.want) {
				t.Errorf("Encode(%q, %v, %v) = %v, want %v", tt.text, tt.bos, tt.eos, got, tt.want)
			}
		})
	}
}

func TestDecode(t *testing.T) {
	tok := llama2(t)
	tests := []struct {
		name        string
		prev, token int
		want        string
	}{
		{"after BOS the dummy space goes", BOS, 15043, "Hello"},
		{"elsewhere the space stays", 15043, 3186, " world"},
		{"no previous token", -1, 15043, " Hello"},
		{"after BOS only one space goes", BOS, 259, " "},
		{"byte fallback is the raw byte", 29871, 0xF0 + 3, "\xF0"},
		{"byte fallback after BOS", BOS, 'A' + 3, "A"},
		{"BOS has no text", 0, BOS, ""},
		{"EOS has no text", 338, EOS, ""},
		{"unknown", 5, 0, "<unk>"},
		{"negative id", 5, -1, ""},
		{"id past the vocabulary", 5, 32000, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tok.Decode(tt.prev, tt.token); got != tt.want {
				t.Errorf("Decode(%d, %d) = %q, want %q", tt.prev, tt.token, got, tt.want)
			}
		})
	}
}

// roundTripTexts cover what the dummy prefix and the BOS rule must get right.
var roundTripTexts = []string{
	"",
	" ",
	"  ",
	"a",
	"Hello world",
	" leading space",
	"   three leading spaces",
	"trailing space ",
	"trailing spaces   ",
	"multiple   inner    spaces",
	"line one\nline two\n\n\ttabbed\r\n",
	"\n",
	"héllo wörld, crème brûlée, Ångström, naïve",
	"日本語のテキストと中文文本",
	"emoji 🙂👍🏽👨‍👩‍👧 and flags 🇫🇷",
	"mixed: Ωμέγα русский עברית العربية हिन्दी",
	"<0x41> <s> </s> <unk> look like control pieces",
	"\n<s>\n",
	"\x00nul\x00",
	"invalid \xff\xfe bytes \xc3 and \xe2\x82 truncated",
	"\xef\xbf\xbd is a real U+FFFD",
	strings.Repeat("ab ", 500),
}

func TestRoundTrip(t *testing.T) {
	tok := llama2(t)
	for _, text := range roundTripTexts {
		for _, eos := range []bool{false, true} {
			ids := tok.Encode(text, true, eos)
			if got := tok.DecodeAll(ids); got != text {
				t.Errorf("DecodeAll(Encode(%q, true, %v)) = %q (ids %v)", text, eos, got, ids)
			}
		}
	}
}

// rescan encodes as run.c does: rescan every adjacent pair for each merge and take the first of
// the best. It checks that the priority queue picks the same merges.
func rescan(t *Tokenizer, text string) []int {
	ids := t.split(text)
	for {
		best, at := -1, -1
		for i := 0; i+1 < len(ids); i++ {
			if ids[i] < firstText || ids[i+1] < firstText {
				continue
			}
			id, ok := t.text[t.pieces[ids[i]]+t.pieces[ids[i+1]]]
			if ok && (best < 0 || t.scores[id] > t.scores[best]) {
				best, at = id, i
			}
		}
		if at < 0 {
			return ids
		}
		ids[at] = best
		ids = slices.Delete(ids, at+1, at+2)
	}
}

func TestMergeMatchesRescan(t *testing.T) {
	tok := llama2(t)
	texts := slices.Clone(roundTripTexts[1:])
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []rune("aeiou tnsrlhd\nÀéü日本🙂  ,.'")
	for range 200 {
		r := make([]rune, 1+rng.IntN(60))
		for i := range r {
			r[i] = alphabet[rng.IntN(len(alphabet))]
		}
		texts = append(texts, string(r))
	}
	for _, text := range texts {
		want := rescan(tok, text)
		if got := tok.Encode(text, false, false); !slices.Equal(got, want) {
			t.Errorf("Encode(%q) = %v, rescanning gives %v", text, got, want)
		}
	}
}

// A long prompt must encode quickly and still round-trip; run.c's quadratic rescan would not.
func TestEncodeLongPrompt(t *testing.T) {
	tok := llama2(t)
	var sb strings.Builder
	for sb.Len() < 20000 {
		sb.WriteString("Once upon a time, there was a little girl named Lily. Ελληνικά 日本語 🙂\n")
	}
	text := sb.String()
	ids := tok.Encode(text, true, false)
	if n := utf8.RuneCountInString(text); len(ids) > n/2 {
		t.Errorf("%d code points became %d tokens: merging stopped early", n, len(ids))
	}
	if got := tok.DecodeAll(ids); got != text {
		t.Error("a 20,000-byte prompt does not round-trip")
	}
}

func BenchmarkEncode(b *testing.B) {
	tok := llama2(b)
	text := strings.Repeat("Once upon a time, there was a little girl named Lily. ", 60) // ~3,000 characters
	for b.Loop() {
		tok.Encode(text, true, false)
	}
}
