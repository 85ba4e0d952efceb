package tokenizer

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"testing/iotest"
	"time"
)

// entry is one token of a crafted file; length overrides len(piece) when non-nil.
type entry struct {
	score  float32
	piece  string
	length *int32
}

// craft writes a tokenizer file with the given header and tokens.
func craft(maxLen int32, entries []entry) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, maxLen)
	for _, e := range entries {
		n := int32(len(e.piece))
		if e.length != nil {
			n = *e.length
		}
		binary.Write(&b, binary.LittleEndian, e.score)
		binary.Write(&b, binary.LittleEndian, n)
		b.WriteString(e.piece)
	}
	return b.Bytes()
}

// toyVocab is the smallest valid vocabulary: control tokens, byte fallbacks, the dummy prefix,
// then the given pieces.
func toyVocab(extra ...entry) []entry {
	v := []entry{{piece: "<unk>"}, {piece: "\n<s>\n"}, {piece: "\n</s>\n"}}
	for b := range 256 {
		v = append(v, entry{piece: fmt.Sprintf("<0x%02X>", b)})
	}
	v = append(v, entry{score: -1e9, piece: " "})
	return append(v, extra...)
}

func length(n int32) *int32 { return &n }

func TestReadErrors(t *testing.T) {
	valid := craft(16, toyVocab())
	withByte := func(id int, piece string) []entry {
		v := toyVocab()
		v[id].piece = piece
		return v
	}
	tests := []struct {
		name string
		file []byte
		size int // vocabulary size for Read; -1 uses ReadAll
		want string
	}{
		{"empty", nil, -1, "tokenizer file is empty: a llama2.c tokenizer starts with an int32 max_token_length"},
		{"short header", []byte{27, 0}, -1, "tokenizer file is truncated: it ends at offset 2 inside the max_token_length header (2 of 4 bytes)"},
		{"zero max_token_length", craft(0, toyVocab()), -1, "max_token_length is 0, not in 1..65536"},
		{"negative max_token_length", craft(-3, toyVocab()), -1, "max_token_length is -3, not in 1..65536"},
		{"absurd max_token_length", craft(1<<30, toyVocab()), -1, "max_token_length is 1073741824, not in 1..65536"},
		{"cut in a score", valid[:4+2], -1, "ends at offset 6 inside the score of token 0 (2 of 4 bytes)"},
		{"cut in a length", valid[:4+4+1], -1, "ends at offset 9 inside the length of token 0 (1 of 4 bytes)"},
		{"cut in a piece", valid[:4+8+2], -1, "ends at offset 14 inside the piece of token 0 (2 of 5 bytes)"},
		{"trailing bytes", append(slices.Clone(valid), 0, 0, 0), -1, "ends at offset 3640 inside the score of token 260 (3 of 4 bytes)"},
		{"negative length", craft(16, []entry{{piece: "x", length: length(-1)}}), -1, "token 0 at offset 4 has length -1, outside 0..max_token_length (16)"},
		{"absurd length", craft(16, []entry{{piece: "x", length: length(math.MaxInt32)}}), -1, "has length 2147483647, outside 0..max_token_length (16)"},
		{"length beyond max_token_length", craft(4, toyVocab()), -1, "token 0 at offset 4 has length 5, outside 0..max_token_length (4)"},
		{"NaN score", craft(16, toyVocab(entry{score: float32(math.NaN()), piece: "a"})), -1, "token 260 at offset 3637 has a NaN score"},
		{"no tokens", craft(16, nil), -1, "tokenizer file has 0 tokens, fewer than the 259 the format needs"},
		{"no byte fallback", craft(16, toyVocab()[:100]), -1, "has 100 tokens, fewer than the 259 the format needs (<unk>, BOS, EOS and the byte fallbacks <0x00>…<0xFF>)"},
		{"misplaced byte fallback", craft(16, withByte(68, "A")), -1, `token 68 is "A" where the byte fallback <0x41> belongs`},
		{"lower-case byte fallback", craft(16, withByte(13, "<0x0a>")), -1, `token 13 is "<0x0a>" where the byte fallback <0x0A> belongs`},
		{"no dummy prefix", craft(16, toyVocab()[:259]), -1, `has no token for " ", which the encoder prepends`},
		{"fewer tokens than the model", valid, 300, "tokenizer file has 260 tokens but the model's vocabulary is 300: use the tokenizer the model was trained with, or a whole copy of this one if it was cut short"},
		{"more tokens than the model", valid, 259, "tokenizer file has 260 tokens but the model's vocabulary is 259"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			if tt.size < 0 {
				_, err = ReadAll(bytes.NewReader(tt.file))
			} else {
				_, err = Read(bytes.NewReader(tt.file), tt.size)
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// A llama2.c checkpoint stores a negative vocab_size when its classifier is not shared; passed
// on unchanged it must not match any file.
func TestReadNegativeSize(t *testing.T) {
	_, err := Read(bytes.NewReader(craft(16, toyVocab())), -260)
	if want := "tokenizer file has 260 tokens but the model's vocabulary is -260"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("got error %v, want one containing %q", err, want)
	}
}

func TestReadIOError(t *testing.T) {
	broken := errors.New("disk on fire")
	_, err := Read(iotest.ErrReader(broken), 32000)
	if !errors.Is(err, broken) {
		t.Errorf("got %v, want it to wrap %v", err, broken)
	}
}

func TestLoad(t *testing.T) {
	if _, err := Load(realPath, 512); err == nil || err.Error() != realPath+" has 32000 tokens but the model's vocabulary is 512: use the tokenizer the model was trained with" {
		t.Errorf("loading with the wrong vocabulary size: got %v", err)
	}
	missing := t.TempDir() + "/none.bin"
	if _, err := Load(missing, 32000); err == nil || !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Errorf("loading a missing file: got %v, want a not-exist error naming it", err)
	}
	// Refused before they are opened: opening a FIFO would wait for a writer.
	pipe := filepath.Join(t.TempDir(), "fifo.bin")
	if err := syscall.Mkfifo(pipe, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{t.TempDir(), pipe, "/dev/zero"} {
		done := make(chan error, 1)
		go func() { _, err := Load(path, 32000); done <- err }()
		select {
		case err := <-done:
			if want := "tokenizer " + path + ": not a regular file"; err == nil || err.Error() != want {
				t.Errorf("Load(%s): %v, want %q", path, err, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("Load(%s) still blocks after 5 s", path)
		}
	}
	tok := llama2(t)
	data, err := os.ReadFile(realPath)
	if err != nil {
		t.Fatal(err)
	}
	all, err := ReadAll(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("ReadAll of the real tokenizer: %v", err)
	}
	if all.VocabSize() != 32000 || tok.VocabSize() != 32000 {
		t.Errorf("vocabulary sizes %d (ReadAll) and %d (Load), want 32000", all.VocabSize(), tok.VocabSize())
	}
}

// Merging on a crafted vocabulary: best score first, the leftmost pair among equal scores, any
// score that is not NaN, and the first of duplicate pieces.
func TestMergeOrder(t *testing.T) {
	tok, err := ReadAll(bytes.NewReader(craft(16, toyVocab(
		entry{score: -1, piece: "a"},                      // 260
		entry{score: -1, piece: "b"},                      // 261
		entry{score: 0, piece: "aa"},                      // 262
		entry{score: 5, piece: "ab"},                      // 263
		entry{score: 5, piece: "ab"},                      // 264: duplicate, never chosen
		entry{score: float32(math.Inf(-1)), piece: " b"},  // 265: worst score still merges
		entry{score: 1, piece: "bb"},                      // 266
		entry{score: float32(math.Inf(1)), piece: "aaaa"}, // 267
	))))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		text string
		want []int
	}{
		{"aaa", []int{259, 262, 260}},         // ties: the leftmost "aa" merges
		{"aab", []int{259, 260, 263}},         // "ab" (5) beats "aa" (0)
		{"abb", []int{259, 263, 261}},         // "ab" (5) beats "bb" (1)
		{"b", []int{265}},                     // " b" merges despite -Inf
		{"aaaa", []int{259, 267}},             // "aa"+"aa" merge into the +Inf piece
		{"c", []int{259, 'c' + byteBase}},     // not in the vocabulary: byte fallback
		{"é", []int{259, 0xc3 + 3, 0xa9 + 3}}, // one token per byte
	}
	for _, tt := range tests {
		if got := tok.Encode(tt.text, false, false); !slices.Equal(got, tt.want) {
			t.Errorf("Encode(%q) = %v, want %v", tt.text, got, tt.want)
		}
		if got := tok.DecodeAll(tok.Encode(tt.text, true, true)); got != tt.text {
			t.Errorf("round trip of %q gave %q", tt.text, got)
		}
	}
}
